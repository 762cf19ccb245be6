// FastWalker: the yes/no walk behind validate(instance) without an error vector, written once
// for every document representation the validator reads.
//
// The full Evaluator (validator_eval*.cpp) carries instance locations, an error sink and
// annotation sets through every call; this one carries nothing but the node and the value, and
// returns at the first failure. It applies to "plain" programs (no unevaluated*, no dynamic
// scope); it counts recursion exactly like the full evaluator, so both always agree (the unit
// tests and aisle-schema-suite check that they do).
//
// `Access` adapts one document type (validator_fast.cpp: nlohmann::json; validator_simd.cpp:
// simdjson's DOM). A representation that cannot decide a keyword cheaply (JSON equality of
// containers, say) answers kUndecided; the walk then gives up (false), and the caller asks the
// full evaluator on a nlohmann tree. So a true answer is always exact; a false one is exact only
// when undecided() is false.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/schema/validator_evaluator.hpp"

namespace aisle::schema::detail {

enum class ValueKind : std::uint8_t { kObject, kArray, kString, kNumber, kOther };
enum class Check : std::uint8_t { kFail, kPass, kUndecided };

template <class Access>
class FastWalker {
 public:
  using Value = typename Access::Value;

  bool run(const Node& root, const Value& instance) {
    const bool ok = eval(root, instance);
    return ok && !aborted_;
  }
  // The walk met something Access could not decide: its false answer says nothing.
  bool undecided() const { return undecided_; }

 private:
  bool eval(const Node& node, const Value& value) {
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

  // A three-way answer folded into the walk: undecided stops everything.
  bool decided(Check check) {
    if (check == Check::kUndecided) {
      undecided_ = true;
      abort();
      return false;
    }
    return check == Check::kPass;
  }

  // Kept small (the containers and applicators are out of line) so that the many leaf schemas
  // (a string, a number) cost a cheap call.
  bool eval_keywords(const Node& node, const Value& value) {
    if (node.type_mask && !Access::type_matches(node.type_mask, value)) return false;
    if (node.has_const && !decided(Access::equals(node.const_value, value))) return false;
    if (node.has_enum && !decided(Access::in_enum(node, value))) return false;
    switch (Access::kind(value)) {
      case ValueKind::kObject:
        if (node.has_object && !eval_object(node, value)) return false;
        break;
      case ValueKind::kArray:
        if (node.has_array && !eval_array(node, value)) return false;
        break;
      case ValueKind::kString:
        if (node.has_string && !string_passes(node, Access::string(value))) return false;
        break;
      case ValueKind::kNumber:
        if (node.has_numeric && !Access::number_passes(node, value)) return false;
        break;
      case ValueKind::kOther: break;
    }
    return !node.has_applicators || eval_applicators(node, value);
  }

  [[gnu::noinline]] bool eval_object(const Node& node, const Value& object) {
    const std::size_t size = Access::object_size(object);
    // A DOM that keeps repeated member names counts them all: more than a nlohmann tree (which
    // keeps the last), so only maxProperties can be judged on its size.
    if (Access::kKeysMayRepeat && node.min_properties > 0 && !decided(Check::kUndecided)) {
      return false;
    }
    if (size < node.min_properties || size > node.max_properties) return false;
    const auto& properties = node.properties;
    const bool walk =
        !properties.empty() || !node.pattern_properties.empty() || node.additional_properties;
    std::uint64_t found = 0;
    if (walk) {
      const bool ok = Access::for_each_member(object, [&](std::string_view key,
                                                          const Value& member) {
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
        return matched || !node.additional_properties || eval(*node.additional_properties, member);
      });
      if (!ok) return false;
    }
    for (const RequiredName& required : node.required) {
      const bool present = walk && required.property_index >= 0 && required.property_index < 64
                               ? ((found >> required.property_index) & 1) != 0
                               : Access::has_member(object, required.name);
      if (!present) return false;
    }
    for (const DependentRequired& dependent : node.dependent_required) {
      if (!Access::has_member(object, dependent.name)) continue;
      for (const std::string& name : dependent.required) {
        if (!Access::has_member(object, name)) return false;
      }
    }
    if (node.property_names) {
      return Access::for_each_member(object, [&](std::string_view key, const Value&) {
        return decided(Access::key_passes(key, [&](const Value& key_value) {
          return eval(*node.property_names, key_value);
        }));
      });
    }
    return true;
  }

  [[gnu::noinline]] bool eval_array(const Node& node, const Value& array) {
    const std::size_t size = Access::array_size(array);
    if (size < node.min_items || size > node.max_items) return false;
    if (node.unique_items && size > 1 && !decided(Access::items_unique(array))) return false;
    const std::size_t prefix = node.prefix_items.size();
    if (prefix || node.items) {
      const bool ok = Access::for_each_item(array, [&](std::size_t i, const Value& item) {
        if (i < prefix) return eval(*node.prefix_items[i], item);
        return !node.items || eval(*node.items, item);
      });
      if (!ok) return false;
    }
    if (node.contains) {
      std::uint64_t matches = 0;
      Access::for_each_item(array, [&](std::size_t, const Value& item) {
        if (!eval(*node.contains, item)) return true;
        ++matches;
        // Stop once the outcome is known.
        return !((matches >= node.min_contains && node.max_contains == kUnlimited) ||
                 matches > node.max_contains);
      });
      if (matches < node.min_contains || matches > node.max_contains) return false;
    }
    return true;
  }

  [[gnu::noinline]] bool eval_applicators(const Node& node, const Value& value) {
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
    if (!node.dependent_schemas.empty() && Access::kind(value) == ValueKind::kObject) {
      for (const PropertySchema& dependent : node.dependent_schemas) {
        if (Access::has_member(value, dependent.name) && !eval(*dependent.schema, value)) {
          return false;
        }
      }
    }
    return true;
  }

  // The recursion limit was hit (or a keyword was undecided): the answer is false, and every
  // further evaluation fails.
  void abort() {
    aborted_ = true;
    depth_limit_ = 0;
  }

  std::uint32_t depth_ = 0;
  std::uint32_t depth_limit_ = kMaxEvalDepth;
  std::uint32_t ref_depth_ = 0;
  bool aborted_ = false;
  bool undecided_ = false;
};

}  // namespace aisle::schema::detail
