// libFuzzer target for the schema validator (common/schema/validator.hpp).
//
// Each input is parsed as JSON (nlohmann, no exceptions) and then
//   1. validated against two fixed, realistic schemas (a purchase event: the fast path; and one
//      with unevaluatedProperties, $dynamicRef and friends: the annotation-collecting path),
//      with and without error collection; the two answers must agree;
//   2. compiled as a schema itself: compile() must return a schema or an error, never crash or
//      hang; a schema that compiles is then used to validate the input.
// A disagreement between the fast path and the error path is a bug: the target traps.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/schema/validator.hpp"

namespace {

using aisle::schema::CompiledSchema;
using aisle::schema::CompiledSchemaPtr;
using aisle::schema::ValidationError;
using nlohmann::json;

const char* const kPurchaseSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["order_id", "items", "total", "currency"],
  "properties": {
    "order_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "transaction_type": {"enum": ["sale", "return", "void"]},
    "items": {
      "type": "array", "minItems": 1, "maxItems": 50,
      "items": {"$ref": "#/$defs/line_item"}
    },
    "total": {"$ref": "#/$defs/money"},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "store_id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
    "ordered_at": {"type": "string", "format": "date-time"},
    "customer": {
      "type": "object",
      "properties": {
        "email": {"type": "string", "format": "email"},
        "id": {"type": "string", "format": "uuid"},
        "ip": {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
        "site": {"type": "string", "format": "uri"}
      },
      "propertyNames": {"pattern": "^[a-z_]+$"},
      "maxProperties": 8
    },
    "coupons": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
    "tags": {"type": "array", "contains": {"const": "vip"}, "maxContains": 2},
    "channel": {"oneOf": [{"const": "pos"}, {"const": "web"}, {"type": "integer"}]},
    "discount": {"if": {"type": "number"}, "then": {"multipleOf": 0.01}, "else": {"type": "null"}}
  },
  "dependentRequired": {"coupons": ["transaction_type"]},
  "$defs": {
    "money": {"type": "number", "minimum": 0, "exclusiveMaximum": 1000000},
    "line_item": {
      "type": "object",
      "additionalProperties": false,
      "required": ["sku", "quantity", "unit_price"],
      "properties": {
        "sku": {"type": "string", "minLength": 1, "maxLength": 64},
        "name": {"type": "string", "maxLength": 256},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 10000},
        "unit_price": {"$ref": "#/$defs/money"},
        "gtin": {"type": "string", "pattern": "^[0-9]{14}$"},
        "category": {"type": "string", "pattern": "^\\p{L}[\\p{L}\\d/_-]*$"}
      }
    }
  }
})json";

const char* const kAnnotationSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://schemas.aisle.dev/fuzz/tree",
  "$dynamicAnchor": "node",
  "type": ["object", "array", "string", "number"],
  "properties": {"kind": {"enum": ["a", "b", 1, null]}, "children": {"items": {"$dynamicRef": "#node"}}},
  "allOf": [{"properties": {"id": {"type": "string"}}}],
  "anyOf": [{"required": ["kind"]}, {"prefixItems": [true, {"type": "number"}]}, {"type": "string"}, {"type": "number"}],
  "dependentSchemas": {"extra": {"properties": {"more": true}}},
  "unevaluatedProperties": {"type": "boolean"},
  "unevaluatedItems": false,
  "contains": {"type": "number"},
  "minContains": 0
})json";

CompiledSchemaPtr compile_fixed(const char* text) {
  auto compiled = CompiledSchema::compile(json::parse(text, nullptr, false));
  if (!compiled) std::abort();  // a broken fixed schema is a bug of this target
  return *compiled;
}

// Validates both ways; the answers must agree and an invalid instance must have errors.
void check(const CompiledSchemaPtr& schema, const json& instance) {
  const bool fast = schema->validate(instance);
  std::vector<ValidationError> errors;
  const bool full = schema->validate(instance, &errors);
  if (fast != full || full != errors.empty()) __builtin_trap();
  std::size_t total = 0;
  for (const ValidationError& error : errors) total += aisle::schema::to_string(error).size();
  if (!errors.empty() && total == 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const CompiledSchemaPtr purchase = compile_fixed(kPurchaseSchema);
  static const CompiledSchemaPtr annotations = compile_fixed(kAnnotationSchema);

  const json instance = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (instance.is_discarded()) return 0;
  check(purchase, instance);
  check(annotations, instance);

  // The input as a schema: remote references resolve to the input itself, so relative and
  // absolute $refs are exercised too.
  aisle::schema::CompileOptions options;
  options.format_assertion = size % 2 == 0;
  options.resolve_remote = [&instance](std::string_view) { return &instance; };
  auto compiled = CompiledSchema::compile(instance, options);
  if (compiled) check(*compiled, instance);
  return 0;
}
