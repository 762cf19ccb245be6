// Compiler: indexing of documents, $ref resolution and linking (see validator_compiler.hpp).
#include "common/schema/json_pointer.hpp"
#include "common/schema/uri.hpp"
#include "common/schema/validator_compiler.hpp"

namespace aisle::schema {

namespace detail {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// Keywords whose value is one schema, an object of schemas, or an array of schemas: the places
// where indexing looks for subschemas (and so for "$id" and anchors). Nothing else is walked, so
// an "$id" inside "enum" or "examples" is data, as the specification says.
constexpr std::string_view kSchemaKeywords[] = {"additionalProperties",
                                                "propertyNames",
                                                "items",
                                                "contains",
                                                "not",
                                                "if",
                                                "then",
                                                "else",
                                                "unevaluatedItems",
                                                "unevaluatedProperties"};
constexpr std::string_view kSchemaMapKeywords[] = {"properties", "patternProperties", "$defs",
                                                   "dependentSchemas"};
constexpr std::string_view kSchemaArrayKeywords[] = {"allOf", "anyOf", "oneOf", "prefixItems"};

// Depth of nesting of `value` (1 for a scalar or an empty container), stopping as soon as it
// exceeds `limit`; `pointer` then names the too-deep place. Recursion is bounded by `limit`.
bool deeper_than(const Json& value, std::size_t limit, std::string& pointer) {
  if (!value.is_structured()) return false;
  if (limit == 0) return true;
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      if (deeper_than(child, limit - 1, pointer)) {
        std::string prefix;
        json_pointer::append(prefix, key);
        pointer.insert(0, prefix);
        return true;
      }
    }
    return false;
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (deeper_than(value[i], limit - 1, pointer)) {
      pointer.insert(0, "/" + std::to_string(i));
      return true;
    }
  }
  return false;
}

