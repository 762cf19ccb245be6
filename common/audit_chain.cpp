#include "common/audit_chain.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "common/crypto.hpp"
#include "common/json_text.hpp"
#include "common/time_format.hpp"

namespace aisle::audit {
namespace {

using nlohmann::json;

constexpr std::size_t kFieldCount = 8;
constexpr std::size_t kReadChunkBytes = 64 * 1024;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json to_json_without_hash(const AuditRecord& r) {
  return json{{"seq", r.seq},       {"at", format_rfc3339_ms(r.at)},
              {"actor", r.actor},   {"action", r.action},
              {"target", r.target}, {"details", r.details.is_null() ? json::object() : r.details},
              {"prev", r.prev}};
}

Error bad(std::string reason) {
  return make_error(ErrorCode::kInvalidArgument, std::move(reason));
}

bool is_lower_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Follows the chain line by line, so a file is checked without holding it in memory.
class ChainChecker {
 public:
  explicit ChainChecker(const ParseLimits& limits) : limits_(limits) {
    report_.last_hash = std::string(kGenesisHash);
  }

  // False once a bad line was found (the report then says which); later lines are ignored.
  bool line(std::string_view text, bool has_newline) {
    ++line_number_;
    if (!has_newline) {
      return fail("torn last line: " + std::to_string(text.size()) +
                      " bytes without a newline (an interrupted write or a truncated file)",
                  true);
    }
    auto record = parse_line(text, limits_);
    if (!record) return fail(record.error().message);
    const std::uint64_t expected_seq = report_.last_seq + 1;
    if (record->seq != expected_seq) {
      return fail("seq gap: expected " + std::to_string(expected_seq) + ", found " +
                  std::to_string(record->seq) + " (a record was removed, inserted or moved)");
    }
    if (record->prev != report_.last_hash) {
      return fail("wrong prev: does not match the hash of the record before (" +
                  report_.last_hash.substr(0, 16) + "...)");
    }
    report_.last_seq = record->seq;
    report_.last_hash = record->hash;
    ++report_.records;
    return true;
  }

  bool line_too_long(std::size_t bytes_so_far) {
    ++line_number_;
    return fail("line longer than " + std::to_string(limits_.max_line_bytes) + " bytes (" +
                std::to_string(bytes_so_far) + " read so far)");
  }

  VerifyReport finish() {
    if (report_.bad_line == 0) report_.ok = true;
    return report_;
  }

 private:
  bool fail(std::string reason, bool torn = false) {
    report_.bad_line = line_number_;
    report_.reason = std::move(reason);
    report_.torn_tail = torn;
    return false;
  }

  ParseLimits limits_;
  VerifyReport report_;
  std::size_t line_number_ = 0;
};

}  // namespace

std::string canonical_text(const AuditRecord& record) {
  return dump(to_json_without_hash(record));
}

std::string compute_hash(const AuditRecord& record) {
  return crypto::sha256_hex(canonical_text(record));
}

std::string encode_line(const AuditRecord& record) {
  json j = to_json_without_hash(record);
  j["hash"] = record.hash;
  return dump(j);
}

Result<AuditRecord> parse_line(std::string_view line, const ParseLimits& limits) {
  if (line.size() > limits.max_line_bytes) {
    return bad("line is " + std::to_string(line.size()) + " bytes, limit " +
               std::to_string(limits.max_line_bytes));
  }
  auto parsed = parse_json(line, JsonLimits{limits.max_line_bytes, limits.max_depth});
  if (!parsed) return bad("bad JSON: " + parsed.error().message);
  const json& j = *parsed;
  if (!j.is_object()) return bad("bad record: not a JSON object");
  if (j.size() != kFieldCount) {
    return bad("bad record: " + std::to_string(j.size()) + " fields, expected " +
               std::to_string(kFieldCount) +
               " (seq, at, actor, action, target, details, prev, hash)");
  }
  AuditRecord r;
  const auto string_field = [&j](const char* key, std::string& out) -> std::optional<Error> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return bad(std::string("bad record: '") + key + "' missing or not a string");
    }
    out = it->get<std::string>();
    return std::nullopt;
  };
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned() || seq->get<std::uint64_t>() == 0) {
    return bad("bad record: 'seq' missing or not a positive integer");
  }
  r.seq = seq->get<std::uint64_t>();
  std::string at;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"at", &at},
                          {"actor", &r.actor},
                          {"action", &r.action},
                          {"target", &r.target},
                          {"prev", &r.prev},
                          {"hash", &r.hash}}) {
    if (auto error = string_field(key, *out)) return *error;
  }
  const auto at_ms = parse_rfc3339(at);
  if (!at_ms) return bad("bad record: 'at' is not an RFC 3339 timestamp");
  r.at = *at_ms;
  auto details = j.find("details");
  if (details == j.end() || !details->is_object()) {
    return bad("bad record: 'details' missing or not an object");
  }
  r.details = *details;
  if (!is_lower_hex64(r.prev) || !is_lower_hex64(r.hash)) {
    return bad("bad record: 'prev' and 'hash' must be 64 lowercase hex digits");
  }
  // Byte-for-byte canonical: catches edits that leave the parsed value unchanged (whitespace,
  // escapes, key order, a timestamp written in another offset).
  if (encode_line(r) != line) return bad("not canonical: the line was edited or reformatted");
  if (compute_hash(r) != r.hash) return bad("wrong hash: the record's content was changed");
  return r;
}

VerifyReport verify_text(std::string_view content, const ParseLimits& limits) {
  ChainChecker checker(limits);
  while (!content.empty()) {
    const auto newline = content.find('\n');
    const bool has_newline = newline != std::string_view::npos;
    const std::string_view text = content.substr(0, has_newline ? newline : content.size());
    if (!checker.line(text, has_newline)) break;
    content.remove_prefix(has_newline ? newline + 1 : content.size());
  }
  return checker.finish();
}

Result<VerifyReport> verify_file(const std::string& path, const ParseLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return make_error(error == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                      path + ": cannot open: " + std::strerror(error));
  }
  ChainChecker checker(limits);
  std::string pending;  // the current line's bytes read so far
  std::string chunk(kReadChunkBytes, '\0');
  bool stopped = false;
  while (!stopped && in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    std::string_view data(chunk.data(), static_cast<std::size_t>(in.gcount()));
    while (!stopped && !data.empty()) {
      const auto newline = data.find('\n');
      if (newline == std::string_view::npos) {
        pending.append(data);
        data = {};
      } else {
        pending.append(data.substr(0, newline));
        data.remove_prefix(newline + 1);
        stopped = !checker.line(pending, true);
        pending.clear();
      }
      if (!stopped && pending.size() > limits.max_line_bytes) {
        stopped = !checker.line_too_long(pending.size());
      }
    }
  }
  if (in.bad()) return make_error(ErrorCode::kIo, path + ": read failed");
  if (!stopped && !pending.empty()) checker.line(pending, false);
  return checker.finish();
}

}  // namespace aisle::audit
