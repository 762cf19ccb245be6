// Evaluator: the assertions of one schema on one instance (type, enum, const, numbers, strings,
// arrays, objects). Messages are built only when errors are collected.
#include <algorithm>

#include "common/schema/validator_evaluator.hpp"
#include "common/schema/validator_unicode.hpp"

namespace aisle::schema::detail {
namespace {

const char* instance_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    default: return type_matches(kIntegerBit, value) ? "integer" : "number";
  }
}

std::string render_list(const std::vector<Json>& values) {
  constexpr std::size_t kMax = 120;
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::string item = render(values[i]);
    if (!out.empty() && out.size() + item.size() > kMax) {
      out += ", ... (" + std::to_string(values.size()) + " values)";
      break;
    }
    out += (i ? ", " : "") + item;
  }
  return out;
}

}  // namespace

bool in_enum(const Node& node, const Json& value) {
  if (node.enum_only_strings) {
    return value.is_string() && node.enum_strings.contains(value.get_ref<const std::string&>());
  }
  return std::any_of(node.enum_values.begin(), node.enum_values.end(),
                     [&](const Json& candidate) { return candidate == value; });
}

// The first pair of equal items (JSON equality: 1 == 1.0, objects by content), or false.
bool find_duplicate(const Json::array_t& array, std::size_t& first, std::size_t& second) {
  constexpr std::size_t kPairwiseLimit = 32;
  if (array.size() <= kPairwiseLimit) {
    for (std::size_t i = 0; i < array.size(); ++i) {
      for (std::size_t j = i + 1; j < array.size(); ++j) {
        if (array[i] == array[j]) {
          first = i;
          second = j;
          return true;
        }
      }
    }
    return false;
  }
  // Larger arrays: sort indexes by value (nlohmann orders numbers numerically across
  // representations, like its ==) and compare neighbours.
  std::vector<std::size_t> order(array.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return array[a] < array[b]; });
  for (std::size_t i = 1; i < order.size(); ++i) {
    if (array[order[i - 1]] == array[order[i]]) {
      first = std::min(order[i - 1], order[i]);
      second = std::max(order[i - 1], order[i]);
      return true;
    }
  }
  return false;
}

void Evaluator::report_type(const Node& node, const Json& value, const InstanceLocation* at) {
  report(node, "type", at,
         "must be " + type_names(node.type_mask) + " but is " + instance_type_name(value));
}

bool Evaluator::eval_const_enum(const Node& node, const Json& value, const InstanceLocation* at) {
  bool ok = true;
  if (node.has_const && !(node.const_value == value)) {
    if (!errors_) return false;
    ok = false;
    report(node, "const", at, "must be " + render(node.const_value) + " but is " + render(value));
  }
  if (node.has_enum && !in_enum(node, value)) {
    if (!errors_) return false;
    ok = false;
    report(node, "enum", at,
           "must be one of " + render_list(node.enum_values) + " but is " + render(value));
  }
  return ok;
}

bool number_passes(const Node& node, const Json& value) {
  return (!node.minimum || compare_to_limit(value, node.minimum) >= 0) &&
         (!node.maximum || compare_to_limit(value, node.maximum) <= 0) &&
         (!node.exclusive_minimum || compare_to_limit(value, node.exclusive_minimum) > 0) &&
         (!node.exclusive_maximum || compare_to_limit(value, node.exclusive_maximum) < 0) &&
         (!node.multiple_of || is_multiple_of(value, node.multiple_of.value));
}

bool string_passes_slow(const Node& node, std::string_view value) {
  const std::size_t bytes = value.size();
  if (bytes / 4 < node.min_length || bytes > node.max_length) {
    const std::size_t length = unicode::count_code_points(value);
    if (length < node.min_length || length > node.max_length) return false;
  }
  return (!node.pattern || node.pattern->search(value)) &&
         (!node.format || format_matches(*node.format, value));
}

bool Evaluator::eval_number(const Node& node, const Json& value, const InstanceLocation* at) {
  if (!errors_) return number_passes(node, value);
  bool ok = true;
  // Returns false when evaluation should stop (a failure on the fast path).
  const auto check = [&](const NumberLimit& limit, const char* keyword, bool passes,
                         const char* relation) {
    if (passes) return true;
    ok = false;
    if (errors_) {
      report(node, keyword, at,
             std::string("must be ") + relation + " " + render(limit.value) + " but is " +
                 render(value));
    }
    return errors_ != nullptr;
  };
  if (node.minimum &&
      !check(node.minimum, "minimum", compare_to_limit(value, node.minimum) >= 0, ">=")) {
    return false;
  }
  if (node.maximum &&
      !check(node.maximum, "maximum", compare_to_limit(value, node.maximum) <= 0, "<=")) {
    return false;
  }
  if (node.exclusive_minimum && !check(node.exclusive_minimum, "exclusiveMinimum",
                                       compare_to_limit(value, node.exclusive_minimum) > 0, ">")) {
    return false;
  }
  if (node.exclusive_maximum && !check(node.exclusive_maximum, "exclusiveMaximum",
                                       compare_to_limit(value, node.exclusive_maximum) < 0, "<")) {
    return false;
  }
  if (node.multiple_of && !check(node.multiple_of, "multipleOf",
                                 is_multiple_of(value, node.multiple_of.value), "a multiple of")) {
    return false;
  }
  return ok;
}

