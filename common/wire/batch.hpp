// The batch: how an agent's outbox records travel to the collector in one MQTT message, and the
// ack that comes back (docs/protocol.md).
//
// Payload = header JSON (one line, no raw newlines) + "\n" + zstd frame of the body.
// Body    = one record per line: "<seq>\t<kind>\t<json>\n", kind "e" (a canonical event) or "q"
//           (a quarantine record: an input the agent could not accept, kept for operators).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::wire {

inline constexpr int kBatchVersion = 1;

struct BatchHeader {
  int version = kBatchVersion;
  std::string tenant;
  std::string store_id;
  std::string agent_id;
  // Identifies one agent outbox's life: a new id when the outbox database is created anew, so
  // the collector restarts its sequence tracking instead of reporting a giant gap.
  std::string stream_id;
  // Gap-free per stream, from 1: batch N+1 is formed only after batch N. Retransmissions
  // repeat the number.
  std::uint64_t batch_seq = 0;
  // Outbox sequence numbers covered by this batch: every seq in [first_seq, last_seq] is either
  // in the body or was dropped at the edge (evicted over quota, erased) — `dropped` says how many.
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint32_t count = 0;
  std::uint32_t dropped = 0;
  UnixMillis created_at = 0;  // agent clock, when the batch was formed
  UnixMillis sent_at = 0;     // agent clock, this transmission (clock-skew estimation)
  std::uint32_t attempt = 1;  // 1 for the first transmission
  std::uint64_t raw_bytes = 0;  // body size before compression
  std::uint32_t window = 1;     // the agent's in-flight window (collector's gap detection)
  // Records in the agent's outbox when this transmission was sent, this batch's included
  // (dashboards, backlog alerts). Optional on the wire: 0 when an older agent omits it.
  std::uint64_t backlog = 0;
};

struct BatchRecord {
  std::uint64_t seq = 0;
  char kind = 'e';  // 'e' event, 'q' quarantine record
  std::string json;
};

struct BatchRecordView {
  std::uint64_t seq = 0;
  char kind = 'e';
  std::string_view json;
  std::size_t line = 0;  // 1-based line in the body
};

struct EncodeOptions {
  int zstd_level = 1;  // fast: batches are small, the broker link is the scarce resource
};

// The compressed body of a batch, kept by the sender so a retransmission only rebuilds the
// header (attempt, sent_at).
struct CompressedBody {
  std::string frame;  // one zstd frame
  std::uint64_t raw_bytes = 0;
  std::uint32_t count = 0;
};

Result<CompressedBody> compress_body(const std::vector<BatchRecord>& records,
                                     const EncodeOptions& options = {});
// Header line + frame. header.raw_bytes and header.count are taken from the body.
std::string assemble_payload(BatchHeader header, const CompressedBody& body);

// Both steps at once.
Result<std::string> encode_batch(BatchHeader header, const std::vector<BatchRecord>& records,
                                 const EncodeOptions& options = {});

struct DecodeLimits {
  std::size_t max_payload_bytes = 16 * 1024 * 1024;
  std::size_t max_raw_bytes = 64 * 1024 * 1024;  // decompression-bomb guard
  std::size_t max_records = 100'000;
};

struct DecodedBatch {
  BatchHeader header;
  std::string body;                    // decompressed; records point into it
  std::vector<BatchRecordView> records;
};

// Parses and decompresses a payload. Errors name what is wrong ("header: missing 'stream_id'",
// "body: zstd: Unknown frame descriptor", "body line 3: expected <seq>\t<kind>\t<json>").
Result<DecodedBatch> decode_batch(std::string_view payload, const DecodeLimits& limits = {});

// Header only (cheap; for routing and the topic check before decompressing).
Result<BatchHeader> decode_batch_header(std::string_view payload);

// The collector's answer to a batch, published on the agent's acks topic after the commit.
struct Ack {
  int version = kBatchVersion;
  std::string stream_id;
  std::uint64_t batch_seq = 0;
  // "committed": stored (events, duplicates and quarantined records all accounted for);
  // "rejected": the payload could not be processed at all and was quarantined whole — the agent
  // must not resend it either way.
  std::string status = "committed";
  std::uint32_t stored = 0;
  std::uint32_t duplicates = 0;
  std::uint32_t quarantined = 0;
  UnixMillis committed_at = 0;  // collector clock
  std::string reason;           // for "rejected"
};

std::string encode_ack(const Ack& ack);
Result<Ack> decode_ack(std::string_view payload);

nlohmann::json header_to_json(const BatchHeader& header);

}  // namespace aisle::wire
