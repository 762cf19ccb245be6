// validate_fast_dom: the FastWalker (validator_fast_walk.hpp) over simdjson's DOM.
//
// Scalars that a keyword compares (const, enum, the number assertions) become small nlohmann
// values so the comparisons stay the ones the full evaluator makes (exact int64/uint64/double,
// 1 == 1.0); containers in those keywords are left undecided.
#include "common/schema/validator_simd.hpp"

#include "common/schema/validator_fast_walk.hpp"

namespace aisle::schema {
namespace detail {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct DomAccess {
  using Value = element;
  static constexpr bool kKeysMayRepeat = true;  // {"a":1,"a":2} keeps both members

  static ValueKind kind(const element& value) {
    switch (value.type()) {
      case element_type::OBJECT: return ValueKind::kObject;
      case element_type::ARRAY: return ValueKind::kArray;
      case element_type::STRING: return ValueKind::kString;
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE: return ValueKind::kNumber;
      default: return ValueKind::kOther;
    }
  }
  // The scalar as nlohmann holds it; false for objects and arrays.
  static bool scalar(const element& value, Json& out) {
    switch (value.type()) {
      case element_type::INT64: out = value.get_int64().value_unsafe(); return true;
      case element_type::UINT64: out = value.get_uint64().value_unsafe(); return true;
      case element_type::DOUBLE: out = value.get_double().value_unsafe(); return true;
      case element_type::STRING: out = std::string(value.get_string().value_unsafe()); return true;
      case element_type::BOOL: out = value.get_bool().value_unsafe(); return true;
      case element_type::NULL_VALUE: out = nullptr; return true;
      default: return false;
    }
  }
  static bool type_matches(std::uint8_t mask, const element& value) {
    switch (value.type()) {
      case element_type::OBJECT: return mask & kObjectBit;
      case element_type::ARRAY: return mask & kArrayBit;
      case element_type::STRING: return mask & kStringBit;
      case element_type::BOOL: return mask & kBooleanBit;
      case element_type::NULL_VALUE: return mask & kNullBit;
      case element_type::INT64:
      case element_type::UINT64: return mask & (kNumberBit | kIntegerBit);
      case element_type::DOUBLE:
        return detail::type_matches(mask, Json(value.get_double().value_unsafe()));
    }
    return false;
  }
  static Check equals(const Json& expected, const element& value) {
    Json actual;
    if (!scalar(value, actual)) return Check::kUndecided;
    return expected == actual ? Check::kPass : Check::kFail;
  }
  static Check in_enum(const Node& node, const element& value) {
    if (node.enum_only_strings) {
      return value.is_string() && node.enum_strings.contains(value.get_string().value_unsafe())
                 ? Check::kPass
                 : Check::kFail;
    }
    Json actual;
    if (!scalar(value, actual)) return Check::kUndecided;
    return detail::in_enum(node, actual) ? Check::kPass : Check::kFail;
  }
  static std::string_view string(const element& value) {
    return value.get_string().value_unsafe();
  }
  static bool number_passes(const Node& node, const element& value) {
    Json number;
    scalar(value, number);
    return detail::number_passes(node, number);
  }
  static std::size_t object_size(const element& value) {
    const simdjson::dom::object object = value.get_object().value_unsafe();
    return object.size();
  }
  template <class F>
  static bool for_each_member(const element& value, F&& f) {
    const simdjson::dom::object object = value.get_object().value_unsafe();
    for (const auto field : object) {
      if (!f(field.key, field.value)) return false;
    }
    return true;
  }
  static bool has_member(const element& value, std::string_view name) {
    const simdjson::dom::object object = value.get_object().value_unsafe();
    return object.at_key(name).error() == simdjson::SUCCESS;
  }
  template <class F>
  static Check key_passes(std::string_view, F&&) {
    return Check::kUndecided;  // a member name is no element of the document
  }
  static std::size_t array_size(const element& value) {
    const simdjson::dom::array array = value.get_array().value_unsafe();
    return array.size();
  }
  template <class F>
  static bool for_each_item(const element& value, F&& f) {
    std::size_t i = 0;
    const simdjson::dom::array array = value.get_array().value_unsafe();
    for (const element item : array) {
      if (!f(i++, item)) return false;
    }
    return true;
  }
  static Check items_unique(const element&) { return Check::kUndecided; }
};

}  // namespace
}  // namespace detail

bool validate_fast_dom(const CompiledSchema& schema, const simdjson::dom::element& instance) {
  const auto* program = dynamic_cast<const detail::Program*>(&schema);
  if (!program || !program->plain) return false;
  detail::FastWalker<detail::DomAccess> walker;
  return walker.run(*program->root, instance);
}

}  // namespace aisle::schema
