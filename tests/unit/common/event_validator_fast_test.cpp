// EventValidator::check_record (the simdjson hot path) against check_text (the nlohmann path):
// the same answers, events and errors on every example event, on typical producer mistakes and on
// the inputs where the two JSON representations differ (repeated member names, big numbers,
// nesting limits, keywords the DOM walk leaves undecided).
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/event_json.hpp"
#include "common/event_validator.hpp"
#include "common/schema/registry.hpp"
#include "common/schema/validator_simd.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using schema::ValidationError;

EventValidator make_validator(const std::vector<std::string>& extra_dirs = {}) {
  std::vector<std::string> dirs = {AISLE_SCHEMAS_SOURCE_DIR};
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  auto registry = schema::Registry::load(dirs);
  if (!registry) FAIL(registry.error().message);
  return EventValidator(std::make_shared<schema::RegistryHolder>(*registry), {});
}

struct Outcome {
  bool accepted = false;
  Event event;
  json properties;
  std::string errors;
};

Outcome via_text(const EventValidator& validator, const std::string& raw) {
  Outcome out;
  std::vector<ValidationError> errors;
  out.accepted = validator.check_text(raw, out.event, errors);
  out.properties = out.event.properties;
  out.event.properties = json::object();
  out.errors = join_errors(errors);
  return out;
}

Outcome via_record(const EventValidator& validator, const std::string& raw) {
  Outcome out;
  std::string properties;
  std::vector<ValidationError> errors;
  out.accepted = validator.check_record(raw, out.event, &properties, errors);
  if (out.accepted) {
    CHECK(out.event.properties == json::object());
    out.properties = json::parse(properties);
    // Compact: the outbox and the batches carry it as is, one record per line.
    CHECK(properties.find('\n') == std::string::npos);
    CHECK(json::parse(properties).dump() == out.properties.dump());
  }
  out.errors = join_errors(errors);
  return out;
}

void check_same(const EventValidator& validator, const std::string& raw) {
  INFO("record: " << raw.substr(0, 300));
  const Outcome slow = via_text(validator, raw);
  const Outcome fast = via_record(validator, raw);
  CHECK(fast.accepted == slow.accepted);
  CHECK(fast.errors == slow.errors);
  if (slow.accepted && fast.accepted) {
    CHECK(fast.event == slow.event);
    CHECK(fast.properties == slow.properties);
  }
}

json example(const std::string& type) {
  return json::parse(
      test::read_file(fs::path(AISLE_SCHEMAS_SOURCE_DIR) / "examples" / (type + ".json")));
}

TEST_CASE("check_record accepts every example event exactly as check_text does",
          "[common][validator]") {
  const EventValidator validator = make_validator();
  for (const auto& entry : fs::directory_iterator(fs::path(AISLE_SCHEMAS_SOURCE_DIR) / "examples")) {
    const std::string raw = test::read_file(entry.path());
    INFO(entry.path().string());
    const Outcome fast = via_record(validator, raw);
    CHECK(fast.accepted);
    check_same(validator, raw);
    check_same(validator, json::parse(raw).dump());  // compact, as NDJSON producers send it
  }
}

TEST_CASE("check_record gives check_text's errors for invalid events", "[common][validator]") {
  const EventValidator validator = make_validator();
  json purchase = example("purchase");
  std::vector<json> broken;
  broken.push_back(purchase);
  broken.back()["properties"]["total"] = "12.50";                    // schema: type
  broken.push_back(purchase);
  broken.back()["properties"].erase("currency");                    // schema: required
  broken.push_back(purchase);
  broken.back()["properties"]["items"] = json::array();             // schema: minItems
  broken.push_back(purchase);
  broken.back()["type"] = "Purchase";                               // envelope: pattern
  broken.push_back(purchase);
  broken.back()["source"]["channel"] = "fax";                       // envelope: enum
  broken.push_back(purchase);
  broken.back()["identities"] = {{"email_sha256", "ABC"}};          // envelope: pattern
  broken.push_back(purchase);
  broken.back()["extra"] = 1;                                       // envelope: unknown field
  broken.push_back(purchase);
  broken.back()["schema"] = "aisle/purchase/jsonschema/9-0-0";      // not registered
  broken.push_back(purchase);
  broken.back()["properties"] = json::array();                      // envelope: type
  for (const json& event : broken) {
    const Outcome fast = via_record(validator, event.dump());
    CHECK_FALSE(fast.accepted);
    CHECK_FALSE(fast.errors.empty());
    check_same(validator, event.dump());
  }
  check_same(validator, "{\"type\": \"purchase\",");  // not JSON at all
  check_same(validator, "[1, 2]");
}

