// Bounded JSON parsing and splitting of request bodies into records.
//
// Everything that parses untrusted JSON goes through here, so limits (size, nesting depth) and
// error messages (line and column) are the same for HTTP bodies, MQTT batches, files and CLI.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace aisle {

struct JsonLimits {
  std::size_t max_bytes = 64 * 1024;  // per parsed document (one event)
  std::size_t max_depth = 64;         // nesting of arrays/objects
};

// Parses one JSON document within the limits. Errors (kInvalidArgument) read like
// "line 1, column 17: syntax error while parsing object key - unexpected '}'" or
// "nesting deeper than 64 levels at line 1, column 130" or "document is 70000 bytes, limit 65536".
// Comments are accepted only when `allow_comments` (config files).
Result<nlohmann::json> parse_json(std::string_view text, const JsonLimits& limits,
                                  bool allow_comments = false);

// One record cut out of a body: its raw text (a view into the body) and where it started.
struct RawRecord {
  std::string_view text;
  std::size_t line = 1;  // 1-based line of the record's first byte in the body
  std::size_t index = 0;  // 0-based position of the record in the body
};

enum class BodyFormat {
  kAuto,    // a JSON array, a single object, or NDJSON — decided from the first bytes
  kNdjson,  // newline-delimited; blank lines skipped
};

// Splits a body into records without parsing them: a single object is one record, a top-level
// array yields one record per element, and NDJSON one per non-blank line. String contents are
// skipped correctly (brackets inside strings do not count). Fails when the framing is broken:
// an unterminated array or string, or trailing garbage after the closing bracket.
Result<std::vector<RawRecord>> split_records(std::string_view body, BodyFormat format);

// "line L, column C" for a byte offset in text (1-based).
std::string describe_position(std::string_view text, std::size_t offset);

}  // namespace aisle
