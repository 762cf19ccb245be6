// The compiled JSON Schema validator (common/schema/validator.hpp): error reporting, refusal of
// what Aisle does not implement, formats, annotations, recursion limits and the agreement of the
// fast path with the error-collecting path. Conformance with the JSON-Schema-Test-Suite is
// checked separately by aisle-schema-suite.
#include "common/schema/validator.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace aisle::schema {
namespace {

using nlohmann::json;

CompiledSchemaPtr compile_ok(const json& schema, CompileOptions options = {}) {
  auto compiled = CompiledSchema::compile(schema, options);
  if (!compiled) FAIL("schema does not compile: " << compiled.error().message);
  return *compiled;
}

std::string compile_error(const json& schema, CompileOptions options = {}) {
  auto compiled = CompiledSchema::compile(schema, options);
  if (compiled) FAIL("schema compiled but should not: " << schema.dump());
  CHECK(compiled.error().code == ErrorCode::kInvalidArgument);
  return compiled.error().message;
}

// Validates both ways and checks that the fast path and the error path agree.
std::vector<ValidationError> errors_of(const CompiledSchemaPtr& schema, const json& instance) {
  std::vector<ValidationError> errors;
  const bool full = schema->validate(instance, &errors);
  const bool fast = schema->validate(instance);
  INFO("instance " << instance.dump());
  CHECK(fast == full);
  CHECK(full == errors.empty());
  return errors;
}

std::vector<std::string> strings_of(const std::vector<ValidationError>& errors) {
  std::vector<std::string> out;
  for (const auto& error : errors) out.push_back(to_string(error));
  return out;
}

const json& order_schema() {
  static const json schema = json::parse(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": false,
    "required": ["order_id", "items", "currency"],
    "properties": {
      "order_id": {"type": "string", "minLength": 1},
      "currency": {"enum": ["EUR", "USD", "GBP"]},
      "total": {"type": "number", "minimum": 0},
      "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/line_item"}}
    },
    "$defs": {
      "line_item": {
        "type": "object",
        "required": ["sku", "quantity"],
        "properties": {
          "sku": {"type": "string", "pattern": "^[A-Z0-9-]+$"},
          "quantity": {"type": "integer", "minimum": 1}
        }
      }
    }
  })");
  return schema;
}

json valid_order() {
  return {{"order_id", "o-1"},
          {"currency", "EUR"},
          {"total", 12.5},
          {"items", {{{"sku", "SKU-1"}, {"quantity", 2}}, {{"sku", "SKU-2"}, {"quantity", 1}}}}};
}

TEST_CASE("a valid instance passes on the fast path and when collecting errors",
          "[common][schema]") {
  const auto schema = compile_ok(order_schema());
  CHECK(errors_of(schema, valid_order()).empty());
}

TEST_CASE("an error carries the instance pointer, keyword, schema path and a readable message",
          "[common][schema]") {
  const auto schema = compile_ok(order_schema());
  json order = valid_order();
  order["items"][0]["quantity"] = 0;
  const auto errors = errors_of(schema, order);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].instance_path == "/items/0/quantity");
  CHECK(errors[0].keyword == "minimum");
  CHECK(errors[0].schema_path == "/$defs/line_item/properties/quantity/minimum");
  CHECK(errors[0].message == "must be >= 1 but is 0");
  CHECK(to_string(errors[0]) == "/items/0/quantity: minimum: must be >= 1 but is 0");
}

TEST_CASE("every error is reported, not only the first", "[common][schema]") {
  const auto schema = compile_ok(order_schema());
  json order = valid_order();
  order.erase("currency");
  order["total"] = -1;
  order["items"][1]["sku"] = "lower case";
  order["items"][1]["quantity"] = 1.5;
  order["note"] = "hello";
  const auto errors = strings_of(errors_of(schema, order));
  INFO(Catch::Detail::stringify(errors));
  CHECK(errors.size() == 5);
  const auto has = [&](const std::string& text) {
    return std::find(errors.begin(), errors.end(), text) != errors.end();
  };
  CHECK(has("/currency: required: missing property 'currency'"));
  CHECK(has("/total: minimum: must be >= 0 but is -1"));
  CHECK(has("/items/1/sku: pattern: must match the pattern '^[A-Z0-9-]+$' but is 'lower case'"));
  CHECK(has("/items/1/quantity: type: must be integer but is number"));
  CHECK(has("/note: additionalProperties: unknown property 'note' is not allowed"));
}

