#include "common/wire/batch.hpp"

#include <zstd.h>

#include <charconv>

#include "common/json_text.hpp"

namespace aisle::wire {
namespace {

using nlohmann::json;

constexpr JsonLimits kHeaderLimits{64 * 1024, 8};

Error header_error(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, "header: " + std::move(message));
}

// Reads an unsigned integer field; false (and an error message) when absent or mistyped.
bool read_u64(const json& j, const char* key, std::uint64_t& out, std::string& error) {
  auto it = j.find(key);
  if (it == j.end()) {
    error = std::string("missing '") + key + "'";
    return false;
  }
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
    error = std::string("'") + key + "' must be a non-negative integer";
    return false;
  }
  out = it->get<std::uint64_t>();
  return true;
}

bool read_string(const json& j, const char* key, std::string& out, std::string& error) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    error = std::string("missing or empty string '") + key + "'";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

Result<BatchHeader> header_from_json(const json& j) {
  if (!j.is_object()) return header_error("not a JSON object");
  BatchHeader h;
  std::string error;
  std::uint64_t version = 0, count = 0, dropped = 0, attempt = 0, window = 0, created = 0,
                sent = 0;
  const bool ok = read_u64(j, "v", version, error) && read_string(j, "tenant", h.tenant, error) &&
                  read_string(j, "store_id", h.store_id, error) &&
                  read_string(j, "agent_id", h.agent_id, error) &&
                  read_string(j, "stream_id", h.stream_id, error) &&
                  read_u64(j, "batch_seq", h.batch_seq, error) &&
                  read_u64(j, "first_seq", h.first_seq, error) &&
                  read_u64(j, "last_seq", h.last_seq, error) &&
                  read_u64(j, "count", count, error) && read_u64(j, "dropped", dropped, error) &&
                  read_u64(j, "created_at", created, error) &&
                  read_u64(j, "sent_at", sent, error) && read_u64(j, "attempt", attempt, error) &&
                  read_u64(j, "raw_bytes", h.raw_bytes, error) &&
                  read_u64(j, "window", window, error);
  if (!ok) return header_error(error);
  if (j.contains("backlog") && !read_u64(j, "backlog", h.backlog, error)) {
    return header_error(error);
  }
  if (version != kBatchVersion) {
    return header_error("unsupported batch version " + std::to_string(version));
  }
  if (h.batch_seq == 0) return header_error("'batch_seq' starts at 1");
  if (h.last_seq < h.first_seq) return header_error("'last_seq' is before 'first_seq'");
  if (count + dropped != h.last_seq - h.first_seq + 1) {
    return header_error("count + dropped does not cover [first_seq, last_seq]");
  }
  h.version = static_cast<int>(version);
  h.count = static_cast<std::uint32_t>(count);
  h.dropped = static_cast<std::uint32_t>(dropped);
  h.attempt = static_cast<std::uint32_t>(attempt);
  h.window = static_cast<std::uint32_t>(window);
  h.created_at = static_cast<UnixMillis>(created);
  h.sent_at = static_cast<UnixMillis>(sent);
  return h;
}

}  // namespace

json header_to_json(const BatchHeader& h) {
  return json{{"v", h.version},           {"tenant", h.tenant},
              {"store_id", h.store_id},   {"agent_id", h.agent_id},
              {"stream_id", h.stream_id}, {"batch_seq", h.batch_seq},
              {"first_seq", h.first_seq}, {"last_seq", h.last_seq},
              {"count", h.count},         {"dropped", h.dropped},
              {"created_at", h.created_at}, {"sent_at", h.sent_at},
              {"attempt", h.attempt},     {"raw_bytes", h.raw_bytes},
              {"window", h.window},       {"backlog", h.backlog}};
}

