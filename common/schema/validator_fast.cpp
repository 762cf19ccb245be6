// validate_fast: the yes/no walk behind validate(instance) without an error vector.
//
// The full Evaluator (validator_eval*.cpp) carries instance locations, an error sink and
// annotation sets through every call; this one carries nothing but the node and the value, and
// returns at the first failure. It applies to "plain" programs (no unevaluated*, no dynamic
// scope); it counts recursion exactly like the full evaluator, so both always agree (the unit
// tests and aisle-schema-suite check that they do).
#include "common/schema/validator_evaluator.hpp"

namespace aisle::schema::detail {
namespace {

class FastEvaluator {
 public:
  bool run(const Node& root, const Json& instance) {
    const bool ok = eval(root, instance);
    return ok && !aborted_;
  }

 private:
  bool eval(const Node& node, const Json& value) {
    if (node.kind != Node::Kind::kSchema) return node.kind == Node::Kind::kTrue;
    if (depth_ >= depth_limit_) {  // the limit drops to 0 once aborted
      abort();
      return false;
    }
    ++depth_;
    const bool ok = eval_keywords(node, value);
    --depth_;
    return ok;
  }

  // Kept small (the containers and applicators are out of line) so that the many leaf schemas
  // (a string, a number) cost a cheap call.
  bool eval_keywords(const Node& node, const Json& value);
  [[gnu::noinline]] bool eval_object(const Node& node, const Json::object_t& object);
  [[gnu::noinline]] bool eval_array(const Node& node, const Json::array_t& array);
  [[gnu::noinline]] bool eval_applicators(const Node& node, const Json& value);

  // The recursion limit was hit: the instance is invalid, and every further evaluation fails.
  void abort() {
    aborted_ = true;
    depth_limit_ = 0;
  }

  std::uint32_t depth_ = 0;
  std::uint32_t depth_limit_ = kMaxEvalDepth;
  std::uint32_t ref_depth_ = 0;
  bool aborted_ = false;
};

bool FastEvaluator::eval_keywords(const Node& node, const Json& value) {
  if (node.type_mask && !type_matches(node.type_mask, value)) return false;
  if (node.has_const && !(node.const_value == value)) return false;
  if (node.has_enum && !in_enum(node, value)) return false;
  switch (value.type()) {
    case Json::value_t::object:
      if (node.has_object && !eval_object(node, *value.get_ptr<const Json::object_t*>())) {
        return false;
      }
      break;
    case Json::value_t::array:
      if (node.has_array && !eval_array(node, *value.get_ptr<const Json::array_t*>())) {
        return false;
      }
      break;
    case Json::value_t::string:
      if (node.has_string && !string_passes(node, *value.get_ptr<const Json::string_t*>())) {
        return false;
      }
      break;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      if (node.has_numeric && !number_passes(node, value)) return false;
      break;
    default: break;
  }
  return !node.has_applicators || eval_applicators(node, value);
}

bool FastEvaluator::eval_object(const Node& node, const Json::object_t& object) {
  const std::size_t size = object.size();
  if (size < node.min_properties || size > node.max_properties) return false;
  const auto& properties = node.properties;
  const bool walk =
      !properties.empty() || !node.pattern_properties.empty() || node.additional_properties;
  std::uint64_t found = 0;
  if (walk) {
    for (const auto& [key, member] : object) {
      bool matched = false;
      const int index = node.property_index.find(key);
      if (index >= 0) {
        matched = true;
        if (index < 64) found |= std::uint64_t{1} << index;
        if (!eval(*properties[static_cast<std::size_t>(index)].schema, member)) return false;
      }
      for (const PatternSchema& pattern : node.pattern_properties) {
        if (!pattern.pattern.search(key)) continue;
        matched = true;
        if (!eval(*pattern.schema, member)) return false;
      }
      if (!matched && node.additional_properties && !eval(*node.additional_properties, member)) {
        return false;
      }
    }
  }
  for (const RequiredName& required : node.required) {
    const bool present = walk && required.property_index >= 0 && required.property_index < 64
                             ? ((found >> required.property_index) & 1) != 0
                             : object.find(required.name) != object.end();
    if (!present) return false;
  }
  for (const DependentRequired& dependent : node.dependent_required) {
    if (object.find(dependent.name) == object.end()) continue;
    for (const std::string& name : dependent.required) {
      if (object.find(name) == object.end()) return false;
    }
  }
  if (node.property_names) {
    for (const auto& entry : object) {
      if (!eval(*node.property_names, Json(entry.first))) return false;
    }
  }
  return true;
}

bool FastEvaluator::eval_array(const Node& node, const Json::array_t& array) {
  const std::size_t size = array.size();
  if (size < node.min_items || size > node.max_items) return false;
  std::size_t first = 0;
  std::size_t second = 0;
  if (node.unique_items && size > 1 && find_duplicate(array, first, second)) return false;
  const std::size_t prefix = std::min(size, node.prefix_items.size());
  for (std::size_t i = 0; i < prefix; ++i) {
    if (!eval(*node.prefix_items[i], array[i])) return false;
  }
  if (node.items) {
    for (std::size_t i = node.prefix_items.size(); i < size; ++i) {
      if (!eval(*node.items, array[i])) return false;
    }
  }
  if (node.contains) {
    std::uint64_t matches = 0;
    for (const Json& item : array) {
      if (!eval(*node.contains, item)) continue;
      ++matches;
      if ((matches >= node.min_contains && node.max_contains == kUnlimited) ||
          matches > node.max_contains) {
        break;  // the outcome is known
      }
    }
    if (matches < node.min_contains || matches > node.max_contains) return false;
  }
  return true;
}

bool FastEvaluator::eval_applicators(const Node& node, const Json& value) {
  if (node.ref || node.dynamic_ref) {
    if (ref_depth_ >= kMaxRefDepth) {
      abort();
      return false;
    }
    ++ref_depth_;
    // A plain program has no dynamic $dynamicRef: it behaves like $ref.
    const Node* target = node.ref ? node.ref : node.dynamic_ref->fallback;
    bool ok = eval(*target, value);
    if (ok && node.ref && node.dynamic_ref && node.dynamic_ref->fallback) {
      ok = eval(*node.dynamic_ref->fallback, value);
    }
    --ref_depth_;
    if (!ok) return false;
  }
  for (const Node* child : node.all_of) {
    if (!eval(*child, value)) return false;
  }
  if (!node.any_of.empty()) {
    bool matched = false;
    for (const Node* child : node.any_of) {
      if (eval(*child, value)) {
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  if (!node.one_of.empty()) {
    int matches = 0;
    for (const Node* child : node.one_of) {
      if (eval(*child, value) && ++matches > 1) return false;
    }
    if (matches != 1) return false;
  }
  if (node.not_schema && eval(*node.not_schema, value)) return false;
  if (node.if_schema && (node.then_schema || node.else_schema)) {
    if (eval(*node.if_schema, value)) {
      if (node.then_schema && !eval(*node.then_schema, value)) return false;
    } else if (node.else_schema && !eval(*node.else_schema, value)) {
      return false;
    }
  }
  if (!node.dependent_schemas.empty() && value.is_object()) {
    for (const PropertySchema& dependent : node.dependent_schemas) {
      if (value.contains(dependent.name) && !eval(*dependent.schema, value)) return false;
    }
  }
  return true;
}

}  // namespace

bool validate_fast(const Program& program, const Json& instance) {
  FastEvaluator evaluator;
  return evaluator.run(*program.root, instance);
}

}  // namespace aisle::schema::detail
