#include "firmware_adapters/decoder_support.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "common/time_format.hpp"

namespace aisle::adapters::detail {

OptionReader::OptionReader(std::string_view decoder_type, const nlohmann::json& options)
    : type_(decoder_type), options_(options) {
  if (!options_.is_null() && !options_.is_object()) {
    error_ = "decoder " + type_ + ": options must be an object";
  }
}

const nlohmann::json* OptionReader::find(std::string_view key) {
  read_.emplace(key);
  if (!options_.is_object()) return nullptr;
  const auto it = options_.find(key);
  if (it == options_.end() || it->is_null()) return nullptr;
  return &*it;
}

void OptionReader::fail(std::string_view key, std::string_view message) {
  if (error_.empty()) {
    error_ = "decoder " + type_ + ": option '" + std::string(key) + "': " + std::string(message);
  }
}

std::int64_t OptionReader::get_int(std::string_view key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_number_integer()) {
    fail(key, "must be an integer");
    return fallback;
  }
  const auto number = value->get<std::int64_t>();
  if (number < min || number > max) {
    fail(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                  std::to_string(number));
    return fallback;
  }
  return number;
}

double OptionReader::get_double(std::string_view key, double fallback, double min, double max) {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) {
    fail(key, "must be a number");
    return fallback;
  }
  const auto number = value->get<double>();
  if (!(number >= min && number <= max)) {
    fail(key, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return fallback;
  }
  return number;
}

bool OptionReader::get_bool(std::string_view key, bool fallback) {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) {
    fail(key, "must be true or false");
    return fallback;
  }
  return value->get<bool>();
}

std::string OptionReader::get_string(std::string_view key, std::string fallback) {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_string()) {
    fail(key, "must be a string");
    return fallback;
  }
  return value->get<std::string>();
}

const nlohmann::json* OptionReader::get_object(std::string_view key) {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return nullptr;
  if (!value->is_object()) {
    fail(key, "must be an object");
    return nullptr;
  }
  return value;
}

Status OptionReader::finish() {
  if (error_.empty() && options_.is_object()) {
    for (const auto& item : options_.items()) {
      if (!read_.contains(item.key())) {
        error_ = "decoder " + type_ + ": unknown option '" + item.key() + "'";
        break;
      }
    }
  }
  if (!error_.empty()) return aisle::make_error(ErrorCode::kInvalidArgument, error_);
  return ok_status();
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Scanner state over one text; positions are byte offsets for messages.
struct Scanner {
  std::string_view s;
  std::size_t i = 0;
  void skip() {
    while (i < s.size() && is_space(s[i])) ++i;
  }
  std::string at(std::string_view what) const {
    return "expected " + std::string(what) + " at byte " + std::to_string(i);
  }
  bool read_hex4(std::uint32_t& value) {
    if (i + 4 > s.size()) return false;
    value = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = hex_value(s[i + static_cast<std::size_t>(k)]);
      if (h < 0) return false;
      value = value * 16 + static_cast<std::uint32_t>(h);
    }
    i += 4;
    return true;
  }
  // Reads a string starting at '"'; sets view (into s or scratch).
  std::string string(std::string_view& view, std::string& scratch) {
    ++i;  // opening quote
    const std::size_t start = i;
    while (i < s.size() && s[i] != '"' && s[i] != '\\') {
      if (static_cast<unsigned char>(s[i]) < 0x20) return at("no control character in string");
      ++i;
    }
    if (i >= s.size()) return at("closing '\"'");
    if (s[i] == '"') {
      view = s.substr(start, i - start);
      ++i;
      return {};
    }
    scratch.assign(s.substr(start, i - start));
    while (i < s.size() && s[i] != '"') {
      const char c = s[i];
      if (static_cast<unsigned char>(c) < 0x20) return at("no control character in string");
      if (c != '\\') {
        scratch.push_back(c);
        ++i;
        continue;
      }
      if (++i >= s.size()) return at("escape");
      const char e = s[i++];
      switch (e) {
        case '"': scratch.push_back('"'); break;
        case '\\': scratch.push_back('\\'); break;
        case '/': scratch.push_back('/'); break;
        case 'b': scratch.push_back('\b'); break;
        case 'f': scratch.push_back('\f'); break;
        case 'n': scratch.push_back('\n'); break;
        case 'r': scratch.push_back('\r'); break;
        case 't': scratch.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!read_hex4(cp)) return at("4 hex digits after \\u");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (i + 1 >= s.size() || s[i] != '\\' || s[i + 1] != 'u') return at("low surrogate");
            i += 2;
            if (!read_hex4(low) || low < 0xDC00 || low > 0xDFFF) return at("low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return at("no lone low surrogate");
          }
          append_utf8(scratch, cp);
          break;
        }
        default: return at("valid escape");
      }
    }
    if (i >= s.size()) return at("closing '\"'");
    ++i;
    view = scratch;
    return {};
  }
};

}  // namespace