Result<CompressedBody> compress_body(const std::vector<BatchRecord>& records,
                                     const EncodeOptions& options) {
  std::string body;
  std::size_t estimate = 0;
  for (const auto& r : records) estimate += r.json.size() + 24;
  body.reserve(estimate);
  char digits[24];
  for (const auto& r : records) {
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, r.seq);
    (void)ec;
    body.append(digits, end);
    body += '\t';
    body += r.kind;
    body += '\t';
    body += r.json;
    body += '\n';
  }
  CompressedBody out;
  out.raw_bytes = body.size();
  out.count = static_cast<std::uint32_t>(records.size());
  out.frame.resize(ZSTD_compressBound(body.size()));
  const std::size_t compressed = ZSTD_compress(out.frame.data(), out.frame.size(), body.data(),
                                               body.size(), options.zstd_level);
  if (ZSTD_isError(compressed)) {
    return make_error(ErrorCode::kInternal,
                      std::string("zstd compression failed: ") + ZSTD_getErrorName(compressed));
  }
  out.frame.resize(compressed);
  return out;
}

std::string assemble_payload(BatchHeader header, const CompressedBody& body) {
  header.count = body.count;
  header.raw_bytes = body.raw_bytes;
  std::string payload = header_to_json(header).dump();
  payload.reserve(payload.size() + 1 + body.frame.size());
  payload += '\n';
  payload += body.frame;
  return payload;
}

Result<std::string> encode_batch(BatchHeader header, const std::vector<BatchRecord>& records,
                                 const EncodeOptions& options) {
  auto body = compress_body(records, options);
  if (!body) return body.error();
  return assemble_payload(std::move(header), *body);
}

Result<BatchHeader> decode_batch_header(std::string_view payload) {
  const auto newline = payload.find('\n');
  if (newline == std::string_view::npos || payload.empty() || payload[0] != '{') {
    return header_error("payload does not start with a JSON header line");
  }
  auto parsed = parse_json(payload.substr(0, newline), kHeaderLimits);
  if (!parsed) return header_error(parsed.error().message);
  return header_from_json(*parsed);
}

Result<DecodedBatch> decode_batch(std::string_view payload, const DecodeLimits& limits) {
  if (payload.size() > limits.max_payload_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "payload is " + std::to_string(payload.size()) + " bytes, limit " +
                          std::to_string(limits.max_payload_bytes));
  }
  auto header = decode_batch_header(payload);
  if (!header) return header.error();
  DecodedBatch batch;
  batch.header = std::move(*header);
  const std::string_view frame = payload.substr(payload.find('\n') + 1);
  if (batch.header.raw_bytes > limits.max_raw_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "body: raw_bytes " + std::to_string(batch.header.raw_bytes) +
                          " exceeds the limit " + std::to_string(limits.max_raw_bytes));
  }
  const unsigned long long content_size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content_size == ZSTD_CONTENTSIZE_ERROR) {
    return make_error(ErrorCode::kInvalidArgument, "body: not a zstd frame");
  }
  if (content_size != ZSTD_CONTENTSIZE_UNKNOWN && content_size != batch.header.raw_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "body: frame holds " + std::to_string(content_size) +
                          " bytes but the header says " + std::to_string(batch.header.raw_bytes));
  }
  // Decompress into exactly raw_bytes: a frame that expands further is an error, not a bomb.
  batch.body.resize(batch.header.raw_bytes);
  const std::size_t produced =
      ZSTD_decompress(batch.body.data(), batch.body.size(), frame.data(), frame.size());
  if (ZSTD_isError(produced)) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("body: zstd: ") + ZSTD_getErrorName(produced));
  }
  if (produced != batch.header.raw_bytes) {
    return make_error(ErrorCode::kInvalidArgument, "body: decompressed size differs from header");
  }
  std::string_view body = batch.body;
  std::size_t line = 0;
  while (!body.empty()) {
    ++line;
    const auto newline = body.find('\n');
    const std::string_view text = body.substr(0, newline);
    body.remove_prefix(newline == std::string_view::npos ? body.size() : newline + 1);
    if (batch.records.size() >= limits.max_records) {
      return make_error(ErrorCode::kInvalidArgument,
                        "body: more than " + std::to_string(limits.max_records) + " records");
    }
    const auto tab1 = text.find('\t');
    const auto tab2 = tab1 == std::string_view::npos ? tab1 : text.find('\t', tab1 + 1);
    BatchRecordView record;
    record.line = line;
    const bool framed = tab1 != std::string_view::npos && tab2 == tab1 + 2 &&
                        (text[tab1 + 1] == 'e' || text[tab1 + 1] == 'q');
    const auto parsed_seq =
        framed ? std::from_chars(text.data(), text.data() + tab1, record.seq)
               : std::from_chars_result{text.data(), std::errc::invalid_argument};
    if (!framed || parsed_seq.ec != std::errc() || parsed_seq.ptr != text.data() + tab1) {
      return make_error(ErrorCode::kInvalidArgument,
                        "body line " + std::to_string(line) + ": expected <seq>\\t<e|q>\\t<json>");
    }
    record.kind = text[tab1 + 1];
    record.json = text.substr(tab2 + 1);
    if (record.seq < batch.header.first_seq || record.seq > batch.header.last_seq) {
      return make_error(ErrorCode::kInvalidArgument,
                        "body line " + std::to_string(line) + ": seq " +
                            std::to_string(record.seq) + " outside the header's range");
    }
    batch.records.push_back(record);
  }
  if (batch.records.size() != batch.header.count) {
    return make_error(ErrorCode::kInvalidArgument,
                      "body holds " + std::to_string(batch.records.size()) +
                          " records but the header says " + std::to_string(batch.header.count));
  }
  return batch;
}