TEST_CASE("the root is printed as / and keywords keep their own messages", "[common][schema]") {
  const auto schema = compile_ok(json::parse(R"({
    "type": "object",
    "properties": {
      "name": {"type": "string", "maxLength": 3},
      "kind": {"const": "sale"},
      "tags": {"type": "array", "uniqueItems": true, "maxItems": 2}
    },
    "minProperties": 2,
    "dependentRequired": {"name": ["kind"]}
  })"));
  CHECK(strings_of(errors_of(schema, json::array())) ==
        std::vector<std::string>{"/: type: must be object but is array"});
  // maxLength counts code points: "ééé" is 6 bytes but 3 characters.
  CHECK(errors_of(schema, {{"name", "ééé"}, {"kind", "sale"}}).empty());
  CHECK(strings_of(errors_of(schema, {{"name", "éééé"}, {"kind", "sale"}})) ==
        std::vector<std::string>{"/name: maxLength: must be at most 3 characters long but is 4"});
  CHECK(strings_of(errors_of(schema, {{"name", "ab"}})) ==
        std::vector<std::string>{"/: minProperties: must have at least 2 properties but has 1",
                                 "/kind: dependentRequired: missing property 'kind' (required "
                                 "when 'name' is present)"});
  CHECK(strings_of(errors_of(schema, {{"kind", "return"}, {"tags", {1, 1.0, 2}}})) ==
        std::vector<std::string>{"/kind: const: must be 'sale' but is 'return'",
                                 "/tags: maxItems: must have at most 2 items but has 3",
                                 "/tags: uniqueItems: items 0 and 1 are equal"});
}

TEST_CASE("anyOf and oneOf failures say why each alternative failed", "[common][schema]") {
  const auto schema = compile_ok(json::parse(R"({
    "anyOf": [{"required": ["sku"]}, {"required": ["gtin"]}],
    "oneOf": [{"type": "object"}, {"minProperties": 1}]
  })"));
  const auto errors = strings_of(errors_of(schema, {{"name", "x"}}));
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] ==
        "/: anyOf: must match at least one of 2 schemas (0: /sku: required: missing property "
        "'sku'; 1: /gtin: required: missing property 'gtin')");
  CHECK(errors[1] == "/: oneOf: must match exactly one of 2 schemas but matches 2 (0, 1)");
}

TEST_CASE("integers and floats follow JSON Schema number semantics", "[common][schema]") {
  const auto integer = compile_ok({{"type", "integer"}});
  CHECK(errors_of(integer, 1.0).empty());  // 1.0 is an integer
  CHECK(errors_of(integer, json::parse("18446744073709551615")).empty());
  CHECK_FALSE(errors_of(integer, 1.5).empty());

  // Exact comparison above 2^53, where doubles cannot tell the numbers apart.
  const auto minimum = compile_ok(json::parse(R"({"minimum": 9007199254740993})"));
  CHECK_FALSE(errors_of(minimum, json::parse("9007199254740992")).empty());
  CHECK(errors_of(minimum, json::parse("9007199254740993")).empty());
  const auto negative = compile_ok(json::parse(R"({"exclusiveMaximum": -1})"));
  CHECK(errors_of(negative, json::parse("-9223372036854775808")).empty());
  CHECK_FALSE(errors_of(negative, json::parse("18446744073709551615")).empty());

  // multipleOf on the decimal values, not on binary approximations.
  const auto cents = compile_ok({{"multipleOf", 0.01}});
  CHECK(errors_of(cents, 0.07).empty());
  CHECK(errors_of(cents, 19.99).empty());
  CHECK_FALSE(errors_of(cents, 0.075).empty());
  const auto odd = compile_ok({{"multipleOf", 0.123456789}});
  CHECK_FALSE(errors_of(odd, 1e308).empty());
  const auto big = compile_ok({{"multipleOf", 3}});
  CHECK(errors_of(big, json::parse("18446744073709551615")).empty());
}

