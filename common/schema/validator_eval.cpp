// Evaluator: the per-node driver, in-place applicators ($ref, allOf, anyOf, oneOf, not,
// if/then/else, dependentSchemas) and unevaluatedProperties / unevaluatedItems.
#include <algorithm>

#include "common/schema/json_pointer.hpp"
#include "common/schema/validator_evaluator.hpp"

namespace aisle::schema {

std::string to_string(const ValidationError& error) {
  return (error.instance_path.empty() ? std::string("/") : error.instance_path) + ": " +
         error.keyword + ": " + error.message;
}

namespace detail {

std::string pointer_of(const InstanceLocation* at) {
  std::vector<const InstanceLocation*> chain;
  for (const InstanceLocation* p = at; p; p = p->parent) chain.push_back(p);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if ((*it)->key) {
      json_pointer::append(out, *(*it)->key);
    } else {
      json_pointer::append(out, (*it)->index);
    }
  }
  return out;
}

void Annotations::merge(const Annotations& other) {
  all_properties = all_properties || other.all_properties;
  if (!all_properties) {
    properties.insert(properties.end(), other.properties.begin(), other.properties.end());
  }
  all_items = all_items || other.all_items;
  prefix_items = std::max(prefix_items, other.prefix_items);
  if (!all_items) contained.insert(contained.end(), other.contained.begin(), other.contained.end());
}

std::string render(const Json& value) {
  constexpr std::size_t kMax = 64;
  std::string text = value.is_string() ? "'" + value.get_ref<const std::string&>() + "'"
                                       : value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMax) {
    std::size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
    text = text.substr(0, cut) + "...";
  }
  return text;
}

bool Program::validate(const nlohmann::json& instance, std::vector<ValidationError>* errors) const {
  // Valid instances are the common case: answer them on the fast path, and walk again with
  // locations and messages only when there is something to report.
  if (plain && validate_fast(*this, instance)) return true;
  if (!errors && plain) return false;
  Evaluator evaluator(*this, errors);
  return evaluator.run(*root, instance);
}

bool Evaluator::run(const Node& root, const Json& instance) {
  const std::size_t errors_before = errors_ ? errors_->size() : 0;
  bool ok = eval(root, instance, nullptr, nullptr);
  if (aborted_) {
    ok = false;
    if (errors_) errors_->push_back(abort_error_);
  }
  if (!ok && errors_ && errors_->size() == errors_before) {
    // Every failing check reports; this only guards the contract "invalid => an error".
    errors_->push_back(ValidationError{"", "false", root.location, "the instance is invalid"});
  }
  return ok;
}

void Evaluator::report(const Node& node, std::string_view keyword, const InstanceLocation* at,
                       std::string message) {
  std::string schema_path = node.location;
  if (!keyword.empty() && keyword != "false") {
    schema_path.push_back('/');
    schema_path.append(keyword);
  }
  errors_->push_back(ValidationError{pointer_of(at), std::string(keyword), std::move(schema_path),
                                     std::move(message)});
}

void Evaluator::hit_recursion_limit(const Node& node, const InstanceLocation* at) {
  if (aborted_) return;
  aborted_ = true;
  slow_ = true;  // eval_scoped() checks aborted_
  abort_error_ = ValidationError{pointer_of(at), "$ref", node.location,
                                 "recursion limit: more than " + std::to_string(kMaxRefDepth) +
                                     " nested $ref or " + std::to_string(kMaxEvalDepth) +
                                     " nested schema evaluations"};
}

bool Evaluator::probe(const Node& node, const Json& value, const InstanceLocation* at,
                      Annotations* ann) {
  std::vector<ValidationError>* saved = errors_;
  errors_ = nullptr;
  const bool ok = eval(node, value, at, ann);
  errors_ = saved;
  return ok;
}

bool Evaluator::report_not_allowed(const Node& parent, const char* keyword,
                                   const InstanceLocation* at, const char* adjective) {
  if (errors_) {
    const std::string what =
        at->key ? "property '" + *at->key + "'" : "item " + std::to_string(at->index);
    report(parent, keyword, at, std::string(adjective) + what + " is not allowed");
  }
  return false;
}

bool Evaluator::eval_boolean(const Node& node, const InstanceLocation* at) {
  if (node.kind == Node::Kind::kTrue) return true;
  if (errors_) report(node, "false", at, "no value is allowed here (the schema is false)");
  return false;
}