std::string scan_flat_json(std::string_view text, std::vector<FlatMember>& members,
                           std::size_t max_members) {
  std::size_t used = 0;
  // Views may point into members' own scratch strings: never let the vector reallocate mid-scan.
  members.reserve(max_members);
  Scanner sc{text};
  auto finish = [&](std::string error) {
    members.resize(used);
    return error;
  };
  sc.skip();
  if (sc.i >= text.size() || text[sc.i] != '{') return finish(sc.at("'{'"));
  ++sc.i;
  sc.skip();
  if (sc.i < text.size() && text[sc.i] == '}') {
    ++sc.i;
  } else {
    while (true) {
      sc.skip();
      if (sc.i >= text.size() || text[sc.i] != '"') return finish(sc.at("a member name"));
      if (used == max_members) {
        return finish("more than " + std::to_string(max_members) + " members");
      }
      if (members.size() <= used) members.emplace_back();
      FlatMember& m = members[used];
      std::string key_scratch;
      std::string_view key;
      if (std::string error = sc.string(key, key_scratch); !error.empty()) return finish(error);
      if (!key_scratch.empty() && key.data() == key_scratch.data()) {
        return finish("escaped member names are not supported");
      }
      for (std::size_t k = 0; k < used; ++k) {
        if (members[k].key == key) return finish("duplicate member '" + excerpt(key) + "'");
      }
      m.key = key;
      sc.skip();
      if (sc.i >= text.size() || text[sc.i] != ':') return finish(sc.at("':'"));
      ++sc.i;
      sc.skip();
      if (sc.i >= text.size()) return finish(sc.at("a value"));
      const char c = text[sc.i];
      if (c == '"') {
        m.kind = FlatMember::Kind::kString;
        if (std::string error = sc.string(m.text, m.scratch); !error.empty()) return finish(error);
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        const std::size_t start = sc.i;
        while (sc.i < text.size() && (std::isdigit(static_cast<unsigned char>(text[sc.i])) ||
                                      text[sc.i] == '-' || text[sc.i] == '+' ||
                                      text[sc.i] == '.' || text[sc.i] == 'e' || text[sc.i] == 'E')) {
          ++sc.i;
        }
        m.kind = FlatMember::Kind::kNumber;
        m.text = text.substr(start, sc.i - start);
        if (!parse_double(m.text)) return finish("bad number at byte " + std::to_string(start));
      } else if (text.substr(sc.i, 4) == "true" || text.substr(sc.i, 5) == "false") {
        m.kind = FlatMember::Kind::kBool;
        const std::size_t n = text[sc.i] == 't' ? 4 : 5;
        m.text = text.substr(sc.i, n);
        sc.i += n;
      } else if (text.substr(sc.i, 4) == "null") {
        m.kind = FlatMember::Kind::kNull;
        m.text = text.substr(sc.i, 4);
        sc.i += 4;
      } else if (c == '{' || c == '[') {
        return finish("nested value of '" + excerpt(key) + "' is not supported");
      } else {
        return finish(sc.at("a value"));
      }
      ++used;
      sc.skip();
      if (sc.i < text.size() && text[sc.i] == ',') {
        ++sc.i;
        continue;
      }
      if (sc.i < text.size() && text[sc.i] == '}') {
        ++sc.i;
        break;
      }
      return finish(sc.at("',' or '}'"));
    }
  }
  sc.skip();
  if (sc.i != text.size()) return finish("trailing bytes after the object at byte " +
                                         std::to_string(sc.i));
  return finish({});
}

