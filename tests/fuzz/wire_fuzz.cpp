// libFuzzer target: the collector's parsers of what arrives over MQTT — batch payloads (header
// line, zstd frame, record lines; with small limits so decompression bombs are exercised), acks,
// topics, recommendation snapshots (zstd JSON with small limits) and segment change messages.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/wire/batch.hpp"
#include "common/wire/rec_snapshot.hpp"
#include "common/wire/segment_change_wire.hpp"
#include "common/wire/topics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  aisle::wire::DecodeLimits limits;
  limits.max_raw_bytes = 1 << 20;
  limits.max_records = 10000;
  auto batch = aisle::wire::decode_batch(payload, limits);
  if (batch) {
    if (batch->records.size() != batch->header.count) std::abort();
    for (const auto& r : batch->records) {
      if (r.seq < batch->header.first_seq || r.seq > batch->header.last_seq) std::abort();
    }
    // Re-encoding what decoded must decode again.
    std::vector<aisle::wire::BatchRecord> records;
    for (const auto& r : batch->records) records.push_back({r.seq, r.kind, std::string(r.json)});
    auto again = aisle::wire::encode_batch(batch->header, records);
    if (!again || !aisle::wire::decode_batch(*again, limits)) std::abort();
  }
  (void)aisle::wire::decode_ack(payload);
  (void)aisle::wire::parse_events_topic(payload);
  // Segment changes: what decodes re-encodes to the same changes.
  if (auto changes = aisle::wire::decode_segment_changes(payload)) {
    auto again = aisle::wire::decode_segment_changes(aisle::wire::encode_segment_changes(*changes));
    if (!again || *again != *changes) std::abort();
  }
  aisle::wire::RecSnapshotLimits snapshot_limits;
  snapshot_limits.max_raw_bytes = 1 << 20;
  auto snapshot = aisle::wire::decode_rec_snapshot(payload, snapshot_limits);
  if (snapshot) {
    // What decoded re-encodes to an equal snapshot.
    auto again = aisle::wire::encode_rec_snapshot(*snapshot);
    if (!again) std::abort();
    auto twice = aisle::wire::decode_rec_snapshot(*again);
    if (!twice || !(*twice == *snapshot)) std::abort();
  }
  return 0;
}