TEST_CASE("uniqueItems compares by JSON value: 1 equals 1.0, objects by content",
          "[common][schema]") {
  const auto schema = compile_ok({{"uniqueItems", true}});
  CHECK_FALSE(errors_of(schema, json::parse(R"([1, 1.0])")).empty());
  CHECK_FALSE(
      errors_of(schema, json::parse(R"([{"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 2}]}])")).empty());
  CHECK(errors_of(schema, json::parse(R"([{"a": 1}, {"a": 2}, [1], 1, true])")).empty());
  json many = json::array();
  for (int i = 0; i < 500; ++i) many.push_back(i);
  CHECK(errors_of(schema, many).empty());
  many.push_back(250.0);
  CHECK_FALSE(errors_of(schema, many).empty());
}

TEST_CASE("a keyword Aisle does not implement is refused with its name and location",
          "[common][schema]") {
  const std::string unknown =
      compile_error(json::parse(R"({"properties": {"sku": {"type": "string", "maxLenght": 3}}})"));
  CHECK_THAT(unknown, Catch::Contains("unsupported keyword 'maxLenght'"));
  CHECK_THAT(unknown, Catch::Contains("/properties/sku/maxLenght"));
  CHECK_THAT(compile_error(json::parse(R"({"definitions": {"a": {}}})")),
             Catch::Contains("use $defs"));
  CHECK_THAT(compile_error(json::parse(R"({"$defs": {"unused": {"foo": 1}}})")),
             Catch::Contains("/$defs/unused/foo"));
  CHECK_THAT(
      compile_error(json::parse(R"({"$schema": "http://json-schema.org/draft-07/schema#"})")),
      Catch::Contains("unsupported $schema"));
  CHECK_THAT(compile_error({{"minLength", -1}}), Catch::Contains("/minLength"));
  CHECK_THAT(compile_error({{"type", "text"}}), Catch::Contains("type"));
  CHECK_THAT(compile_error({{"pattern", "^(?=a)"}}), Catch::Contains("lookahead"));
  // Annotations are accepted and ignored.
  compile_ok(json::parse(R"({"title": "t", "description": "d", "$comment": "c", "default": 1,
                             "examples": [1], "deprecated": true, "readOnly": false,
                             "writeOnly": false, "contentMediaType": "text/plain"})"));
}

TEST_CASE("an unresolvable $ref is a compile error naming the reference", "[common][schema]") {
  CHECK_THAT(compile_error(json::parse(R"({"$ref": "#/$defs/missing"})")),
             Catch::Contains("'#/$defs/missing'"));
  CHECK_THAT(compile_error(json::parse(R"({"$ref": "https://example.com/other.json"})")),
             Catch::Contains("https://example.com/other.json"));
  CHECK_THAT(compile_error(json::parse(R"({"$ref": "#nowhere"})")),
             Catch::Contains("no $anchor 'nowhere'"));
}

TEST_CASE("references to other documents go through resolve_remote", "[common][schema]") {
  const json money =
      json::parse(R"({"$id": "https://schemas.aisle.dev/money", "type": "number", "minimum": 0})");
  CompileOptions options;
  std::vector<std::string> asked;
  options.resolve_remote = [&](std::string_view uri) -> const json* {
    asked.emplace_back(uri);
    return uri == "https://schemas.aisle.dev/money" ? &money : nullptr;
  };
  options.base_uri = "https://schemas.aisle.dev/purchase";
  const auto schema =
      compile_ok(json::parse(R"({"properties": {"total": {"$ref": "money"}}})"), options);
  CHECK(asked == std::vector<std::string>{"https://schemas.aisle.dev/money"});
  CHECK(errors_of(schema, {{"total", 3}}).empty());
  const auto errors = errors_of(schema, {{"total", -3}});
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].schema_path == "https://schemas.aisle.dev/money#/minimum");
}

TEST_CASE("format is checked only when it is an assertion", "[common][schema]") {
  const std::vector<std::tuple<std::string, std::string, bool>> cases = {
      {"date-time", "2024-05-01T12:30:05.123Z", true},
      {"date-time", "2024-05-01t12:30:05+02:00", true},
      {"date-time", "1998-12-31T23:59:60Z", true},
      {"date-time", "1998-12-31T22:59:60Z", false},
      {"date-time", "2024-05-01 12:30:05Z", false},
      {"date-time", "2024-02-30T00:00:00Z", false},
      {"date", "2024-02-29", true},
      {"date", "2023-02-29", false},
      {"email", "maya.jansen@example.com", true},
      {"email", "\"joe bloggs\"@example.com", true},
      {"email", "te..st@example.com", false},
      {"email", "a@[IPv6:::1]", true},
      {"uuid", "2EB8AA08-AA98-11EA-B4AA-73B441D16380", true},
      {"uuid", "2eb8aa08aa9811eab4aa73b441d16380", false},
      {"uri", "https://shop.example.com/p?id=1#top", true},
      {"uri", "/relative/path", false},
      {"uri", "http://example.com/a b", false},
      {"ipv4", "192.168.0.1", true},
      {"ipv4", "192.168.0.01", false},
      {"ipv6", "::ffff:192.168.0.1", true},
      {"ipv6", "1::2::3", false},
  };
  CompileOptions annotation;
  annotation.format_assertion = false;
  for (const auto& [format, text, valid] : cases) {
    INFO(format << " '" << text << "'");
    const json schema = {{"format", format}};
    CHECK(errors_of(compile_ok(schema), text).empty() == valid);
    CHECK(errors_of(compile_ok(schema, annotation), text).empty());
  }
  const auto errors = errors_of(compile_ok({{"format", "date-time"}}), "yesterday");
  REQUIRE(errors.size() == 1);
  CHECK(to_string(errors[0]) == "/: format: must be a valid date-time but is 'yesterday'");
  CHECK(errors_of(compile_ok({{"format", "email"}}), 42).empty());  // only strings are checked
}

TEST_CASE("an unknown format is refused when format is an assertion", "[common][schema]") {
  CHECK_THAT(compile_error({{"format", "credit-card"}}),
             Catch::Contains("unsupported format 'credit-card'"));
  CompileOptions annotation;
  annotation.format_assertion = false;
  compile_ok({{"format", "credit-card"}}, annotation);
}

TEST_CASE("unevaluatedProperties sees what allOf, $ref and if/then evaluated", "[common][schema]") {
  const auto schema = compile_ok(json::parse(R"({
    "$defs": {"base": {"properties": {"id": {"type": "string"}}}},
    "allOf": [{"$ref": "#/$defs/base"}],
    "if": {"properties": {"kind": {"const": "sale"}}, "required": ["kind"]},
    "then": {"properties": {"total": {"type": "number"}}},
    "properties": {"kind": true},
    "unevaluatedProperties": false
  })"));
  CHECK(errors_of(schema, {{"id", "a"}, {"kind", "sale"}, {"total", 1}}).empty());
  CHECK(strings_of(errors_of(schema, {{"id", "a"}, {"kind", "void"}, {"total", 1}})) ==
        std::vector<std::string>{
            "/total: unevaluatedProperties: unevaluated property 'total' is not allowed"});
  const auto items = compile_ok(json::parse(
      R"({"prefixItems": [true], "contains": {"type": "string"}, "unevaluatedItems": false})"));
  CHECK(errors_of(items, json::parse(R"([1, "a", "b"])")).empty());
  CHECK_FALSE(errors_of(items, json::parse(R"([1, "a", 2])")).empty());
}

TEST_CASE("schemas can be checked against the draft 2020-12 meta-schema", "[common][schema]") {
  const auto meta =
      compile_ok(json::parse(R"({"$ref": "https://json-schema.org/draft/2020-12/schema"})"));
  CHECK(errors_of(meta, order_schema()).empty());
  const auto errors = errors_of(meta, json::parse(R"({"properties": {"a": {"type": 1}}})"));
  CHECK_FALSE(errors.empty());
}

TEST_CASE("a $ref cycle that never reaches new data ends with a recursion limit error",
          "[common][schema]") {
  const auto schema = compile_ok(json::parse(R"({
    "$defs": {
      "alice": {"$anchor": "alice", "allOf": [{"$ref": "#bob"}]},
      "bob": {"$anchor": "bob", "allOf": [{"$ref": "#alice"}]}
    },
    "$ref": "#alice"
  })"));
  const auto errors = errors_of(schema, json::object());
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0].message, Catch::Contains("recursion limit"));
  // A negated cycle must not flip the result back to valid.
  const auto negated = compile_ok(json::parse(R"({"$defs": {"a": {"not": {"$ref": "#/$defs/a"}}},
                                                 "$ref": "#/$defs/a"})"));
  CHECK_FALSE(errors_of(negated, 1).empty());
}

TEST_CASE("deep instances under a recursive schema end at the recursion limit, not a crash",
          "[common][schema]") {
  const auto schema = compile_ok(json::parse(R"({"type": "array", "items": {"$ref": "#"}})"));
  json nested = json::array();
  const auto wrap = [&nested](int levels) {
    for (int i = 0; i < levels; ++i) {
      json outer = json::array();
      outer.push_back(std::move(nested));
      nested = std::move(outer);
    }
  };
  wrap(100);
  CHECK(errors_of(schema, nested).empty());
  wrap(5000);
  const auto errors = errors_of(schema, nested);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0].message, Catch::Contains("recursion limit"));
}

TEST_CASE("schemas nested deeper than 256 levels are refused", "[common][schema]") {
  json schema = {{"type", "string"}};
  for (int i = 0; i < 100; ++i) schema = {{"not", schema}};
  compile_ok(schema);
  for (int i = 0; i < 200; ++i) schema = {{"not", schema}};
  CHECK_THAT(compile_error(schema), Catch::Contains("nested deeper than 256"));
}

TEST_CASE("patterns are ECMA-262 with Unicode code points", "[common][schema]") {
  const auto letters = compile_ok({{"pattern", "^\\p{Letter}+$"}});
  CHECK(errors_of(letters, "Ελλάδα").empty());
  CHECK_FALSE(errors_of(letters, "R2D2").empty());
  const auto dot = compile_ok({{"pattern", "^.$"}});
  CHECK(errors_of(dot, "€").empty());  // one code point, three bytes
  const auto unanchored = compile_ok({{"pattern", "o{2}"}});
  CHECK(errors_of(unanchored, "foo!").empty());
  const auto names = compile_ok(json::parse(R"({"patternProperties": {"^x-": {"type": "string"}},
                                                "additionalProperties": false})"));
  CHECK(errors_of(names, {{"x-trace", "1"}}).empty());
  CHECK(strings_of(errors_of(names, {{"trace", "1"}})) ==
        std::vector<std::string>{
            "/trace: additionalProperties: unknown property 'trace' is not allowed"});
  const auto property_names = compile_ok({{"propertyNames", {{"pattern", "^[a-z_]+$"}}}});
  CHECK(strings_of(errors_of(property_names, {{"Bad", 1}})) ==
        std::vector<std::string>{"/: pattern: property name 'Bad': must match the pattern "
                                 "'^[a-z_]+$' but is 'Bad'"});
}

TEST_CASE("the fast path and the error path agree on random instances", "[common][schema]") {
  const auto schema = compile_ok(order_schema());
  std::mt19937 random(12345);
  const std::vector<json> values = {json(nullptr), json(true),    json(0),  json(-1),
                                    json(1.5),     json("EUR"),   json(""), json("SKU-9"),
                                    json::array(), json::object()};
  for (int round = 0; round < 500; ++round) {
    json order = valid_order();
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const json& value = values[random() % values.size()];
      switch (random() % 5) {
        case 0: order["total"] = value; break;
        case 1: order["currency"] = value; break;
        case 2: order["items"][random() % 2]["quantity"] = value; break;
        case 3: order["items"][random() % 2]["sku"] = value; break;
        default: order["extra"] = value; break;
      }
    }
    errors_of(schema, order);  // checks the agreement
  }
}

TEST_CASE("a compiled schema is shared safely between threads", "[common][schema]") {
  const auto schema = compile_ok(order_schema());
  json invalid = valid_order();
  invalid["items"][0]["quantity"] = 0;
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::vector<ValidationError> errors;
        if (!schema->validate(valid_order()) || schema->validate(invalid, &errors) ||
            errors.size() != 1) {
          ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

}  // namespace
}  // namespace aisle::schema