const FlatMember* find_member(const std::vector<FlatMember>& members, std::string_view key) {
  for (const auto& m : members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  if (text.empty() || text.front() == '+') return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  if (text.empty() || text.front() == '+') return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<UnixMillis> parse_device_time(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(text.front())) && text.size() <= 20 &&
      text.find_first_of("-:T ") == std::string_view::npos) {
    if (const auto whole = parse_int(text)) {
      if (*whole >= 100'000'000'000LL) return *whole <= 253'402'300'799'999LL ? whole : std::nullopt;
      return *whole <= 253'402'300'799LL ? std::optional<UnixMillis>(*whole * 1000) : std::nullopt;
    }
    const auto seconds = parse_double(text);
    if (!seconds || *seconds < 0 || *seconds > 253'402'300'799.0) return std::nullopt;
    return static_cast<UnixMillis>(std::floor(*seconds * 1000.0));
  }
  return parse_rfc3339(text);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + length > n) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3F);
    }
    if ((length == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (length == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += length;
  }
  return true;
}

void append_hex(std::string& out, const std::uint8_t* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t k = 0; k < size; ++k) {
    out.push_back(kDigits[bytes[k] >> 4]);
    out.push_back(kDigits[bytes[k] & 0x0F]);
  }
}

bool decode_hex(std::string_view hex, std::vector<std::uint8_t>& out, std::size_t max_bytes) {
  out.clear();
  if (hex.size() % 2 != 0 || hex.size() / 2 > max_bytes) return false;
  for (std::size_t k = 0; k < hex.size(); k += 2) {
    const int hi = hex_value(hex[k]);
    const int lo = hex_value(hex[k + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return true;
}

std::string excerpt(std::string_view text) {
  std::string out;
  const std::size_t n = std::min<std::size_t>(text.size(), 40);
  out.reserve(n + 3);
  for (std::size_t k = 0; k < n; ++k) {
    const auto c = static_cast<unsigned char>(text[k]);
    out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
  }
  if (text.size() > n) out += "...";
  return out;
}

std::string line_prefix(const Frame& frame) {
  if (frame.line == 0) return {};
  return "line " + std::to_string(frame.line) + ": ";
}

Event make_event(std::string_view type, Channel channel, const DecoderContext& context,
                 UnixMillis occurred_at) {
  Event event;
  event.type = type;
  event.schema.reserve(8 + type.size() + 17);
  event.schema.append("aisle/").append(type).append("/jsonschema/1-0-0");
  event.occurred_at = occurred_at;
  event.source.store_id = context.store_id;
  event.source.channel = channel;
  event.source.device_id = context.device_id;
  return event;
}

DecodeError make_error(const Frame& frame, std::string_view reason, std::string_view message) {
  return DecodeError{std::string(reason), line_prefix(frame) + std::string(message)};
}

std::optional<std::string_view> line_text(const Frame& frame, std::size_t max_bytes,
                                          DecodeOutput& out) {
  if (frame.bytes.size() > max_bytes) {
    out.errors.push_back(make_error(frame, "too_long",
                                    "frame of " + std::to_string(frame.bytes.size()) +
                                        " bytes exceeds max_line_bytes " +
                                        std::to_string(max_bytes)));
    return std::nullopt;
  }
  return trim(frame.bytes);
}

}  // namespace aisle::adapters::detail
