// Compiler: one schema object's keywords -> Node fields. Every keyword is either compiled, on the
// annotation allow-list (accepted and ignored), or refused with its name and location.
#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "common/schema/json_pointer.hpp"
#include "common/schema/uri.hpp"
#include "common/schema/validator_compiler.hpp"

namespace aisle::schema::detail {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

enum class Group {
  kAnnotation,  // accepted, no effect on validation
  kStructural,  // handled by indexing ($id, $anchor, $dynamicAnchor) or checked here ($schema)
  kReference,   // $ref, $dynamicRef
  kDefs,
  kApplicator,
  kObject,
  kArray,
  kValue,
};

const std::unordered_map<std::string_view, Group>& keyword_groups() {
  static const std::unordered_map<std::string_view, Group> kGroups = {
      // Annotations: documentation and hints for other tools. "format" is an annotation only
      // when CompileOptions::format_assertion is false (handled as a value keyword).
      {"$comment", Group::kAnnotation},
      {"$vocabulary", Group::kAnnotation},
      {"title", Group::kAnnotation},
      {"description", Group::kAnnotation},
      {"default", Group::kAnnotation},
      {"examples", Group::kAnnotation},
      {"deprecated", Group::kAnnotation},
      {"readOnly", Group::kAnnotation},
      {"writeOnly", Group::kAnnotation},
      {"contentEncoding", Group::kAnnotation},
      {"contentMediaType", Group::kAnnotation},
      {"$schema", Group::kStructural},
      {"$id", Group::kStructural},
      {"$anchor", Group::kStructural},
      {"$dynamicAnchor", Group::kStructural},
      {"$ref", Group::kReference},
      {"$dynamicRef", Group::kReference},
      {"$defs", Group::kDefs},
      {"allOf", Group::kApplicator},
      {"anyOf", Group::kApplicator},
      {"oneOf", Group::kApplicator},
      {"not", Group::kApplicator},
      {"if", Group::kApplicator},
      {"then", Group::kApplicator},
      {"else", Group::kApplicator},
      {"properties", Group::kObject},
      {"patternProperties", Group::kObject},
      {"additionalProperties", Group::kObject},
      {"propertyNames", Group::kObject},
      {"required", Group::kObject},
      {"minProperties", Group::kObject},
      {"maxProperties", Group::kObject},
      {"dependentRequired", Group::kObject},
      {"dependentSchemas", Group::kObject},
      {"unevaluatedProperties", Group::kObject},
      {"prefixItems", Group::kArray},
      {"items", Group::kArray},
      {"contains", Group::kArray},
      {"minContains", Group::kArray},
      {"maxContains", Group::kArray},
      {"minItems", Group::kArray},
      {"maxItems", Group::kArray},
      {"uniqueItems", Group::kArray},
      {"unevaluatedItems", Group::kArray},
      {"type", Group::kValue},
      {"enum", Group::kValue},
      {"const", Group::kValue},
      {"minimum", Group::kValue},
      {"maximum", Group::kValue},
      {"exclusiveMinimum", Group::kValue},
      {"exclusiveMaximum", Group::kValue},
      {"multipleOf", Group::kValue},
      {"minLength", Group::kValue},
      {"maxLength", Group::kValue},
      {"pattern", Group::kValue},
      {"format", Group::kValue},
  };
  return kGroups;
}

// Keywords of other drafts, refused with what to use instead.
const char* legacy_hint(std::string_view keyword) {
  if (keyword == "definitions") return "use $defs";
  if (keyword == "dependencies") return "use dependentRequired or dependentSchemas";
  if (keyword == "additionalItems") return "use items after prefixItems";
  if (keyword == "$recursiveRef" || keyword == "$recursiveAnchor") {
    return "use $dynamicRef / $dynamicAnchor";
  }
  return nullptr;
}

Result<std::uint64_t> non_negative_integer(const Json& value, const std::string& at) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (d >= 0 && d < 1.8e19 && std::trunc(d) == d) return static_cast<std::uint64_t>(d);
  }
  return invalid("must be a non-negative integer at " + at);
}