bool is_anchor_name(const std::string& name) {
  // ^[A-Za-z_][-A-Za-z0-9._]*$ (the 2020-12 meta-schema's anchorString)
  if (name.empty()) return false;
  const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (!letter(name.front()) && name.front() != '_') return false;
  for (const char c : name) {
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

// A schema that is nothing but a "$ref" (plus annotations).
bool is_alias(const Node& node) {
  return node.kind == Node::Kind::kSchema && node.ref && node.type_mask == 0 && !node.has_const &&
         !node.has_enum && !node.has_numeric && !node.has_string && !node.has_array &&
         !node.has_object && !node.dynamic_ref && node.all_of.empty() && node.any_of.empty() &&
         node.one_of.empty() && !node.not_schema && !node.if_schema && !node.collects_annotations;
}

// The schema an alias chain ends at; the alias itself when the chain is a cycle (evaluating it
// then ends at the recursion limit, as it must).
const Node* resolve_alias(const Node* node) {
  constexpr int kMaxHops = 64;
  const Node* current = node;
  for (int hops = 0; current && is_alias(*current); ++hops) {
    if (hops == kMaxHops) return node;
    current = current->ref;
  }
  return current;
}

template <typename Visit>
void for_each_child(Node& node, Visit&& visit) {
  visit(node.ref);
  if (node.dynamic_ref) visit(node.dynamic_ref->fallback);
  for (const Node*& child : node.prefix_items) visit(child);
  visit(node.items);
  visit(node.contains);
  visit(node.unevaluated_items);
  for (PropertySchema& property : node.properties) visit(property.schema);
  for (PatternSchema& pattern : node.pattern_properties) visit(pattern.schema);
  visit(node.additional_properties);
  visit(node.property_names);
  for (PropertySchema& dependent : node.dependent_schemas) visit(dependent.schema);
  visit(node.unevaluated_properties);
  for (const Node*& child : node.all_of) visit(child);
  for (const Node*& child : node.any_of) visit(child);
  for (const Node*& child : node.one_of) visit(child);
  visit(node.not_schema);
  visit(node.if_schema);
  visit(node.then_schema);
  visit(node.else_schema);
}

// Points every reference to a "$ref"-only schema at its final target, so that validation does
// not evaluate the alias ("items": {"$ref": "#/$defs/line_item"} costs one node, not two).
// Not done when $dynamicRef is in use: entering the alias's resource is part of the dynamic
// scope there.
void collapse_aliases(Program& program) {
  if (program.uses_dynamic_scope) return;
  for (const auto& node : program.nodes) {
    for_each_child(*node, [](const Node*& child) {
      if (child) child = resolve_alias(child);
    });
  }
  program.root = resolve_alias(program.root);
}

}  // namespace

Result<CompiledSchemaPtr> Compiler::run(const Json& document) {
  if (!document.is_object() && !document.is_boolean()) {
    return invalid("a schema must be a JSON object or a boolean");
  }
  if (Status indexed = index_document(document, options_.base_uri, ""); !indexed) {
    return indexed.error();
  }
  auto root = node_for(document, "");
  if (!root) return root.error();
  if (Status linked = link(); !linked) return linked.error();
  program_->root = *root;
  collapse_aliases(*program_);
  program_->plain = !program_->uses_dynamic_scope;
  for (const auto& node : program_->nodes) {
    if (node->collects_annotations) program_->plain = false;
  }
  return CompiledSchemaPtr(std::move(program_));
}

std::uint32_t Compiler::add_resource(const std::string& uri) {
  program_->resources.push_back(Resource{uri, {}});
  return static_cast<std::uint32_t>(program_->resources.size() - 1);
}

Status Compiler::index_document(const Json& document, const std::string& retrieval_uri,
                                const std::string& location_prefix) {
  if (info_.count(&document)) {
    // The same document under a second URI (a resolver may hand out one object twice).
    resources_by_uri_.emplace(retrieval_uri, &document);
    return ok_status();
  }
  std::string pointer;
  if (deeper_than(document, kMaxSchemaDepth, pointer)) {
    return invalid("schema nested deeper than " + std::to_string(kMaxSchemaDepth) + " levels at " +
                   location_prefix + pointer);
  }
  const std::uint32_t resource = add_resource(retrieval_uri);
  resources_by_uri_.emplace(retrieval_uri, &document);
  return index_schema(document, retrieval_uri, "", location_prefix, resource,
                      /*document_root=*/true, retrieval_uri);
}

Status Compiler::register_anchor(const Json& schema, const Json& name, const std::string& base_uri,
                                 std::uint32_t resource, bool dynamic,
                                 const std::string& location) {
  const char* keyword = dynamic ? "$dynamicAnchor" : "$anchor";
  if (!name.is_string() || !is_anchor_name(name.get_ref<const std::string&>())) {
    return invalid(std::string(keyword) +
                   " must be a name matching ^[A-Za-z_][-A-Za-z0-9._]*$ at " + location + "/" +
                   keyword);
  }
  const std::string& text = name.get_ref<const std::string&>();
  const auto [it, inserted] = anchors_.emplace(base_uri + "#" + text, &schema);
  if (!inserted && it->second != &schema) {
    return invalid("duplicate anchor '" + text + "' in '" + base_uri + "' at " + location + "/" +
                   keyword);
  }
  if (dynamic) dynamic_anchors_.push_back(DynamicAnchor{resource, text, &schema});
  return ok_status();
}

Status Compiler::index_schema(const Json& schema, std::string base_uri, const std::string& pointer,
                              const std::string& location_prefix, std::uint32_t resource,
                              bool document_root, const std::string& retrieval_uri) {
  const std::string location = location_prefix + pointer;
  if (!schema.is_object()) {
    if (schema.is_boolean()) info_[&schema] = SchemaInfo{base_uri, location, resource};
    return ok_status();  // anything else is reported when compiled
  }
  if (const auto id = schema.find("$id"); id != schema.end()) {
    if (!id->is_string()) return invalid("$id must be a string at " + location + "/$id");
    const std::string resolved = uri::resolve(base_uri, id->get_ref<const std::string&>());
    if (!uri::fragment_of(resolved).empty()) {
      return invalid("$id must not have a fragment (use $anchor) at " + location + "/$id");
    }
    base_uri = std::string(uri::strip_fragment(resolved));
    if (document_root) {
      program_->resources[resource].uri = base_uri;
    } else {
      resource = add_resource(base_uri);
    }
    const auto [it, inserted] = resources_by_uri_.emplace(base_uri, &schema);
    if (!inserted && it->second != &schema && !(document_root && base_uri == retrieval_uri)) {
      return invalid("duplicate $id '" + base_uri + "' at " + location + "/$id");
    }
  }
  for (const char* keyword : {"$anchor", "$dynamicAnchor"}) {
    if (const auto name = schema.find(keyword); name != schema.end()) {
      const bool dynamic = keyword[1] == 'd';
      if (Status s = register_anchor(schema, *name, base_uri, resource, dynamic, location); !s) {
        return s;
      }
    }
  }
  info_[&schema] = SchemaInfo{base_uri, location, resource};

  const auto child = [&](const Json& subschema, std::string child_pointer) {
    return index_schema(subschema, base_uri, child_pointer, location_prefix, resource, false,
                        retrieval_uri);
  };
  for (const std::string_view keyword : kSchemaKeywords) {
    const auto it = schema.find(keyword);
    if (it == schema.end()) continue;
    std::string child_pointer = pointer;
    json_pointer::append(child_pointer, keyword);
    if (Status s = child(*it, child_pointer); !s) return s;
  }
  for (const std::string_view keyword : kSchemaMapKeywords) {
    const auto it = schema.find(keyword);
    if (it == schema.end() || !it->is_object()) continue;
    for (const auto& [name, subschema] : it->items()) {
      std::string child_pointer = pointer;
      json_pointer::append(child_pointer, keyword);
      json_pointer::append(child_pointer, name);
      if (Status s = child(subschema, child_pointer); !s) return s;
    }
  }
  for (const std::string_view keyword : kSchemaArrayKeywords) {
    const auto it = schema.find(keyword);
    if (it == schema.end() || !it->is_array()) continue;
    for (std::size_t i = 0; i < it->size(); ++i) {
      std::string child_pointer = pointer;
      json_pointer::append(child_pointer, keyword);
      json_pointer::append(child_pointer, i);
      if (Status s = child((*it)[i], child_pointer); !s) return s;
    }
  }
  return ok_status();
}

void Compiler::load_remote(const std::string& document_uri, Status& status) {
  if (!attempted_documents_.insert(document_uri).second) return;
  const Json* document = builtin_metaschema(document_uri);
  if (!document && options_.resolve_remote) document = options_.resolve_remote(document_uri);
  if (!document) return;
  status = index_document(*document, document_uri, document_uri + "#");
}

Result<const Json*> Compiler::resolve_reference(std::string_view reference,
                                                const std::string& base_uri,
                                                const std::string& keyword_location) {
  const std::string absolute = uri::resolve(base_uri, reference);
  const std::string document_uri(uri::strip_fragment(absolute));
  const std::string fragment = uri::percent_decode(uri::fragment_of(absolute));
  auto it = resources_by_uri_.find(document_uri);
  if (it == resources_by_uri_.end()) {
    Status loaded;
    load_remote(document_uri, loaded);
    if (!loaded) return loaded.error();
    it = resources_by_uri_.find(document_uri);
  }
  const std::string what = "cannot resolve '" + std::string(reference) + "' at " + keyword_location;
  if (it == resources_by_uri_.end()) {
    return invalid(what + ": no schema is known as '" + document_uri + "'");
  }
  if (fragment.empty()) return it->second;
  if (fragment.front() == '/') {
    const Json* target = json_pointer::find(*it->second, fragment);
    if (!target) return invalid(what + ": '" + fragment + "' does not exist");
    if (!info_.count(target)) return invalid(what + ": '" + fragment + "' is not a schema");
    return target;
  }
  const auto anchor = anchors_.find(document_uri + "#" + fragment);
  if (anchor == anchors_.end()) {
    return invalid(what + ": no $anchor '" + fragment + "' in '" + document_uri + "'");
  }
  return anchor->second;
}

Result<const Node*> Compiler::node_for(const Json& schema, const std::string& keyword_location) {
  if (const auto found = compiled_.find(&schema); found != compiled_.end()) return found->second;
  if (!schema.is_object() && !schema.is_boolean()) {
    return invalid("a schema must be an object or a boolean at " +
                   (keyword_location.empty() ? std::string("the root") : keyword_location));
  }
  const auto info_it = info_.find(&schema);
  if (info_it == info_.end()) {
    return make_error(ErrorCode::kInternal, "schema at " + keyword_location + " was not indexed");
  }
  const SchemaInfo info = info_it->second;
  program_->nodes.push_back(std::make_unique<Node>());
  Node* node = program_->nodes.back().get();
  node->location = info.location;
  node->resource = info.resource;
  compiled_.emplace(&schema, node);
  if (schema.is_boolean()) {
    node->kind = schema.get<bool>() ? Node::Kind::kTrue : Node::Kind::kFalse;
    return node;
  }
  if (Status s = compile_keywords(schema, *node, info); !s) return s.error();
  return node;
}

Status Compiler::link() {
  std::size_t anchors_done = 0;
  while (true) {
    while (!pending_.empty()) {
      const PendingRef ref = pending_.front();
      pending_.pop_front();
      auto target = node_for(*ref.target, ref.node->location);
      if (!target) return target.error();
      if (ref.kind == RefKind::kRef) {
        ref.node->ref = *target;
      } else {
        ref.node->dynamic_ref->fallback = *target;
      }
    }
    if (!program_->uses_dynamic_scope || anchors_done == dynamic_anchors_.size()) break;
    // Any loaded resource may end up in the dynamic scope: compile every "$dynamicAnchor".
    while (anchors_done < dynamic_anchors_.size()) {
      const DynamicAnchor anchor = dynamic_anchors_[anchors_done++];
      auto target = node_for(*anchor.schema, "$dynamicAnchor '" + anchor.name + "'");
      if (!target) return target.error();
      program_->resources[anchor.resource].dynamic_anchors.emplace_back(anchor.name, *target);
    }
  }
  return ok_status();
}

}  // namespace detail

Result<CompiledSchemaPtr> CompiledSchema::compile(const nlohmann::json& document,
                                                  const CompileOptions& options) {
  detail::Compiler compiler(options);
  return compiler.run(document);
}

}  // namespace aisle::schema