std::string encode_ack(const Ack& ack) {
  json j = {{"v", ack.version},
            {"stream_id", ack.stream_id},
            {"batch_seq", ack.batch_seq},
            {"status", ack.status},
            {"stored", ack.stored},
            {"duplicates", ack.duplicates},
            {"quarantined", ack.quarantined},
            {"committed_at", ack.committed_at}};
  if (!ack.reason.empty()) j["reason"] = ack.reason;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Ack> decode_ack(std::string_view payload) {
  auto parsed = parse_json(payload, kHeaderLimits);
  if (!parsed) return make_error(ErrorCode::kInvalidArgument, "ack: " + parsed.error().message);
  const json& j = *parsed;
  if (!j.is_object()) return make_error(ErrorCode::kInvalidArgument, "ack: not an object");
  Ack ack;
  std::string error;
  std::uint64_t version = 0, stored = 0, duplicates = 0, quarantined = 0, committed = 0;
  const bool ok = read_u64(j, "v", version, error) &&
                  read_string(j, "stream_id", ack.stream_id, error) &&
                  read_u64(j, "batch_seq", ack.batch_seq, error) &&
                  read_string(j, "status", ack.status, error) &&
                  read_u64(j, "stored", stored, error) &&
                  read_u64(j, "duplicates", duplicates, error) &&
                  read_u64(j, "quarantined", quarantined, error) &&
                  read_u64(j, "committed_at", committed, error);
  if (!ok) return make_error(ErrorCode::kInvalidArgument, "ack: " + error);
  if (ack.status != "committed" && ack.status != "rejected") {
    return make_error(ErrorCode::kInvalidArgument, "ack: unknown status '" + ack.status + "'");
  }
  ack.version = static_cast<int>(version);
  ack.stored = static_cast<std::uint32_t>(stored);
  ack.duplicates = static_cast<std::uint32_t>(duplicates);
  ack.quarantined = static_cast<std::uint32_t>(quarantined);
  ack.committed_at = static_cast<UnixMillis>(committed);
  if (auto it = j.find("reason"); it != j.end() && it->is_string()) ack.reason = *it;
  return ack;
}

}  // namespace aisle::wire
