// The compiled validation tree: what CompiledSchema::compile produces and validate() walks.
// Internal to common/schema (validator_*.cpp); nothing outside includes it.
//
// One Node per schema object or boolean. Keywords are stored as typed fields (not a list of
// keyword objects) so that evaluation is a fixed sequence of cheap checks; `has_*` summaries let
// the evaluator skip whole groups (string keywords for an object instance, ...). Nodes refer to
// each other with plain pointers; the Program owns them all, and $ref cycles are just cycles.
#pragma once

#include <climits>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/schema/format.hpp"
#include "common/schema/validator.hpp"
#include "common/schema/validator_regex.hpp"

namespace aisle::schema::detail {

using Json = nlohmann::json;

// Bits of Node::type_mask. An integer-valued number has both kNumber and kInteger, so
// "type": "integer" accepts 1.0 as the specification requires.
enum TypeBit : std::uint8_t {
  kNullBit = 1,
  kBooleanBit = 2,
  kObjectBit = 4,
  kArrayBit = 8,
  kNumberBit = 16,
  kStringBit = 32,
  kIntegerBit = 64,
};

inline constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

struct Node;

// A numeric keyword's value ("minimum": 0): kept as written (for messages and the exact
// comparison) and decoded for the fast comparisons of compare_to_limit().
struct NumberLimit {
  Json value;
  bool present = false;
  bool fits_int64 = false;    // an integer representable as int64: as_int
  bool exact_double = false;  // as_double is exactly the value
  std::int64_t as_int = 0;
  double as_double = 0;

  void set(const Json& number);
  explicit operator bool() const { return present; }
};

struct PropertySchema {
  std::string name;
  const Node* schema = nullptr;
};

struct PatternSchema {
  Pattern pattern;
  const Node* schema = nullptr;
};

struct RequiredName {
  std::string name;
  int property_index = -1;  // index into Node::properties when also listed there, else -1
};

struct DependentRequired {
  std::string name;
  std::vector<std::string> required;
};

// "$dynamicRef": resolved like $ref to `fallback`; when `dynamic` (the target carries a matching
// "$dynamicAnchor"), the outermost schema resource in the dynamic scope with a "$dynamicAnchor"
// of that name wins instead.
struct DynamicRef {
  std::string anchor;
  const Node* fallback = nullptr;
  bool dynamic = false;
};

// Strings -> their index, with O(1) lookups: the property names of "properties", and the
// fast path of "enum" when every value is a string (currency codes, event kinds, ...).
//
// Open addressing over a table at most 1/4 full, hashed on the length and three bytes (no pass
// over the whole string), with the strings packed in one buffer. This lookup runs once per
// member of every validated object.
class StringIndex {
 public:
  void build(std::vector<std::string> values);
  // The index of `text` in the values given to build(), or -1.
  int find(std::string_view text) const {
    if (slots_.empty()) return -1;
    std::size_t slot = hash(text) & mask_;
    while (true) {
      const Slot& candidate = slots_[slot];
      if (candidate.index < 0) return -1;
      if (candidate.size == text.size() &&
          equal_bytes(blob_.data() + candidate.offset, text.data(), text.size())) {
        return candidate.index;
      }
      slot = (slot + 1) & mask_;
    }
  }
  bool contains(std::string_view text) const { return find(text) >= 0; }

 private:
  struct Slot {
    std::uint32_t offset = 0;  // into blob_
    std::uint32_t size = 0;
    std::int32_t index = -1;  // -1: empty
  };

