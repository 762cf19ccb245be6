// A compiled JSON Schema (draft 2020-12) validator.
//
// A schema document is compiled once into an immutable validation tree; validating an instance
// walks that tree. Compiled schemas are immutable and safe to share between threads.
//
// What compile() accepts (anything else is refused with the keyword's name and JSON Pointer,
// never silently ignored):
//   - assertions and applicators: type enum const properties required additionalProperties
//     patternProperties propertyNames items prefixItems contains minContains maxContains
//     minItems maxItems uniqueItems minimum maximum exclusiveMinimum exclusiveMaximum multipleOf
//     minLength maxLength pattern minProperties maxProperties dependentRequired dependentSchemas
//     allOf anyOf oneOf not if then else unevaluatedProperties unevaluatedItems format;
//   - identifiers and references: $id $anchor $ref $defs $dynamicRef $dynamicAnchor, boolean
//     schemas; "$schema" must be https://json-schema.org/draft/2020-12/schema (other dialects
//     are refused). The draft 2020-12 meta-schemas are built in (validator_metaschema.cpp);
//     other documents come from CompileOptions::resolve_remote;
//   - annotations, accepted and ignored: $comment $vocabulary title description default
//     examples deprecated readOnly writeOnly contentEncoding contentMediaType.
// "format" asserts date-time, date, time, email, hostname, ipv4, ipv6, uri, uri-reference, uuid
// and regex; with format_assertion an unknown format is refused, without it any is accepted.
// "pattern" is ECMA-262 with Unicode semantics, minus lookaround and backreferences (refused;
// see validator_regex.hpp). Schema documents nested deeper than 256 levels are refused.
//
// Validation is bounded: an evaluation deeper than 512 nested $ref or 1024 nested schemas
// (a $ref cycle that never reaches new data, a hostile instance under a recursive schema) makes
// the instance invalid with a "recursion limit" error instead of exhausting the stack.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace aisle::schema {

// One failed assertion. Every failure is reported, not only the first.
struct ValidationError {
  // JSON Pointer into the instance ("" is the root, "/items/0/sku"). "required" and
  // "dependentRequired" errors point at the missing member, "additionalProperties" and
  // "unevaluatedProperties" at the member that is not allowed.
  std::string instance_path;
  std::string keyword;  // the schema keyword that failed ("required", "type", ...)
  // JSON Pointer to the failing keyword where it is written in the schema document
  // ("/$defs/line_item/properties/quantity/minimum"), not the $ref path taken to reach it; for a
  // keyword of another document, "<document URI>#<pointer>".
  std::string schema_path;
  std::string message;  // readable: "must be >= 0 but is -3"
};

// "/items/0/sku: required: missing property 'sku'" — the form used in logs and HTTP answers.
std::string to_string(const ValidationError& error);

struct CompileOptions {
  // `format` is an assertion (date-time, date, email, uuid, uri, ipv4, ipv6 are checked). The
  // spec makes it an annotation by default; Aisle's event schemas want it asserted.
  bool format_assertion = true;
  // Resolves an absolute URI that is not defined inside the document ("$ref" to another
  // document). Returns nullptr when unknown. Used by the registry (schemas referring to each
  // other) and by the test-suite runner (http://localhost:1234/...). The returned document must
  // stay alive for the duration of compile().
  std::function<const nlohmann::json*(std::string_view absolute_uri)> resolve_remote;
  // Base URI for a document without "$id".
  std::string base_uri = "urn:aisle:schema";
};

class CompiledSchema;
using CompiledSchemaPtr = std::shared_ptr<const CompiledSchema>;

class CompiledSchema {
 public:
  virtual ~CompiledSchema() = default;

  // Compiles a schema document. Fails (kInvalidArgument) with a message naming the JSON Pointer
  // of the problem when the document is not a valid schema, uses a keyword Aisle does not
  // implement, or has a $ref that cannot be resolved.
  static Result<CompiledSchemaPtr> compile(const nlohmann::json& document,
                                           const CompileOptions& options = {});

  // True when the instance is valid. With `errors == nullptr` it stops at the first failure (the
  // fast path); otherwise every error is appended to *errors.
  virtual bool validate(const nlohmann::json& instance,
                        std::vector<ValidationError>* errors = nullptr) const = 0;
};

}  // namespace aisle::schema