bool Evaluator::eval_string(const Node& node, const std::string& value,
                            const InstanceLocation* at) {
  if (!errors_) return string_passes(node, value);
  bool ok = true;
  // A code point takes 1 to 4 bytes: count them only when the byte length cannot decide.
  const std::size_t bytes = value.size();
  if (bytes / 4 < node.min_length || bytes > node.max_length) {
    const std::size_t length = unicode::count_code_points(value);
    if (length < node.min_length) {
      if (!errors_) return false;
      ok = false;
      report(node, "minLength", at,
             "must be at least " + std::to_string(node.min_length) + " characters long but is " +
                 std::to_string(length));
    }
    if (length > node.max_length) {
      if (!errors_) return false;
      ok = false;
      report(node, "maxLength", at,
             "must be at most " + std::to_string(node.max_length) + " characters long but is " +
                 std::to_string(length));
    }
  }
  if (node.pattern && !node.pattern->search(value)) {
    if (!errors_) return false;
    ok = false;
    report(node, "pattern", at,
           "must match the pattern '" + node.pattern->source() + "' but is " + render(value));
  }
  if (node.format && !format_matches(*node.format, value)) {
    if (!errors_) return false;
    ok = false;
    report(
        node, "format", at,
        std::string("must be a valid ") + format_name(*node.format) + " but is " + render(value));
  }
  return ok;
}

bool Evaluator::eval_array(const Node& node, const Json& value, const InstanceLocation* at,
                           Annotations* ann) {
  const auto& array = value.get_ref<const Json::array_t&>();
  const std::size_t size = array.size();
  bool ok = true;
  const auto fail = [&](const char* keyword, const std::string& message) {
    ok = false;
    if (errors_) report(node, keyword, at, message);
    return errors_ != nullptr;
  };
  if (size < node.min_items &&
      !fail("minItems", "must have at least " + std::to_string(node.min_items) + " items but has " +
                            std::to_string(size))) {
    return false;
  }
  if (size > node.max_items &&
      !fail("maxItems", "must have at most " + std::to_string(node.max_items) + " items but has " +
                            std::to_string(size))) {
    return false;
  }
  std::size_t first = 0;
  std::size_t second = 0;
  if (node.unique_items && size > 1 && find_duplicate(array, first, second) &&
      !fail("uniqueItems",
            "items " + std::to_string(first) + " and " + std::to_string(second) + " are equal")) {
    return false;
  }
  const std::size_t prefix = std::min(size, node.prefix_items.size());
  for (std::size_t i = 0; i < prefix; ++i) {
    const InstanceLocation child{at, nullptr, i};
    if (!eval_child(node, "prefixItems", *node.prefix_items[i], array[i], &child)) {
      ok = false;
      if (!errors_) return false;
    }
  }
  if (node.items) {
    for (std::size_t i = node.prefix_items.size(); i < size; ++i) {
      const InstanceLocation child{at, nullptr, i};
      if (!eval_child(node, "items", *node.items, array[i], &child)) {
        ok = false;
        if (!errors_) return false;
      }
    }
  }
  if (ann) {
    ann->prefix_items = std::max(ann->prefix_items, prefix);
    if (node.items && size > node.prefix_items.size()) ann->all_items = true;
  }
  if (node.contains && !eval_contains(node, array, at, ann)) ok = false;
  return ok;
}

bool Evaluator::eval_contains(const Node& node, const Json::array_t& array,
                              const InstanceLocation* at, Annotations* ann) {
  std::uint64_t matches = 0;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const InstanceLocation child{at, nullptr, i};
    if (!probe(*node.contains, array[i], &child, nullptr)) continue;
    ++matches;
    if (ann) {
      ann->contained.push_back(i);
    } else if ((matches >= node.min_contains && node.max_contains == kUnlimited) ||
               matches > node.max_contains) {
      break;  // the outcome is known
    }
  }
  bool ok = true;
  if (matches < node.min_contains) {
    ok = false;
    if (errors_) {
      report(node, node.min_contains == 1 ? "contains" : "minContains", at,
             "must contain at least " + std::to_string(node.min_contains) +
                 " matching item(s) but contains " + std::to_string(matches));
    }
  }
  if (matches > node.max_contains) {
    ok = false;
    if (errors_) {
      report(node, "maxContains", at,
             "must contain at most " + std::to_string(node.max_contains) +
                 " matching item(s) but contains " + std::to_string(matches));
    }
  }
  return ok;
}

