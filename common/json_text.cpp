#include "common/json_text.hpp"

#include <algorithm>

namespace aisle {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Scans nesting depth outside of strings. Returns the offset where max_depth is exceeded, or
// npos. Cheap (one pass, no allocation), so nlohmann's recursive parser never sees a hostile
// depth.
std::size_t find_excess_depth(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return i;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::string describe_position(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1);
}

Result<nlohmann::json> parse_json(std::string_view text, const JsonLimits& limits,
                                  bool allow_comments) {
  if (text.size() > limits.max_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "document is " + std::to_string(text.size()) + " bytes, limit " +
                          std::to_string(limits.max_bytes));
  }
  if (const auto at = find_excess_depth(text, limits.max_depth); at != std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "nesting deeper than " + std::to_string(limits.max_depth) + " levels at " +
                          describe_position(text, at));
  }
  // nlohmann reports syntax errors by exception only; this is the boundary where that library's
  // exceptions become values.
  try {
    return nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/true,
                                 allow_comments);
  } catch (const nlohmann::json::parse_error& e) {
    std::string message = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." ->
    // keep the part a human needs.
    if (const auto p = message.find("parse error"); p != std::string::npos) {
      message = message.substr(p);
    }
    if (message.rfind("parse error at ", 0) == 0) message = message.substr(15);
    return make_error(ErrorCode::kInvalidArgument, message);
  } catch (const nlohmann::json::exception& e) {
    // out_of_range.406: a number that does not fit a double ("1e999"), found by fuzzing.
    std::string message = e.what();
    if (const auto p = message.find("] "); p != std::string::npos) message = message.substr(p + 2);
    return make_error(ErrorCode::kInvalidArgument, message);
  }
}

Result<std::vector<RawRecord>> split_records(std::string_view body, BodyFormat format) {
  std::vector<RawRecord> records;
  std::size_t pos = 0;
  while (pos < body.size() && is_space(body[pos])) ++pos;
  if (pos == body.size()) return make_error(ErrorCode::kInvalidArgument, "body is empty");

  if (format == BodyFormat::kAuto && body[pos] == '[') {
    // Walk the array's elements by depth, so each element keeps its own raw text.
    std::size_t depth = 0;
    bool in_string = false;
    std::size_t element_start = std::string_view::npos;
    std::size_t line = 1;
    std::size_t element_line = 1;
    bool closed = false;
    for (std::size_t i = 0; i < body.size(); ++i) {
      const char c = body[i];
      if (c == '\n') ++line;
      if (i < pos) continue;
      if (in_string) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (closed) {
        if (!is_space(c)) {
          return make_error(ErrorCode::kInvalidArgument,
                            "unexpected data after the closing ']' at " +
                                describe_position(body, i));
        }
        continue;
      }
      if (depth == 1 && (c == ',' || c == ']')) {
        if (element_start != std::string_view::npos) {
          std::size_t end = i;
          while (end > element_start && is_space(body[end - 1])) --end;
          records.push_back({body.substr(element_start, end - element_start), element_line,
                             records.size()});
          element_start = std::string_view::npos;
        } else if (c == ',' || !records.empty()) {
          return make_error(ErrorCode::kInvalidArgument,
                            "missing array element at " + describe_position(body, i));
        }
        if (c == ']') {
          closed = true;
          depth = 0;
        }
        continue;
      }
      if (depth == 1 && element_start == std::string_view::npos && !is_space(c)) {
        element_start = i;
        element_line = line;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if (c == ']' || c == '}') {
        if (depth == 0) {
          return make_error(ErrorCode::kInvalidArgument,
                            "unbalanced '" + std::string(1, c) + "' at " +
                                describe_position(body, i));
        }
        --depth;
      }
    }
    if (!closed) {
      return make_error(ErrorCode::kInvalidArgument,
                        in_string ? "unterminated string in array body"
                                  : "array body is not closed with ']'");
    }
    return records;
  }

  // NDJSON, or a single document (which is the one-line case of the same loop when the
  // document has no raw newlines; a pretty-printed single object is detected below).
  if (format == BodyFormat::kAuto && body[pos] == '{') {
    // A single object may span lines; NDJSON objects never contain raw newlines. Find where the
    // first top-level object ends: if only whitespace follows, it is one record.
    std::size_t depth = 0;
    bool in_string = false;
    std::size_t i = pos;
    for (; i < body.size(); ++i) {
      const char c = body[i];
      if (in_string) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && depth > 0 && --depth == 0) {
        break;
      }
    }
    std::size_t rest = i + 1;
    while (rest < body.size() && is_space(body[rest])) ++rest;
    if (i >= body.size() || rest == body.size()) {
      const std::size_t end = std::min(i + 1, body.size());
      std::size_t line = 1 + static_cast<std::size_t>(
                                 std::count(body.begin(), body.begin() + pos, '\n'));
      records.push_back({body.substr(pos, end - pos), line, 0});
      return records;
    }
  }
  std::size_t line = 1;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view text = body.substr(start, end - start);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    if (!text.empty()) records.push_back({text, line, records.size()});
    ++line;
    if (end == body.size()) break;
    start = end + 1;
  }
  return records;
}

}  // namespace aisle
