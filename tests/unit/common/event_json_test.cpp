#include "common/event_json.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

using aisle::decode_event;
using aisle::Event;
using aisle::schema::ValidationError;
using nlohmann::json;

namespace {

json full_event() {
  return json::parse(R"({
    "event_id": "0193A4B2-7C3E-7A51-9C1E-5B7E2F0D4A11",
    "type": "product_view",
    "schema": "aisle/product_view/jsonschema/1-0-0",
    "occurred_at": "2026-11-28T11:15:02.123+01:00",
    "received_at": "2026-11-28T10:15:02.200Z",
    "source": {"store_id": "store-0042", "channel": "kiosk", "device_id": "kiosk-3", "agent_id": "gw-1"},
    "identities": {"anonymous_id": "a-1", "email_sha256": "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"},
    "consent": {"analytics": "granted", "personalization": "denied"},
    "context": {"ip": "10.1.2.0", "user_agent": "Kiosk/1.0 \"quoted\""},
    "properties": {"sku": "SKU-1", "price": 12.5, "tags": ["a", "b"], "nested": {"k": null}}
  })");
}

std::vector<std::string> paths(const std::vector<ValidationError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.instance_path + " " + e.keyword);
  return out;
}

}  // namespace

TEST_CASE("an event decodes into canonical form", "[common][event]") {
  Event event;
  std::vector<ValidationError> errors;
  REQUIRE(decode_event(full_event(), event, errors));
  CHECK(errors.empty());
  CHECK(event.event_id == "0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a11");
  CHECK(event.occurred_at == 1795860902123);  // 2026-11-28T10:15:02.123Z
  CHECK(event.source.channel == aisle::Channel::kKiosk);
  CHECK(event.identities.at("anonymous_id") == "a-1");
  REQUIRE(event.consent);
  CHECK(event.consent->analytics == aisle::ConsentState::kGranted);
  CHECK(event.consent->marketing == aisle::ConsentState::kUnknown);
  CHECK(event.properties["price"] == 12.5);
}

TEST_CASE("events round-trip losslessly through their JSON form", "[common][event]") {
  Event event;
  std::vector<ValidationError> errors;
  REQUIRE(decode_event(full_event(), event, errors));
  const json canonical = aisle::to_json(event);
  Event again;
  REQUIRE(decode_event(json(canonical), again, errors));
  CHECK(again == event);
  // The fast serializer writes exactly what to_json() would.
  CHECK(aisle::to_json_text(event) == canonical.dump());
  CHECK(json::parse(aisle::to_json_text(event)) == canonical);
  Event minimal;
  REQUIRE(decode_event(json::parse(R"({"type":"session_start","occurred_at":"2026-01-01T00:00:00Z",
      "source":{"store_id":"s","channel":"web"}})"), minimal, errors));
  CHECK(aisle::to_json_text(minimal) == aisle::to_json(minimal).dump());
}

TEST_CASE("unknown top-level fields and bad envelope values are each reported",
          "[common][event]") {
  json j = full_event();
  j["colour"] = "red";
  j["source"]["channel"] = "fax";
  j["source"]["store_id"] = "store/1";
  j["identities"]["shoe_size"] = "42";
  j["identities"]["email_sha256"] = "alice@example.com";
  j["consent"]["analytics"] = "yes";
  j["occurred_at"] = "yesterday";
  j["properties"] = "none";
  Event event;
  std::vector<ValidationError> errors;
  CHECK_FALSE(decode_event(std::move(j), event, errors));
  const auto p = paths(errors);
  for (const char* expected :
       {"/colour additionalProperties", "/source/channel enum", "/source/store_id pattern",
        "/identities/shoe_size propertyNames", "/identities/email_sha256 pattern",
        "/consent/analytics enum", "/occurred_at format", "/properties type"}) {
    INFO(expected);
    CHECK(std::find(p.begin(), p.end(), expected) != p.end());
  }
}

TEST_CASE("missing required fields are named, and schema must match type", "[common][event]") {
  Event event;
  std::vector<ValidationError> errors;
  CHECK_FALSE(decode_event(json::parse(R"({"schema":"aisle/purchase/jsonschema/1-0-0"})"), event,
                           errors));
  const auto p = paths(errors);
  CHECK(std::find(p.begin(), p.end(), " required") != p.end());
  CHECK(errors.size() == 3);
  errors.clear();
  Event mismatched;
  CHECK_FALSE(decode_event(json::parse(R"({"type":"page_view","schema":"aisle/purchase/jsonschema/1-0-0",
      "occurred_at":"2026-01-01T00:00:00Z","source":{"store_id":"s","channel":"web"}})"),
                           mismatched, errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].instance_path == "/schema");
}

TEST_CASE("custom identity types are accepted only when configured", "[common][event]") {
  const std::set<std::string, std::less<>> custom{"crm_id"};
  aisle::EventDecodeOptions options;
  options.custom_identity_types = &custom;
  const char* text = R"({"type":"identify","occurred_at":"2026-01-01T00:00:00Z",
      "source":{"store_id":"s","channel":"pos"},"identities":{"crm_id":"C-9"}})";
  Event event;
  std::vector<ValidationError> errors;
  CHECK(decode_event(json::parse(text), event, errors, options));
  CHECK_FALSE(decode_event(json::parse(text), event, errors));
}

TEST_CASE("schema URIs parse into vendor, name and SchemaVer", "[common][event]") {
  auto key = aisle::parse_schema_uri("acme.retail/loyalty_scan/jsonschema/2-1-10");
  REQUIRE(key);
  CHECK(key->vendor == "acme.retail");
  CHECK(key->name == "loyalty_scan");
  CHECK(key->model == 2);
  CHECK(key->addition == 10);
  CHECK(key->uri() == "acme.retail/loyalty_scan/jsonschema/2-1-10");
  for (const char* bad : {"aisle/purchase/jsonschema/1-0", "aisle/purchase/avro/1-0-0",
                          "Aisle/purchase/jsonschema/1-0-0", "aisle/purchase/jsonschema/0-1-0",
                          "aisle/purchase/jsonschema/01-0-0", "aisle//jsonschema/1-0-0"}) {
    INFO(bad);
    CHECK_FALSE(aisle::parse_schema_uri(bad));
  }
}