bool Evaluator::eval_object(const Node& node, const Json& value, const InstanceLocation* at,
                            Annotations* ann) {
  const auto& object = value.get_ref<const Json::object_t&>();
  const std::size_t size = object.size();
  bool ok = true;
  if (size < node.min_properties) {
    if (!errors_) return false;
    ok = false;
    report(node, "minProperties", at,
           "must have at least " + std::to_string(node.min_properties) + " properties but has " +
               std::to_string(size));
  }
  if (size > node.max_properties) {
    if (!errors_) return false;
    ok = false;
    report(node, "maxProperties", at,
           "must have at most " + std::to_string(node.max_properties) + " properties but has " +
               std::to_string(size));
  }
  // One pass over the members; `found` remembers which of the first 64 listed properties are
  // present, for "required".
  const auto& properties = node.properties;
  const bool walk =
      !properties.empty() || !node.pattern_properties.empty() || node.additional_properties;
  std::uint64_t found = 0;
  if (walk) {
    for (const auto& [key, member] : object) {
      const InstanceLocation child{at, &key, 0};
      bool matched = false;
      const int index = node.property_index.find(key);
      if (index >= 0) {
        matched = true;
        if (index < 64) found |= std::uint64_t{1} << index;
        if (!eval_child(node, "properties", *properties[static_cast<std::size_t>(index)].schema,
                        member, &child)) {
          ok = false;
          if (!errors_) return false;
        }
      }
      for (const PatternSchema& pattern : node.pattern_properties) {
        if (!pattern.pattern.search(key)) continue;
        matched = true;
        if (!eval_child(node, "patternProperties", *pattern.schema, member, &child)) {
          ok = false;
          if (!errors_) return false;
        }
      }
      if (!matched && node.additional_properties &&
          !eval_child(node, "additionalProperties", *node.additional_properties, member, &child,
                      "unknown ")) {
        ok = false;
        if (!errors_) return false;
      }
      if (ann && matched && !node.additional_properties) ann->properties.push_back(&member);
    }
    if (ann && node.additional_properties) ann->all_properties = true;
  }
  for (const RequiredName& required : node.required) {
    const bool present = walk && required.property_index >= 0 && required.property_index < 64
                             ? ((found >> required.property_index) & 1) != 0
                             : object.find(required.name) != object.end();
    if (present) continue;
    if (!errors_) return false;
    ok = false;
    const InstanceLocation child{at, &required.name, 0};
    report(node, "required", &child, "missing property '" + required.name + "'");
  }
  if ((!node.dependent_required.empty() || node.property_names) &&
      !eval_object_dependencies(node, object, at)) {
    ok = false;
  }
  return ok;
}

bool Evaluator::eval_object_dependencies(const Node& node, const Json::object_t& object,
                                         const InstanceLocation* at) {
  bool ok = true;
  for (const DependentRequired& dependent : node.dependent_required) {
    if (object.find(dependent.name) == object.end()) continue;
    for (const std::string& name : dependent.required) {
      if (object.find(name) != object.end()) continue;
      if (!errors_) return false;
      ok = false;
      const InstanceLocation child{at, &name, 0};
      report(node, "dependentRequired", &child,
             "missing property '" + name + "' (required when '" + dependent.name + "' is present)");
    }
  }
  if (node.property_names && node.property_names->kind != Node::Kind::kTrue) {
    for (const auto& [key, member] : object) {
      (void)member;
      if (node.property_names->kind == Node::Kind::kFalse) {
        if (!errors_) return false;
        ok = false;
        report(node, "propertyNames", at, "property name '" + key + "' is not allowed");
        continue;
      }
      const Json name(key);
      std::vector<ValidationError> name_errors;
      std::vector<ValidationError>* saved = errors_;
      errors_ = saved ? &name_errors : nullptr;
      const bool valid = eval(*node.property_names, name, at, nullptr);
      errors_ = saved;
      if (valid) continue;
      if (!errors_) return false;
      ok = false;
      for (ValidationError& error : name_errors) {
        error.message = "property name '" + key + "': " + error.message;
        errors_->push_back(std::move(error));
      }
    }
  }
  return ok;
}

}  // namespace aisle::schema::detail