bool Evaluator::eval_scoped(const Node& node, const Json& value, const InstanceLocation* at,
                            Annotations* ann) {
  if (aborted_) return false;
  if (depth_ >= kMaxEvalDepth) {
    hit_recursion_limit(node, at);
    return false;
  }
  // Entering a node of another schema resource extends the dynamic scope ($dynamicRef).
  const bool enter_scope =
      program_.uses_dynamic_scope && (scope_.empty() || scope_.back() != node.resource);
  if (enter_scope) scope_.push_back(node.resource);
  ++depth_;
  bool ok = true;
  if (node.collects_annotations) {
    Annotations local;
    ok = eval_keywords(node, value, at, &local);
    if ((ok || errors_) && !eval_unevaluated(node, value, at, local)) ok = false;
    if (ok && ann) ann->merge(local);
  } else {
    ok = eval_keywords(node, value, at, ann);
  }
  --depth_;
  if (enter_scope) scope_.pop_back();
  return ok;
}

bool Evaluator::eval_keywords(const Node& node, const Json& value, const InstanceLocation* at,
                              Annotations* ann) {
  bool ok = true;
  if (node.type_mask && !type_matches(node.type_mask, value)) {
    if (!errors_) return false;
    ok = false;
    report_type(node, value, at);
  }
  if ((node.has_const || node.has_enum) && !eval_const_enum(node, value, at)) {
    if (!errors_) return false;
    ok = false;
  }
  switch (value.type()) {
    case Json::value_t::object:
      if (node.has_object && !eval_object(node, value, at, ann)) ok = false;
      break;
    case Json::value_t::array:
      if (node.has_array && !eval_array(node, value, at, ann)) ok = false;
      break;
    case Json::value_t::string:
      if (node.has_string && !eval_string(node, value.get_ref<const std::string&>(), at)) {
        ok = false;
      }
      break;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      if (node.has_numeric && !eval_number(node, value, at)) ok = false;
      break;
    default: break;
  }
  if (!ok && !errors_) return false;
  if (node.has_applicators && !eval_applicators(node, value, at, ann)) ok = false;
  return ok;
}

bool Evaluator::eval_reference(const Node& node, const Json& value, const InstanceLocation* at,
                               Annotations* ann) {
  if (ref_depth_ >= kMaxRefDepth) {
    hit_recursion_limit(node, at);
    return false;
  }
  ++ref_depth_;
  bool ok = true;
  if (node.ref) ok = eval(*node.ref, value, at, ann);
  if (node.dynamic_ref && (ok || errors_)) {
    const DynamicRef& dynamic_ref = *node.dynamic_ref;
    const Node* target = dynamic_ref.fallback;
    if (dynamic_ref.dynamic) {
      // The outermost resource in the dynamic scope with a matching "$dynamicAnchor" wins.
      bool found = false;
      for (const std::uint32_t resource : scope_) {
        for (const auto& [name, anchor_node] : program_.resources[resource].dynamic_anchors) {
          if (name == dynamic_ref.anchor) {
            target = anchor_node;
            found = true;
            break;
          }
        }
        if (found) break;
      }
    }
    if (target && !eval(*target, value, at, ann)) ok = false;
  }
  --ref_depth_;
  return ok;
}

bool Evaluator::eval_applicators(const Node& node, const Json& value, const InstanceLocation* at,
                                 Annotations* ann) {
  bool ok = true;
  const auto failed = [&] {
    ok = false;
    return errors_ == nullptr;  // stop early on the fast path
  };
  if ((node.ref || node.dynamic_ref) && !eval_reference(node, value, at, ann) && failed()) {
    return false;
  }
  for (const Node* child : node.all_of) {
    if (!eval(*child, value, at, ann) && failed()) return false;
  }
  if (!node.any_of.empty() && !eval_any_of(node, value, at, ann) && failed()) return false;
  if (!node.one_of.empty() && !eval_one_of(node, value, at, ann) && failed()) return false;
  if (node.not_schema && probe(*node.not_schema, value, at, nullptr)) {
    if (errors_) report(node, "not", at, "must not match the schema in 'not'");
    if (failed()) return false;
  }
  if (node.if_schema && (node.then_schema || node.else_schema || ann)) {
    // The annotations of "if" count when it matches, even without then / else.
    Annotations if_annotations;
    if (probe(*node.if_schema, value, at, ann ? &if_annotations : nullptr)) {
      if (ann) ann->merge(if_annotations);
      if (node.then_schema && !eval(*node.then_schema, value, at, ann) && failed()) return false;
    } else if (node.else_schema && !eval(*node.else_schema, value, at, ann) && failed()) {
      return false;
    }
  }
  if (!node.dependent_schemas.empty() && value.is_object()) {
    for (const PropertySchema& dependent : node.dependent_schemas) {
      if (!value.contains(dependent.name)) continue;
      if (!eval(*dependent.schema, value, at, ann) && failed()) return false;
    }
  }
  return ok;
}

