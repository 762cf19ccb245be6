// The schema compiler (internal to common/schema): JSON documents -> Program.
//
// Compilation runs in three steps:
//   1. index: every document (the root, then each remote or built-in document the first time a
//      $ref needs it) is walked once through its subschema positions, recording each schema's
//      base URI, location and resource, and every "$id", "$anchor" and "$dynamicAnchor";
//   2. compile: schemas become Nodes, lexically from the root (recursion bounded by the document
//      depth limit); a $ref records its target and is linked later, so chains and cycles of
//      $ref never deepen the recursion;
//   3. link: pending $ref targets are compiled and linked until none is left; with $dynamicRef,
//      every "$dynamicAnchor" of every loaded resource is compiled too.
// A Compiler is used for one compile() call on one thread.
#pragma once

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "common/schema/validator.hpp"
#include "common/schema/validator_node.hpp"

namespace aisle::schema::detail {

// Schema documents nested deeper than this (in JSON levels) are refused: the compiler recurses
// over the nesting, and so do nlohmann's comparisons of "const" and "enum" values.
inline constexpr std::size_t kMaxSchemaDepth = 256;

class Compiler {
 public:
  explicit Compiler(const CompileOptions& options) : options_(options) {}

  Result<CompiledSchemaPtr> run(const Json& document);

 private:
  // What indexing learnt about one schema (object or boolean) of a document.
  struct SchemaInfo {
    std::string base_uri;  // after applying the schema's own "$id"
    std::string location;  // see Node::location
    std::uint32_t resource = 0;
  };
  struct DynamicAnchor {
    std::uint32_t resource;
    std::string name;
    const Json* schema;
  };
  enum class RefKind { kRef, kDynamicRef };
  struct PendingRef {
    Node* node;
    const Json* target;
    RefKind kind;
  };

  // --- indexing (validator_compile.cpp)
  Status index_document(const Json& document, const std::string& retrieval_uri,
                        const std::string& location_prefix);
  Status index_schema(const Json& schema, std::string base_uri, const std::string& pointer,
                      const std::string& location_prefix, std::uint32_t resource,
                      bool document_root, const std::string& retrieval_uri);
  std::uint32_t add_resource(const std::string& uri);
  Status register_anchor(const Json& schema, const Json& name, const std::string& base_uri,
                         std::uint32_t resource, bool dynamic, const std::string& location);
  // Resolves a $ref / $dynamicRef value against `base_uri` to the schema it names, loading a
  // remote or built-in document when needed.
  Result<const Json*> resolve_reference(std::string_view reference, const std::string& base_uri,
                                        const std::string& keyword_location);
  void load_remote(const std::string& document_uri, Status& status);

  // --- compiling (validator_keywords.cpp)
  // The Node of a schema that indexing has seen, compiling it on first use.
  Result<const Node*> node_for(const Json& schema, const std::string& keyword_location);
  Status compile_keywords(const Json& schema, Node& node, const SchemaInfo& info);
  Status compile_keyword(const std::string& keyword, const Json& value, Node& node,
                         const SchemaInfo& info, const std::string& at);
  Status compile_applicator(const std::string& keyword, const Json& value, Node& node,
                            const std::string& at);
  Status compile_object_keyword(const std::string& keyword, const Json& value, Node& node,
                                const std::string& at);
  Status compile_array_keyword(const std::string& keyword, const Json& value, Node& node,
                               const std::string& at);
  Status compile_value_keyword(const std::string& keyword, const Json& value, Node& node,
                               const std::string& at);
  Status compile_reference(const std::string& keyword, const Json& value, Node& node,
                           const SchemaInfo& info, const std::string& at);
  Status finish_node(Node& node);
  // Compiles pending $ref targets (and dynamic anchors) until none is left.
  Status link();

  const CompileOptions& options_;
  std::unique_ptr<Program> program_ = std::make_unique<Program>();
  std::unordered_map<const Json*, SchemaInfo> info_;
  std::unordered_map<std::string, const Json*> resources_by_uri_;
  std::unordered_map<std::string, const Json*> anchors_;  // "<resource uri>#<name>"
  std::vector<DynamicAnchor> dynamic_anchors_;
  std::unordered_map<const Json*, Node*> compiled_;
  std::deque<PendingRef> pending_;
  std::set<std::string> attempted_documents_;
};

}  // namespace aisle::schema::detail