  // memcmp(a, b, n) == 0 without a library call for the usual short names.
  static bool equal_bytes(const char* a, const char* b, std::size_t n) {
    if (n > 16) return std::memcmp(a, b, n) == 0;
    if (n >= 8) {
      std::uint64_t a0, b0, a1, b1;
      std::memcpy(&a0, a, 8);
      std::memcpy(&b0, b, 8);
      std::memcpy(&a1, a + n - 8, 8);
      std::memcpy(&b1, b + n - 8, 8);
      return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n >= 4) {
      std::uint32_t a0, b0, a1, b1;
      std::memcpy(&a0, a, 4);
      std::memcpy(&b0, b, 4);
      std::memcpy(&a1, a + n - 4, 4);
      std::memcpy(&b1, b + n - 4, 4);
      return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

  static std::size_t hash(std::string_view text) {
    const std::size_t n = text.size();
    if (n == 0) return 0;
    const auto byte = [&](std::size_t i) {
      return static_cast<std::uint32_t>(static_cast<unsigned char>(text[i]));
    };
    const std::uint32_t h = static_cast<std::uint32_t>(n) * 0x45D9F3Bu ^ byte(0) * 0x9E3779B1u ^
                            byte(n - 1) * 0x85EBCA6Bu ^ byte(n / 2) * 0xC2B2AE35u;
    return h ^ (h >> 15);
  }

  std::string blob_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

// Field order: what every evaluation reads comes first (one cache line), then the data of each
// instance type.
struct Node {
  enum class Kind : std::uint8_t { kTrue, kFalse, kSchema };
  Kind kind = Kind::kSchema;
  std::uint8_t type_mask = 0;  // 0: no "type" keyword
  bool has_const = false;
  bool has_enum = false;
  bool enum_only_strings = false;  // enum_strings answers "enum"
  bool has_numeric = false;
  bool has_string = false;
  bool has_array = false;
  bool has_object = false;
  bool has_applicators = false;
  // unevaluatedItems / unevaluatedProperties present: this node collects the annotations of
  // its in-place applicators.
  bool collects_annotations = false;
  std::uint32_t resource = 0;  // index into Program::resources (for $dynamicRef scopes)

  // Strings.
  std::uint64_t min_length = 0;
  std::uint64_t max_length = kUnlimited;
  std::optional<Format> format;  // set only when format is an assertion
  std::unique_ptr<Pattern> pattern;

  // Objects.
  std::vector<PropertySchema> properties;
  StringIndex property_index;  // name -> index into properties
  std::vector<RequiredName> required;
  std::vector<PatternSchema> pattern_properties;
  const Node* additional_properties = nullptr;
  const Node* property_names = nullptr;
  std::uint64_t min_properties = 0;
  std::uint64_t max_properties = kUnlimited;
  std::vector<DependentRequired> dependent_required;
  std::vector<PropertySchema> dependent_schemas;
  const Node* unevaluated_properties = nullptr;

  // Arrays.
  std::uint64_t min_items = 0;
  std::uint64_t max_items = kUnlimited;
  bool unique_items = false;
  std::vector<const Node*> prefix_items;
  const Node* items = nullptr;
  const Node* contains = nullptr;
  std::uint64_t min_contains = 1;
  std::uint64_t max_contains = kUnlimited;
  const Node* unevaluated_items = nullptr;

  // Numbers.
  NumberLimit minimum;
  NumberLimit maximum;
  NumberLimit exclusive_minimum;
  NumberLimit exclusive_maximum;
  NumberLimit multiple_of;

  // Any type.
  StringIndex enum_strings;
  std::vector<Json> enum_values;
  Json const_value;

  // In-place applicators (evaluated against the same instance location).
  const Node* ref = nullptr;
  std::optional<DynamicRef> dynamic_ref;
  std::vector<const Node*> all_of;
  std::vector<const Node*> any_of;
  std::vector<const Node*> one_of;
  const Node* not_schema = nullptr;
  const Node* if_schema = nullptr;
  const Node* then_schema = nullptr;
  const Node* else_schema = nullptr;

  // JSON Pointer of this schema in its document ("/$defs/line_item"); for a schema from another
  // document (a remote $ref) "<document URI>#<pointer>". Error schema paths start with it.
  std::string location;
};

// A schema resource (a document or a subschema with "$id"); $dynamicRef looks anchors up here.
struct Resource {
  std::string uri;
  std::vector<std::pair<std::string, const Node*>> dynamic_anchors;
};

class Program final : public CompiledSchema {
 public:
  bool validate(const nlohmann::json& instance,
                std::vector<ValidationError>* errors) const override;

  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<Resource> resources;
  const Node* root = nullptr;
  bool uses_dynamic_scope = false;  // some node has a dynamic $dynamicRef
  bool plain = false;               // no unevaluated* and no dynamic scope: validate_fast() applies
};

// Three-way comparison of two JSON numbers of any representation (int64, uint64, double),
// exact (no rounding of large integers through double).
int compare_numbers(const Json& a, const Json& b);

// compare_numbers(value, limit.value), with the common cases (both integers, or a double and an
// exactly representable limit) decided inline.
inline int compare_to_limit(const Json& value, const NumberLimit& limit) {
  switch (value.type()) {
    case Json::value_t::number_integer: {
      const std::int64_t x = *value.get_ptr<const Json::number_integer_t*>();
      if (limit.fits_int64) return (x > limit.as_int) - (x < limit.as_int);
      break;
    }
    case Json::value_t::number_unsigned: {
      const std::uint64_t x = *value.get_ptr<const Json::number_unsigned_t*>();
      if (limit.fits_int64 && x <= static_cast<std::uint64_t>(INT64_MAX)) {
        const auto signed_x = static_cast<std::int64_t>(x);
        return (signed_x > limit.as_int) - (signed_x < limit.as_int);
      }
      break;
    }
    case Json::value_t::number_float: {
      const double x = *value.get_ptr<const Json::number_float_t*>();
      if (limit.exact_double) return (x > limit.as_double) - (x < limit.as_double);
      break;
    }
    default: break;
  }
  return compare_numbers(value, limit.value);
}

// True when `value` (a number) is an integer multiple of `divisor` (a positive number), judged
// on the numbers' shortest decimal representations: 0.0075 is a multiple of 0.0001.
bool is_multiple_of(const Json& value, const Json& divisor);

std::uint8_t number_float_types(double value);

// The TypeBit(s) of each nlohmann::json::value_t (null, object, array, string, boolean,
// number_integer, number_unsigned, number_float, binary, discarded); a double is "number" here,
// and "integer" too when it is integral (type_matches() decides that only when it matters).
// clang-format off
inline constexpr std::uint8_t kTypeBitsByValueType[] = {
    kNullBit, kObjectBit, kArrayBit, kStringBit, kBooleanBit,
    kNumberBit | kIntegerBit, kNumberBit | kIntegerBit, kNumberBit, 0, 0};
// clang-format on

// True when the instance has one of the types in `mask` (a non-zero Node::type_mask).
inline bool type_matches(std::uint8_t mask, const Json& value) {
  const auto type = static_cast<std::size_t>(value.type());
  if (type >= sizeof(kTypeBitsByValueType)) return false;
  if (mask & kTypeBitsByValueType[type]) return true;
  return value.type() == Json::value_t::number_float && (mask & kIntegerBit) &&
         (number_float_types(*value.get_ptr<const Json::number_float_t*>()) & kIntegerBit);
}

// "enum" membership (JSON equality; the string index when every value is a string).
bool in_enum(const Node& node, const Json& value);

// The first pair of equal items of an array (JSON equality: 1 == 1.0, objects by content).
bool find_duplicate(const Json::array_t& array, std::size_t& first, std::size_t& second);

// The string assertions (minLength, maxLength, pattern, format) of a node, without messages;
// the byte-length shortcut inline, the rest out of line.
bool string_passes_slow(const Node& node, std::string_view value);
inline bool string_passes(const Node& node, std::string_view value) {
  const std::size_t bytes = value.size();
  // A code point takes 1 to 4 bytes: the byte length often decides minLength / maxLength.
  const bool length_known = bytes / 4 >= node.min_length && bytes <= node.max_length;
  return (length_known && !node.pattern && !node.format) || string_passes_slow(node, value);
}

// The number assertions (minimum ... multipleOf) of a node, without messages.
bool number_passes(const Node& node, const Json& value);

// validate() without error collection, for programs with no annotation collection and no
// dynamic scope (Program::plain); the same result as the full evaluator, faster.
bool validate_fast(const Program& program, const Json& instance);

// "integer", "number or string", ... for messages.
std::string type_names(std::uint8_t mask);

// The built-in draft 2020-12 meta-schema documents, by URI ("https://json-schema.org/draft/
// 2020-12/schema", ".../meta/core", ...); nullptr for any other URI.
const Json* builtin_metaschema(std::string_view uri);

}  // namespace aisle::schema::detail