namespace {

// "(0: /a: type: must be string but is integer; 1: ...)": why each alternative failed.
std::string alternatives_detail(const std::vector<std::string>& first_errors) {
  std::string out;
  for (std::size_t i = 0; i < first_errors.size(); ++i) {
    if (first_errors[i].empty()) continue;
    out += out.empty() ? " (" : "; ";
    out += std::to_string(i) + ": " + first_errors[i];
  }
  return out.empty() ? out : out + ")";
}

}  // namespace

bool Evaluator::eval_any_of(const Node& node, const Json& value, const InstanceLocation* at,
                            Annotations* ann) {
  std::vector<std::string> first_errors;
  std::vector<ValidationError>* saved = errors_;
  bool matched = false;
  for (const Node* child : node.any_of) {
    Annotations branch;
    std::vector<ValidationError> branch_errors;
    errors_ = saved && !matched ? &branch_errors : nullptr;
    const bool ok = eval(*child, value, at, ann ? &branch : nullptr);
    errors_ = saved;
    if (ok) {
      matched = true;
      if (!ann) break;  // every matching branch's annotations count; otherwise one is enough
      ann->merge(branch);
    } else if (saved) {
      first_errors.push_back(branch_errors.empty() ? std::string() : to_string(branch_errors[0]));
    }
  }
  if (!matched && errors_) {
    report(node, "anyOf", at,
           "must match at least one of " + std::to_string(node.any_of.size()) + " schemas" +
               alternatives_detail(first_errors));
  }
  return matched;
}

bool Evaluator::eval_one_of(const Node& node, const Json& value, const InstanceLocation* at,
                            Annotations* ann) {
  std::vector<std::string> first_errors;
  std::vector<std::size_t> matches;
  Annotations matched_annotations;
  std::vector<ValidationError>* saved = errors_;
  for (std::size_t i = 0; i < node.one_of.size(); ++i) {
    Annotations branch;
    std::vector<ValidationError> branch_errors;
    errors_ = saved ? &branch_errors : nullptr;
    const bool ok = eval(*node.one_of[i], value, at, ann ? &branch : nullptr);
    errors_ = saved;
    if (ok) {
      matches.push_back(i);
      if (ann && matches.size() == 1) matched_annotations = std::move(branch);
      if (matches.size() > 1 && !saved) return false;
    }
    first_errors.push_back(ok || branch_errors.empty() ? std::string()
                                                       : to_string(branch_errors[0]));
  }
  if (matches.size() == 1) {
    if (ann) ann->merge(matched_annotations);
    return true;
  }
  if (errors_) {
    const std::string count = std::to_string(node.one_of.size());
    if (matches.empty()) {
      report(node, "oneOf", at,
             "must match exactly one of " + count + " schemas but matches none" +
                 alternatives_detail(first_errors));
    } else {
      std::string which;
      for (const std::size_t i : matches) which += (which.empty() ? "" : ", ") + std::to_string(i);
      report(node, "oneOf", at,
             "must match exactly one of " + count + " schemas but matches " +
                 std::to_string(matches.size()) + " (" + which + ")");
    }
  }
  return false;
}

bool Evaluator::eval_unevaluated(const Node& node, const Json& value, const InstanceLocation* at,
                                 Annotations& ann) {
  bool ok = true;
  if (node.unevaluated_properties && value.is_object() && !ann.all_properties) {
    std::sort(ann.properties.begin(), ann.properties.end());
    for (const auto& [key, member] : value.get_ref<const Json::object_t&>()) {
      if (std::binary_search(ann.properties.begin(), ann.properties.end(), &member)) continue;
      const InstanceLocation child{at, &key, 0};
      if (!eval_child(node, "unevaluatedProperties", *node.unevaluated_properties, member, &child,
                      "unevaluated ")) {
        ok = false;
        if (!errors_) return false;
      }
    }
  }
  if (node.unevaluated_properties) ann.all_properties = true;
  if (node.unevaluated_items && value.is_array() && !ann.all_items) {
    std::sort(ann.contained.begin(), ann.contained.end());
    const auto& array = value.get_ref<const Json::array_t&>();
    for (std::size_t i = ann.prefix_items; i < array.size(); ++i) {
      if (std::binary_search(ann.contained.begin(), ann.contained.end(), i)) continue;
      const InstanceLocation child{at, nullptr, i};
      if (!eval_child(node, "unevaluatedItems", *node.unevaluated_items, array[i], &child,
                      "unevaluated ")) {
        ok = false;
        if (!errors_) return false;
      }
    }
  }
  if (node.unevaluated_items) ann.all_items = true;
  return ok;
}

}  // namespace detail
}  // namespace aisle::schema