TEST_CASE("check_record fills the schema of an event that names none and keeps its members' order",
          "[common][validator]") {
  const EventValidator validator = make_validator();
  json event = example("footfall");
  event.erase("schema");
  const std::string raw =
      R"({"type":"footfall","occurred_at":"2026-11-28T14:05:00.000Z","source":{"store_id":"s1",)"
      R"("channel":"sensor"},"properties":{"out":17,"in":23,"door_id":"door-main",)"
      R"("interval_seconds":300}})";
  Event out;
  std::string properties;
  std::vector<ValidationError> errors;
  REQUIRE(validator.check_record(raw, out, &properties, errors));
  CHECK(out.schema == "aisle/footfall/jsonschema/1-0-0");
  CHECK(properties == R"({"out":17,"in":23,"door_id":"door-main","interval_seconds":300})");
  check_same(validator, raw);
}

TEST_CASE("check_record agrees with check_text where simdjson and nlohmann read JSON differently",
          "[common][validator]") {
  const EventValidator validator = make_validator();
  const std::string head =
      R"({"type":"footfall","occurred_at":"2026-11-28T14:05:00.000Z","source":{"store_id":"s1",)"
      R"("channel":"sensor"},)";
  // Repeated member names: nlohmann keeps the last one.
  check_same(validator, head + R"("properties":{"door_id":"d","in":1,"in":"x","out":0,)"
                               R"("interval_seconds":60}})");
  check_same(validator, head + R"("properties":{"door_id":"d","in":"x","in":1,"out":0,)"
                               R"("interval_seconds":60}})");
  check_same(validator, head + R"("identities":{"user_id":"a","user_id":"b"},"properties":)"
                               R"({"door_id":"d","in":1,"out":0,"interval_seconds":60}})");
  check_same(validator, R"({"type":5,)" + head.substr(1) +
                            R"("properties":{"door_id":"d","in":1,"out":0,"interval_seconds":60}})");
  // Numbers beyond uint64 (simdjson refuses them; nlohmann reads a double) and doubles that are
  // integers (5.0 is an integer to JSON Schema).
  check_same(validator, head + R"("properties":{"door_id":"d","in":100000000000000000000000,)"
                               R"("out":0,"interval_seconds":60}})");
  check_same(validator, head + R"("properties":{"door_id":"d","in":5.0,"out":0,)"
                               R"("interval_seconds":60}})");
  // Escapes and non-ASCII text survive the compact form.
  check_same(validator, head + R"("properties":{"door_id":"d\"o\\or\n\u00e9\u0001 é","in":1,)"
                               R"("out":0,"interval_seconds":60}})");
  // The nesting limit (64 levels) is the same on both paths.
  for (const int depth : {62, 63, 64, 65}) {
    std::string nested = std::string(static_cast<std::size_t>(depth), '[') + "1" +
                         std::string(static_cast<std::size_t>(depth), ']');
    check_same(validator, head + R"("properties":{"door_id":"d","in":1,"out":0,)"
                                 R"("interval_seconds":60,"x":)" + nested + "}}");
  }
  // Over the size limit.
  check_same(validator, head + R"("properties":{"door_id":")" + std::string(70000, 'd') +
                            R"(","in":1,"out":0,"interval_seconds":60}})");
}

TEST_CASE("the DOM walk leaves keywords it cannot decide to the full evaluator",
          "[common][validator]") {
  test::TempDir dir;
  test::write_file(dir.path() / "acme/widget/jsonschema/1-0-0.json", R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
      "tags": {"type": "array", "uniqueItems": true},
      "shape": {"enum": [{"kind": "round"}, {"kind": "square"}]},
      "attrs": {"type": "object", "minProperties": 2, "propertyNames": {"maxLength": 3}}
    }
  })");
  const EventValidator validator = make_validator({dir.path().string()});
  const std::string head =
      R"({"type":"widget","schema":"acme/widget/jsonschema/1-0-0",)"
      R"("occurred_at":"2026-11-28T14:05:00.000Z","source":{"store_id":"s1","channel":"web"},)";
  for (const std::string properties :
       {R"({"tags":["a","b"]})", R"({"tags":["a","a"]})", R"({"shape":{"kind":"round"}})",
        R"({"shape":{"kind":"oval"}})", R"({"attrs":{"a":1,"b":2}})", R"({"attrs":{"a":1,"a":2}})",
        R"({"attrs":{"abcd":1,"b":2}})"}) {
    check_same(validator, head + R"("properties":)" + properties + "}");
  }
  // The walk itself says "not decided" (false) rather than guessing.
  auto registry = validator.registry()->current();
  const auto* widget = registry->find("acme/widget/jsonschema/1-0-0");
  REQUIRE(widget != nullptr);
  simdjson::dom::parser parser;
  simdjson::dom::element document;
  REQUIRE(parser.parse(std::string(R"({"tags":["a","b"]})")).get(document) == simdjson::SUCCESS);
  CHECK_FALSE(schema::validate_fast_dom(*widget->compiled, document));
  REQUIRE(parser.parse(std::string(R"({"tags":"a"})")).get(document) == simdjson::SUCCESS);
  CHECK_FALSE(schema::validate_fast_dom(*widget->compiled, document));
}

}  // namespace
}  // namespace aisle