// "required" and "dependentRequired" lists: arrays of distinct strings.
Result<std::vector<std::string>> string_set(const Json& value, const std::string& at) {
  if (!value.is_array()) return invalid("must be an array of strings at " + at);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const Json& item : value) {
    if (!item.is_string()) return invalid("must be an array of strings at " + at);
    if (!seen.insert(item.get<std::string>()).second) {
      return invalid("duplicate '" + item.get<std::string>() + "' at " + at);
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::uint8_t type_bit(std::string_view name) {
  if (name == "null") return kNullBit;
  if (name == "boolean") return kBooleanBit;
  if (name == "object") return kObjectBit;
  if (name == "array") return kArrayBit;
  if (name == "number") return kNumberBit;
  if (name == "string") return kStringBit;
  if (name == "integer") return kIntegerBit;
  return 0;
}

std::string child_at(const std::string& at, std::string_view token) {
  std::string out = at;
  json_pointer::append(out, token);
  return out;
}

std::string child_at(const std::string& at, std::size_t index) {
  std::string out = at;
  json_pointer::append(out, index);
  return out;
}

}  // namespace

Status Compiler::compile_keywords(const Json& schema, Node& node, const SchemaInfo& info) {
  for (const auto& [keyword, value] : schema.items()) {
    const std::string at = child_at(info.location, keyword);
    if (Status s = compile_keyword(keyword, value, node, info, at); !s) return s;
  }
  return finish_node(node);
}

Status Compiler::compile_keyword(const std::string& keyword, const Json& value, Node& node,
                                 const SchemaInfo& info, const std::string& at) {
  const auto& groups = keyword_groups();
  const auto group = groups.find(keyword);
  if (group == groups.end()) {
    const char* hint = legacy_hint(keyword);
    return invalid("unsupported keyword '" + keyword + "' at " + at +
                   (hint ? std::string(" (") + hint + ")" : std::string()));
  }
  switch (group->second) {
    case Group::kAnnotation: return ok_status();
    case Group::kStructural:
      if (keyword == "$schema") {
        const bool supported =
            value.is_string() && (value == "https://json-schema.org/draft/2020-12/schema" ||
                                  value == "https://json-schema.org/draft/2020-12/schema#");
        if (!supported) {
          return invalid("unsupported $schema " +
                         value.dump(-1, ' ', false, Json::error_handler_t::replace) + " at " + at +
                         " (only https://json-schema.org/draft/2020-12/schema)");
        }
      }
      return ok_status();  // $id and anchors were checked by indexing
    case Group::kReference: return compile_reference(keyword, value, node, info, at);
    case Group::kDefs: {
      if (!value.is_object()) return invalid("$defs must be an object at " + at);
      for (const auto& [name, subschema] : value.items()) {
        auto compiled = node_for(subschema, child_at(at, name));  // checked even if unused
        if (!compiled) return compiled.error();
      }
      return ok_status();
    }
    case Group::kApplicator: return compile_applicator(keyword, value, node, at);
    case Group::kObject: return compile_object_keyword(keyword, value, node, at);
    case Group::kArray: return compile_array_keyword(keyword, value, node, at);
    case Group::kValue: return compile_value_keyword(keyword, value, node, at);
  }
  return ok_status();
}

Status Compiler::compile_reference(const std::string& keyword, const Json& value, Node& node,
                                   const SchemaInfo& info, const std::string& at) {
  if (!value.is_string()) return invalid(keyword + " must be a string at " + at);
  const std::string& reference = value.get_ref<const std::string&>();
  auto target = resolve_reference(reference, info.base_uri, at);
  if (!target) return target.error();
  node.has_applicators = true;
  if (keyword == "$ref") {
    pending_.push_back(PendingRef{&node, *target, RefKind::kRef});
    return ok_status();
  }
  DynamicRef dynamic_ref;
  dynamic_ref.anchor =
      uri::percent_decode(uri::fragment_of(uri::resolve(info.base_uri, reference)));
  // Dynamic only when the initially resolved schema has a matching "$dynamicAnchor" (the
  // "bookending" rule); otherwise it behaves exactly like $ref.
  const Json& resolved = **target;
  if (!dynamic_ref.anchor.empty() && dynamic_ref.anchor.front() != '/' && resolved.is_object()) {
    const auto anchor = resolved.find("$dynamicAnchor");
    dynamic_ref.dynamic = anchor != resolved.end() && *anchor == dynamic_ref.anchor;
  }
  if (dynamic_ref.dynamic) program_->uses_dynamic_scope = true;
  node.dynamic_ref = std::move(dynamic_ref);
  pending_.push_back(PendingRef{&node, *target, RefKind::kDynamicRef});
  return ok_status();
}

Status Compiler::compile_applicator(const std::string& keyword, const Json& value, Node& node,
                                    const std::string& at) {
  node.has_applicators = true;
  if (keyword == "allOf" || keyword == "anyOf" || keyword == "oneOf") {
    if (!value.is_array() || value.empty()) {
      return invalid(keyword + " must be a non-empty array of schemas at " + at);
    }
    auto& list =
        keyword == "allOf" ? node.all_of : (keyword == "anyOf" ? node.any_of : node.one_of);
    for (std::size_t i = 0; i < value.size(); ++i) {
      auto child = node_for(value[i], child_at(at, i));
      if (!child) return child.error();
      list.push_back(*child);
    }
    return ok_status();
  }
  auto child = node_for(value, at);
  if (!child) return child.error();
  if (keyword == "not") {
    node.not_schema = *child;
  } else if (keyword == "if") {
    node.if_schema = *child;
  } else if (keyword == "then") {
    node.then_schema = *child;
  } else {
    node.else_schema = *child;
  }
  return ok_status();
}

Status Compiler::compile_object_keyword(const std::string& keyword, const Json& value, Node& node,
                                        const std::string& at) {
  node.has_object = true;
  if (keyword == "dependentSchemas") node.has_applicators = true;  // evaluated in place
  if (keyword == "properties" || keyword == "patternProperties" || keyword == "dependentSchemas") {
    if (!value.is_object()) return invalid(keyword + " must be an object of schemas at " + at);
    for (const auto& [name, subschema] : value.items()) {
      auto child = node_for(subschema, child_at(at, name));
      if (!child) return child.error();
      if (keyword == "properties") {
        node.properties.push_back(PropertySchema{name, *child});
      } else if (keyword == "dependentSchemas") {
        node.dependent_schemas.push_back(PropertySchema{name, *child});
      } else {
        auto pattern = Pattern::compile(name);
        if (!pattern) return invalid(pattern.error().message + " at " + child_at(at, name));
        node.pattern_properties.push_back(PatternSchema{std::move(*pattern), *child});
      }
    }
    return ok_status();
  }
  if (keyword == "additionalProperties" || keyword == "propertyNames" ||
      keyword == "unevaluatedProperties") {
    auto child = node_for(value, at);
    if (!child) return child.error();
    if (keyword == "additionalProperties") {
      node.additional_properties = *child;
    } else if (keyword == "propertyNames") {
      node.property_names = *child;
    } else {
      node.unevaluated_properties = *child;
    }
    return ok_status();
  }
  if (keyword == "required") {
    auto names = string_set(value, at);
    if (!names) return names.error();
    for (auto& name : *names) node.required.push_back(RequiredName{std::move(name), -1});
    return ok_status();
  }
  if (keyword == "dependentRequired") {
    if (!value.is_object()) return invalid("dependentRequired must be an object at " + at);
    for (const auto& [name, list] : value.items()) {
      auto names = string_set(list, child_at(at, name));
      if (!names) return names.error();
      node.dependent_required.push_back(DependentRequired{name, std::move(*names)});
    }
    return ok_status();
  }
  auto count = non_negative_integer(value, at);
  if (!count) return count.error();
  (keyword == "minProperties" ? node.min_properties : node.max_properties) = *count;
  return ok_status();
}

Status Compiler::compile_array_keyword(const std::string& keyword, const Json& value, Node& node,
                                       const std::string& at) {
  node.has_array = true;
  if (keyword == "prefixItems") {
    if (!value.is_array() || value.empty()) {
      return invalid("prefixItems must be a non-empty array of schemas at " + at);
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      auto child = node_for(value[i], child_at(at, i));
      if (!child) return child.error();
      node.prefix_items.push_back(*child);
    }
    return ok_status();
  }
  if (keyword == "items" || keyword == "contains" || keyword == "unevaluatedItems") {
    if (keyword == "items" && value.is_array()) {
      return invalid("items must be a schema at " + at + " (use prefixItems for tuples)");
    }
    auto child = node_for(value, at);
    if (!child) return child.error();
    (keyword == "items" ? node.items
                        : (keyword == "contains" ? node.contains : node.unevaluated_items)) =
        *child;
    return ok_status();
  }
  if (keyword == "uniqueItems") {
    if (!value.is_boolean()) return invalid("uniqueItems must be a boolean at " + at);
    node.unique_items = value.get<bool>();
    return ok_status();
  }
  auto count = non_negative_integer(value, at);
  if (!count) return count.error();
  if (keyword == "minContains") {
    node.min_contains = *count;
  } else if (keyword == "maxContains") {
    node.max_contains = *count;
  } else if (keyword == "minItems") {
    node.min_items = *count;
  } else {
    node.max_items = *count;
  }
  return ok_status();
}

Status Compiler::compile_value_keyword(const std::string& keyword, const Json& value, Node& node,
                                       const std::string& at) {
  if (keyword == "type") {
    const auto add = [&](const Json& name) -> Status {
      const std::uint8_t bit = name.is_string() ? type_bit(name.get_ref<const std::string&>()) : 0;
      if (bit == 0) return invalid("type must name JSON Schema types at " + at);
      if (node.type_mask & bit) return invalid("duplicate type at " + at);
      node.type_mask |= bit;
      return ok_status();
    };
    if (value.is_array() && !value.empty()) {
      for (const Json& name : value) {
        if (Status s = add(name); !s) return s;
      }
      return ok_status();
    }
    return add(value);
  }
  if (keyword == "enum") {
    if (!value.is_array()) return invalid("enum must be an array at " + at);
    node.has_enum = true;
    node.enum_values.assign(value.begin(), value.end());
    return ok_status();
  }
  if (keyword == "const") {
    node.has_const = true;
    node.const_value = value;
    return ok_status();
  }
  if (keyword == "minLength" || keyword == "maxLength") {
    node.has_string = true;
    auto count = non_negative_integer(value, at);
    if (!count) return count.error();
    (keyword == "minLength" ? node.min_length : node.max_length) = *count;
    return ok_status();
  }
  if (keyword == "pattern") {
    node.has_string = true;
    if (!value.is_string()) return invalid("pattern must be a string at " + at);
    auto pattern = Pattern::compile(value.get_ref<const std::string&>());
    if (!pattern) return invalid(pattern.error().message + " at " + at);
    node.pattern = std::make_unique<Pattern>(std::move(*pattern));
    return ok_status();
  }
  if (keyword == "format") {
    if (!value.is_string()) return invalid("format must be a string at " + at);
    if (!options_.format_assertion) return ok_status();  // an annotation
    const auto format = format_from_name(value.get_ref<const std::string&>());
    if (!format) {
      return invalid("unsupported format '" + value.get<std::string>() + "' at " + at +
                     " (checked: date-time, date, time, email, hostname, ipv4, ipv6, uri, "
                     "uri-reference, uuid, regex)");
    }
    node.has_string = true;
    node.format = format;
    return ok_status();
  }
  // minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf
  if (!value.is_number()) return invalid(keyword + " must be a number at " + at);
  node.has_numeric = true;
  if (keyword == "multipleOf") {
    if (compare_numbers(value, Json(0)) <= 0) return invalid("multipleOf must be > 0 at " + at);
    node.multiple_of.set(value);
  } else if (keyword == "minimum") {
    node.minimum.set(value);
  } else if (keyword == "maximum") {
    node.maximum.set(value);
  } else if (keyword == "exclusiveMinimum") {
    node.exclusive_minimum.set(value);
  } else {
    node.exclusive_maximum.set(value);
  }
  return ok_status();
}

Status Compiler::finish_node(Node& node) {
  std::vector<std::string> names;
  for (const PropertySchema& property : node.properties) names.push_back(property.name);
  node.property_index.build(std::move(names));
  for (RequiredName& required : node.required) {
    required.property_index = node.property_index.find(required.name);
  }
  if (node.has_enum) {
    node.enum_only_strings = std::all_of(node.enum_values.begin(), node.enum_values.end(),
                                         [](const Json& v) { return v.is_string(); });
    if (node.enum_only_strings) {
      std::vector<std::string> strings;
      for (const Json& v : node.enum_values) strings.push_back(v.get<std::string>());
      node.enum_strings.build(std::move(strings));
    }
  }
  // then / else without if, and minContains / maxContains without contains, have no effect.
  if (!node.if_schema) node.then_schema = node.else_schema = nullptr;
  if (!node.contains) {
    node.min_contains = 1;
    node.max_contains = kUnlimited;
  }
  node.collects_annotations = node.unevaluated_items || node.unevaluated_properties;
  return ok_status();
}

}  // namespace aisle::schema::detail
