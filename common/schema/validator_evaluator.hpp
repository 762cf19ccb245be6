// The evaluator (internal to common/schema): walks a Program's Nodes over one instance.
//
// One Evaluator per validate() call (it holds the per-call state: error sink, recursion depth,
// dynamic scope). With errors == nullptr it returns at the first failure and builds no strings;
// otherwise it keeps going and records every failure. (Programs without unevaluated* and
// $dynamicRef answer errors == nullptr with the leaner validate_fast() instead.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/schema/validator_node.hpp"

namespace aisle::schema::detail {

// More nested $ref / $dynamicRef evaluations than this on one path make the instance invalid
// with a "recursion limit" error (a $ref cycle that never reaches a different instance location
// would otherwise never end).
inline constexpr std::uint32_t kMaxRefDepth = 512;
// Bound on nested schema evaluations of any kind: keeps the stack use of validate() bounded
// (deep instances under recursive schemas) well below a thread's stack size.
inline constexpr std::uint32_t kMaxEvalDepth = 1024;

// Where in the instance an evaluation is: a linked list through the caller's stack frames, turned
// into a JSON Pointer only when an error is recorded.
struct InstanceLocation {
  const InstanceLocation* parent = nullptr;
  const std::string* key = nullptr;  // member name, or nullptr for the array element `index`
  std::size_t index = 0;
};

std::string pointer_of(const InstanceLocation* at);

// What an evaluation has "evaluated" at one instance location, for unevaluatedProperties and
// unevaluatedItems. Filled only when a caller asks (a non-null Annotations*).
struct Annotations {
  bool all_properties = false;
  std::vector<const Json*> properties;  // the member values evaluated (identity, not equality)
  bool all_items = false;
  std::size_t prefix_items = 0;        // items [0, prefix_items) were evaluated
  std::vector<std::size_t> contained;  // indexes matched by "contains"

  void merge(const Annotations& other);
};

class Evaluator {
 public:
  Evaluator(const Program& program, std::vector<ValidationError>* errors)
      : program_(program), errors_(errors), slow_(program.uses_dynamic_scope) {}

  bool run(const Node& root, const Json& instance);

 private:
  bool eval(const Node& node, const Json& value, const InstanceLocation* at, Annotations* ann);
  // eval() with the bookkeeping the common case skips: recursion limits, dynamic scope,
  // annotation collection for unevaluated*.
  bool eval_scoped(const Node& node, const Json& value, const InstanceLocation* at,
                   Annotations* ann);
  // Every keyword of the node except unevaluated*.
  bool eval_keywords(const Node& node, const Json& value, const InstanceLocation* at,
                     Annotations* ann);
  // eval() with errors suppressed (for if, not, contains, ... whose failures are not errors).
  bool probe(const Node& node, const Json& value, const InstanceLocation* at, Annotations* ann);
  // eval() of a subschema reached through `keyword` of `parent` at a member or element location
  // `at`; a false subschema reports "<adjective>property 'x' is not allowed" under the parent's
  // keyword instead of a bare "false".
  bool eval_child(const Node& parent, const char* keyword, const Node& child, const Json& value,
                  const InstanceLocation* at, const char* adjective = "");
  bool eval_boolean(const Node& node, const InstanceLocation* at);
  bool report_not_allowed(const Node& parent, const char* keyword, const InstanceLocation* at,
                          const char* adjective);

  // validator_eval_types.cpp
  void report_type(const Node& node, const Json& value, const InstanceLocation* at);
  bool eval_const_enum(const Node& node, const Json& value, const InstanceLocation* at);
  bool eval_number(const Node& node, const Json& value, const InstanceLocation* at);
  bool eval_string(const Node& node, const std::string& value, const InstanceLocation* at);
  bool eval_array(const Node& node, const Json& value, const InstanceLocation* at,
                  Annotations* ann);
  bool eval_contains(const Node& node, const Json::array_t& array, const InstanceLocation* at,
                     Annotations* ann);
  bool eval_object(const Node& node, const Json& value, const InstanceLocation* at,
                   Annotations* ann);
  bool eval_object_dependencies(const Node& node, const Json::object_t& object,
                                const InstanceLocation* at);

  // validator_eval.cpp
  bool eval_applicators(const Node& node, const Json& value, const InstanceLocation* at,
                        Annotations* ann);
  bool eval_reference(const Node& node, const Json& value, const InstanceLocation* at,
                      Annotations* ann);
  bool eval_any_of(const Node& node, const Json& value, const InstanceLocation* at,
                   Annotations* ann);
  bool eval_one_of(const Node& node, const Json& value, const InstanceLocation* at,
                   Annotations* ann);
  bool eval_unevaluated(const Node& node, const Json& value, const InstanceLocation* at,
                        Annotations& ann);

  // Records an error (only call with errors_ != nullptr).
  void report(const Node& node, std::string_view keyword, const InstanceLocation* at,
              std::string message);
  void hit_recursion_limit(const Node& node, const InstanceLocation* at);

  const Program& program_;
  std::vector<ValidationError>* errors_;
  std::uint32_t depth_ = 0;
  std::uint32_t ref_depth_ = 0;
  std::vector<std::uint32_t> scope_;  // resources entered, outermost first ($dynamicRef)
  bool slow_;                         // every eval() goes through eval_scoped()
  bool aborted_ = false;              // the recursion limit was hit: the result is "invalid"
  ValidationError abort_error_;
};

// The hot path, inline: most nodes need none of eval_scoped()'s bookkeeping.
inline bool Evaluator::eval(const Node& node, const Json& value, const InstanceLocation* at,
                            Annotations* ann) {
  if (node.kind != Node::Kind::kSchema) return eval_boolean(node, at);
  if (slow_ || node.collects_annotations || depth_ >= kMaxEvalDepth) {
    return eval_scoped(node, value, at, ann);
  }
  ++depth_;
  const bool ok = eval_keywords(node, value, at, ann);
  --depth_;
  return ok;
}

inline bool Evaluator::eval_child(const Node& parent, const char* keyword, const Node& child,
                                  const Json& value, const InstanceLocation* at,
                                  const char* adjective) {
  if (child.kind == Node::Kind::kTrue) return true;
  if (child.kind == Node::Kind::kFalse) return report_not_allowed(parent, keyword, at, adjective);
  return eval(child, value, at, nullptr);
}

// Short rendering of an instance value for messages: 'text' for strings, JSON otherwise,
// truncated.
std::string render(const Json& value);

}  // namespace aisle::schema::detail
