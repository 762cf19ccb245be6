// Shared helpers of the device decoders: option reading with config-map strictness, a flat JSON
// object scanner for line protocols (no DOM, no allocation once warm), number and timestamp
// parsing, and the canonical event skeleton. Internal to aisle::adapters; not a public interface.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/event.hpp"
#include "common/result.hpp"
#include "firmware_adapters/decoder.hpp"

namespace aisle::adapters::detail {

// Reads decoder options from the config object and remembers which keys were read, so finish()
// can refuse the ones nobody asked for (Fluent Bit "config map" style): a typo in a key is a
// startup error naming the key, never a silently ignored setting. The first error wins.
class OptionReader {
 public:
  OptionReader(std::string_view decoder_type, const nlohmann::json& options);

  std::int64_t get_int(std::string_view key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  double get_double(std::string_view key, double fallback, double min, double max);
  bool get_bool(std::string_view key, bool fallback);
  std::string get_string(std::string_view key, std::string fallback);
  // An object option (a map); nullptr when absent. Must be an object.
  const nlohmann::json* get_object(std::string_view key);
  // Reports a bad value found while interpreting an option's contents.
  void fail(std::string_view key, std::string_view message);

  // The first error, or an unknown key; ok when all is well.
  Status finish();
  bool failed() const { return !error_.empty(); }

 private:
  const nlohmann::json* find(std::string_view key);

  std::string type_;
  const nlohmann::json& options_;
  std::set<std::string, std::less<>> read_;
  std::string error_;
};

// One member of a flat JSON object: its key and the scalar value's text. Strings are unescaped
// (`text` points into `frame` when there was nothing to unescape, else into `scratch`).
struct FlatMember {
  enum class Kind : std::uint8_t { kString, kNumber, kBool, kNull };
  std::string_view key;
  Kind kind = Kind::kNull;
  std::string_view text;
  std::string scratch;
};

// Scans `{"k": scalar, ...}` (one object, scalars only, no nesting) into `members` (reused).
// Returns an empty string on success, else what was wrong ("expected ':' at byte 12").
// Bounds: at most `max_members` members; duplicate keys are refused.
std::string scan_flat_json(std::string_view text, std::vector<FlatMember>& members,
                           std::size_t max_members = 32);
const FlatMember* find_member(const std::vector<FlatMember>& members, std::string_view key);

// Strict decimal integer ("-12", no spaces, no '+', no fraction); nullopt when not one.
std::optional<std::int64_t> parse_int(std::string_view text);
// Strict decimal number ("-12.5", "1e3"); finite only.
std::optional<double> parse_double(std::string_view text);
// A device timestamp: RFC 3339 text, or Unix epoch seconds (with optional fraction) or
// milliseconds (values >= 1e11 are taken as milliseconds). nullopt when neither.
std::optional<UnixMillis> parse_device_time(std::string_view text);

std::string_view trim(std::string_view text);
// Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). Text copied from a frame into an
// event must pass: JSON cannot carry anything else.
bool valid_utf8(std::string_view text);
// Lowercase hex of `size` bytes.
void append_hex(std::string& out, const std::uint8_t* bytes, std::size_t size);
// Decodes hex (either case, even length) into `out`; false when not hex or longer than max.
bool decode_hex(std::string_view hex, std::vector<std::uint8_t>& out, std::size_t max_bytes);

// A short printable excerpt of untrusted text for error messages (at most 40 bytes, control
// and non-ASCII bytes replaced by '?').
std::string excerpt(std::string_view text);
// "line 12: " when the frame has a line number, else "".
std::string line_prefix(const Frame& frame);

// The canonical event skeleton: type, schema 1-0-0, occurred_at and source.
Event make_event(std::string_view type, Channel channel, const DecoderContext& context,
                 UnixMillis occurred_at);

// Adds a member to a JSON object without a search: callers add keys in ascending order, so the
// end is always the right place (hot paths build event properties with this).
template <typename V>
void put_sorted(nlohmann::json& object, const char* key, V&& value) {
  auto& members = object.get_ref<nlohmann::json::object_t&>();
  members.emplace_hint(members.end(), key, std::forward<V>(value));
}

DecodeError make_error(const Frame& frame, std::string_view reason, std::string_view message);

// The trimmed text of a line frame; nullopt, with a "too_long" error in `out`, when the frame is
// longer than `max_bytes`. Empty text is a keep-alive: callers skip it without an error.
std::optional<std::string_view> line_text(const Frame& frame, std::size_t max_bytes,
                                          DecodeOutput& out);

}  // namespace aisle::adapters::detail
