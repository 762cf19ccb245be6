// EventValidator::check_record: the ingest hot path on simdjson's DOM.
//
// nlohmann::json builds a std::map and a std::string per member; on these machines it parses a
// 1.4 kB purchase event at about 27,000/s per core, simdjson at about 540,000/s
// (docs/BENCHMARKS.md). The envelope goes through the same decoder as check_text
// (event_decode.hpp), the properties through the same compiled schema (validator_simd.hpp);
// anything not decided here is answered by check_text.
#include <simdjson.h>

#include <algorithm>
#include <charconv>

#include "common/event_decode.hpp"
#include "common/event_validator.hpp"
#include "common/schema/validator_simd.hpp"

namespace aisle {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct DomAccess {
  using Value = element;
  using PropertiesSlot = std::optional<element>;
  static bool is_object(const element& value) { return value.type() == element_type::OBJECT; }
  static bool is_string(const element& value) { return value.type() == element_type::STRING; }
  static std::string_view string(const element& value) {
    return value.get_string().value_unsafe();
  }
  // As nlohmann::json::type_name() says it, so both decoders word their errors alike.
  static const char* type_name(const element& value) {
    switch (value.type()) {
      case element_type::OBJECT: return "object";
      case element_type::ARRAY: return "array";
      case element_type::STRING: return "string";
      case element_type::BOOL: return "boolean";
      case element_type::NULL_VALUE: return "null";
      default: return "number";
    }
  }
  static std::optional<std::uint64_t> unsigned_integer(const element& value) {
    if (value.type() == element_type::UINT64) return value.get_uint64().value_unsafe();
    if (value.type() == element_type::INT64 && value.get_int64().value_unsafe() >= 0) {
      return static_cast<std::uint64_t>(value.get_int64().value_unsafe());
    }
    return std::nullopt;
  }
  template <class F>
  static void for_each_member(element& value, F&& f) {
    const simdjson::dom::object object = value.get_object().value_unsafe();
    for (const auto field : object) {
      element member = field.value;
      f(field.key, member);
    }
  }
  static void take_properties(element& value, PropertiesSlot& slot) { slot = value; }
};

// JSON string escaping as nlohmann::json::dump() does it (UTF-8 kept as is). Most strings need
// none, so the scan runs in a tight loop and copies in one piece.
void append_string(std::string_view text, std::string& out) {
  out += '"';
  std::size_t clean = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + clean, i - clean);
    clean = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escape, sizeof escape);
      }
    }
  }
  out.append(text.data() + clean, text.size() - clean);
  out += '"';
}

// Compact JSON text of a DOM value, members in the sender's order. (simdjson::minify(element)
// gives the same text about three times slower: it grows a std::vector<char> by push_back.)
void append_json(const element& value, std::string& out) {
  char number[32];
  switch (value.type()) {
    case element_type::OBJECT: {
      out += '{';
      bool first = true;
      const simdjson::dom::object object = value.get_object().value_unsafe();
      for (const auto field : object) {
        if (!first) out += ',';
        first = false;
        append_string(field.key, out);
        out += ':';
        append_json(field.value, out);
      }
      out += '}';
      return;
    }
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      const simdjson::dom::array array = value.get_array().value_unsafe();
      for (const element item : array) {
        if (!first) out += ',';
        first = false;
        append_json(item, out);
      }
      out += ']';
      return;
    }
    case element_type::STRING: append_string(value.get_string().value_unsafe(), out); return;
    case element_type::INT64: {
      const auto end = std::to_chars(number, number + sizeof number, value.get_int64().value_unsafe());
      out.append(number, end.ptr);
      return;
    }
    case element_type::UINT64: {
      const auto end =
          std::to_chars(number, number + sizeof number, value.get_uint64().value_unsafe());
      out.append(number, end.ptr);
      return;
    }
    case element_type::DOUBLE: {
      // Shortest round-trip form; a double stays a double ("5.0", not "5"), as nlohmann writes it.
      const auto end =
          std::to_chars(number, number + sizeof number, value.get_double().value_unsafe());
      out.append(number, end.ptr);
      if (std::find_if(number, end.ptr, [](char c) { return c == '.' || c == 'e'; }) == end.ptr) {
        out += ".0";
      }
      return;
    }
    case element_type::BOOL: out += value.get_bool().value_unsafe() ? "true" : "false"; return;
    case element_type::NULL_VALUE: out += "null"; return;
  }
}

// One parser per thread: it keeps its buffers between documents. nullptr when it cannot be set
// up with the depth limit (out of memory): the caller takes the nlohmann path.
simdjson::dom::parser* thread_parser(std::size_t max_depth) {
  thread_local simdjson::dom::parser parser;
  thread_local std::size_t depth = 0;
  if (depth != max_depth) {
    // Capacity grows on demand (keeping the depth); the depth is the limit check_text enforces.
    if (parser.allocate(simdjson::SIMDJSON_PADDING, max_depth) != simdjson::SUCCESS) return nullptr;
    depth = max_depth;
  }
  return &parser;
}

}  // namespace

bool EventValidator::check_record(std::string_view raw, Event& out, std::string* properties_json,
                                  std::vector<schema::ValidationError>& errors) const {
  if (check_record_fast(raw, out, properties_json)) return true;
  out = Event{};
  if (!check_text(raw, out, errors)) return false;
  if (properties_json) {
    *properties_json =
        out.properties.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  out.properties = nlohmann::json::object();
  return true;
}

bool EventValidator::check_record_fast(std::string_view raw, Event& out,
                                       std::string* properties_json) const {
  if (raw.size() > options_.limits.max_bytes) return false;
  simdjson::dom::parser* parser = thread_parser(options_.limits.max_depth);
  if (!parser) return false;
  element document;
  if (parser->parse(raw.data(), raw.size(), true).get(document) != simdjson::SUCCESS) return false;
  // Errors are discarded here: check_text finds the same ones (the same decoder) and more.
  std::vector<schema::ValidationError> errors;
  detail::EnvelopeDecoder<DomAccess> decoder(errors, decode_options_);
  std::optional<element> properties;
  if (!decoder.decode(document, out, properties)) return false;
  const auto registry = registry_->current();
  const schema::LoadedSchema* schema = schema_for(*registry, out, errors);
  if (!schema) return false;
  if (!properties) {
    // No "properties" member: an empty object, as check_text decodes it.
    if (!schema->compiled->validate(out.properties, nullptr)) return false;
    if (properties_json) *properties_json = "{}";
    return true;
  }
  if (!schema::validate_fast_dom(*schema->compiled, *properties)) return false;
  if (properties_json) {
    properties_json->clear();
    properties_json->reserve(raw.size());
    append_json(*properties, *properties_json);
  }
  return true;
}

}  // namespace aisle
