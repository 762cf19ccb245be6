// The built-in event schemas (schemas/aisle/...) against their example events
// (schemas/examples/<type>.json): every schema has an example, every example is valid and
// canonical, and typical producer mistakes are refused with the path and keyword a producer
// needs to fix them.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/event.hpp"
#include "common/event_json.hpp"
#include "common/event_validator.hpp"
#include "common/schema/registry.hpp"
#include "common/uuid.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using schema::ValidationError;

const fs::path kSchemasDir = AISLE_SCHEMAS_SOURCE_DIR;

// The event types Aisle ships; docs/events.md has one row per type.
const std::vector<std::string> kBuiltinTypes = {
    "page_view",        "product_view",     "search",   "click",         "cart_add",
    "cart_remove",      "checkout",         "purchase", "session_start", "session_end",
    "identify",         "consent",          "footfall", "dwell",         "shelf_pickup",
    "beacon_proximity", "kiosk_interaction"};

fs::path example_path(const std::string& type) {
  return kSchemasDir / "examples" / (type + ".json");
}

schema::RegistryPtr load_registry() {
  auto loaded = schema::Registry::load({kSchemasDir.string()});
  if (!loaded) FAIL("built-in schemas do not load:\n" << loaded.error().message);
  return *loaded;
}

EventValidator make_validator(schema::RegistryPtr registry) {
  EventValidatorOptions options;
  // Examples are complete events, as a collector receives them from an agent.
  options.require_event_id = true;
  options.require_received_at = true;
  return EventValidator(std::make_shared<schema::RegistryHolder>(std::move(registry)),
                        std::move(options));
}

json read_example(const std::string& type) {
  const fs::path file = example_path(type);
  INFO("example " << file.string());
  REQUIRE(fs::is_regular_file(file));
  return json::parse(test::read_file(file));
}

std::vector<std::string> example_types() {
  std::vector<std::string> types;
  for (const auto& entry : fs::directory_iterator(kSchemasDir / "examples")) {
    if (entry.path().extension() == ".json") types.push_back(entry.path().stem().string());
  }
  std::sort(types.begin(), types.end());
  return types;
}

Event decode_or_fail(json document) {
  Event event;
  std::vector<ValidationError> errors;
  const bool ok = decode_event(std::move(document), event, errors);
  INFO(join_errors(errors));
  REQUIRE(ok);
  return event;
}

TEST_CASE("every built-in event type has a schema registered under the aisle vendor",
          "[common][schema]") {
  const auto registry = load_registry();
  for (const auto& type : kBuiltinTypes) {
    INFO("type " << type);
    const schema::LoadedSchema* latest = registry->latest_for_type(type);
    REQUIRE(latest != nullptr);
    CHECK(latest->key.vendor == "aisle");
    CHECK(latest->uri == "aisle/" + type + "/jsonschema/1-0-0");
  }
}

TEST_CASE("every registered schema has an example event", "[common][schema]") {
  const auto registry = load_registry();
  REQUIRE(registry->size() >= kBuiltinTypes.size());
  for (const auto& uri : registry->uris()) {
    const auto key = parse_schema_uri(uri);
    REQUIRE(key);
    INFO("schema " << uri << " needs " << example_path(key->name).string());
    CHECK(fs::is_regular_file(example_path(key->name)));
  }
}

TEST_CASE("every example event is valid against its schema", "[common][schema]") {
  const auto registry = load_registry();
  const EventValidator validator = make_validator(registry);
  const auto types = example_types();
  REQUIRE(types.size() >= kBuiltinTypes.size());
  for (const auto& type : types) {
    INFO("example " << example_path(type).string());
    Event event;
    std::vector<ValidationError> errors;
    const bool ok = validator.check_text(test::read_file(example_path(type)), event, errors);
    CHECK(join_errors(errors) == "");
    CHECK(ok);
    CHECK(event.type == type);
    CHECK(registry->find(event.schema) != nullptr);
  }
}

TEST_CASE("every example event round-trips through decode and to_json without loss",
          "[common][schema]") {
  for (const auto& type : example_types()) {
    INFO("example " << example_path(type).string());
    const json original = read_example(type);
    const Event first = decode_or_fail(original);
    // The examples are written in canonical form (UTC millisecond timestamps, lowercase ids,
    // all three consent purposes), so encoding gives back the very same document.
    CHECK(to_json(first) == original);
    const Event second = decode_or_fail(json::parse(to_json_text(first)));
    CHECK(second == first);
  }
}

TEST_CASE("example events carry UUIDv7 ids and were received after they occurred",
          "[common][schema]") {
  for (const auto& type : example_types()) {
    INFO("example " << example_path(type).string());
    const Event event = decode_or_fail(read_example(type));
    const auto id = Uuid::parse(event.event_id);
    REQUIRE(id);
    CHECK(id->version() == 7);
    REQUIRE(event.received_at);
    CHECK(*event.received_at >= event.occurred_at);
  }
}

TEST_CASE("the purchase example has five line items", "[common][schema]") {
  // bench/ measures validation of this event; its size is part of the published figures.
  const json purchase = read_example("purchase");
  CHECK(purchase.at("properties").at("items").size() == 5);
}

TEST_CASE("every schema with a currency accepts the same ISO 4217 codes", "[common][schema]") {
  const auto registry = load_registry();
  const schema::LoadedSchema* purchase = registry->find("aisle/purchase/jsonschema/1-0-0");
  REQUIRE(purchase != nullptr);
  const json& codes = purchase->document.at("$defs").at("currency").at("enum");
  CHECK(codes.size() > 150);
  for (const char* code : {"EUR", "USD", "GBP", "JPY", "CHF", "SEK", "XCG", "ZWG"}) {
    CHECK(std::find(codes.begin(), codes.end(), code) != codes.end());
  }
  // Not currencies anyone pays a basket in: test, no-currency, precious metal, SDR.
  for (const char* code : {"XTS", "XXX", "XAU", "XDR", "eur"}) {
    CHECK(std::find(codes.begin(), codes.end(), code) == codes.end());
  }
  int with_currency = 0;
  for (const auto& uri : registry->uris()) {
    const json& document = registry->find(uri)->document;
    if (!document.contains("$defs") || !document["$defs"].contains("currency")) continue;
    ++with_currency;
    INFO("schema " << uri);
    CHECK(document["$defs"]["currency"].at("enum") == codes);
  }
  CHECK(with_currency >= 5);  // product_view, cart_add, cart_remove, checkout, purchase
}

// One producer mistake: `mutate` edits the example's `properties`; the validator must refuse the
// event with an error at `path` (a JSON Pointer into the event) for `keyword`.
struct Mistake {
  const char* example;
  const char* what;
  std::function<void(json& properties)> mutate;
  const char* path;
  const char* keyword;
};

const std::vector<Mistake>& mistakes() {
  static const std::vector<Mistake> table = {
      {"purchase", "line item without sku", [](json& p) { p["items"][0].erase("sku"); },
       "/properties/items/0/sku", "required"},
      {"purchase", "zero quantity", [](json& p) { p["items"][2]["quantity"] = 0; },
       "/properties/items/2/quantity", "minimum"},
      {"purchase", "negative quantity", [](json& p) { p["items"][1]["quantity"] = -1; },
       "/properties/items/1/quantity", "minimum"},
      {"purchase", "fractional quantity", [](json& p) { p["items"][1]["quantity"] = 1.5; },
       "/properties/items/1/quantity", "type"},
      {"purchase", "negative unit price", [](json& p) { p["items"][3]["unit_price"] = -12.5; },
       "/properties/items/3/unit_price", "minimum"},
      {"purchase", "unknown currency", [](json& p) { p["currency"] = "EUX"; },
       "/properties/currency", "enum"},
      {"purchase", "lowercase currency", [](json& p) { p["currency"] = "eur"; },
       "/properties/currency", "enum"},
      {"purchase", "total as a string", [](json& p) { p["total"] = "655.25"; }, "/properties/total",
       "type"},
      {"purchase", "misspelt property", [](json& p) { p["totl"] = 655.25; }, "/properties/totl",
       "additionalProperties"},
      {"purchase", "no line items", [](json& p) { p["items"] = json::array(); },
       "/properties/items", "minItems"},
      {"purchase", "refund as transaction type", [](json& p) { p["transaction_type"] = "refund"; },
       "/properties/transaction_type", "enum"},
      {"purchase", "missing order id", [](json& p) { p.erase("order_id"); }, "/properties/order_id",
       "required"},
      {"product_view", "missing sku", [](json& p) { p.erase("sku"); }, "/properties/sku",
       "required"},
      {"product_view", "negative price", [](json& p) { p["price"] = -1; }, "/properties/price",
       "minimum"},
      {"product_view", "price without currency", [](json& p) { p.erase("currency"); },
       "/properties/currency", "dependentRequired"},
      {"product_view", "malformed gtin", [](json& p) { p["gtin"] = "871234567890"; },
       "/properties/gtin", "pattern"},
      {"cart_add", "zero quantity", [](json& p) { p["quantity"] = 0; }, "/properties/quantity",
       "minimum"},
      {"checkout", "unknown line item field", [](json& p) { p["items"][0]["colour"] = "red"; },
       "/properties/items/0/colour", "additionalProperties"},
      {"click", "position as a string", [](json& p) { p["position"] = "1"; },
       "/properties/position", "type"},
      {"click", "recommendation click without strategy", [](json& p) { p.erase("strategy"); },
       "/properties/strategy", "dependentRequired"},
      {"search", "empty query", [](json& p) { p["query"] = ""; }, "/properties/query", "minLength"},
      {"search", "negative result count", [](json& p) { p["result_count"] = -1; },
       "/properties/result_count", "minimum"},
      {"page_view", "url that is not a URI", [](json& p) { p["url"] = "espresso machines"; },
       "/properties/url", "format"},
      {"identify", "raw e-mail address in traits",
       [](json& p) { p["traits"]["email"] = "maya.jansen@example.com"; },
       "/properties/traits/email", "additionalProperties"},
      {"identify", "unknown method", [](json& p) { p["method"] = "password"; },
       "/properties/method", "enum"},
      {"consent", "no purposes", [](json& p) { p["purposes"] = json::object(); },
       "/properties/purposes", "minProperties"},
      {"consent", "purpose left unknown", [](json& p) { p["purposes"]["marketing"] = "unknown"; },
       "/properties/purposes/marketing", "enum"},
      {"session_end", "negative duration", [](json& p) { p["duration_seconds"] = -5; },
       "/properties/duration_seconds", "minimum"},
      {"footfall", "negative count", [](json& p) { p["in"] = -1; }, "/properties/in", "minimum"},
      {"dwell", "entered_at not a date-time", [](json& p) { p["entered_at"] = "yesterday"; },
       "/properties/entered_at", "format"},
      {"shelf_pickup", "short gtin", [](json& p) { p["gtin"] = "123"; }, "/properties/gtin",
       "pattern"},
      {"shelf_pickup", "neither sku nor gtin",
       [](json& p) {
         p.erase("sku");
         p.erase("gtin");
       },
       "/properties", "anyOf"},
      {"beacon_proximity", "both iBeacon and Eddystone",
       [](json& p) {
         p["eddystone"] = {{"namespace", "edd1ebeac04e5defa017"}, {"instance", "0000000000a7"}};
       },
       "/properties", "oneOf"},
      {"beacon_proximity", "rssi below -127", [](json& p) { p["rssi"] = -128; }, "/properties/rssi",
       "minimum"},
      {"kiosk_interaction", "recommendation click without rec_id",
       [](json& p) { p.erase("rec_id"); }, "/properties/rec_id", "required"},
  };
  return table;
}

TEST_CASE("typical producer mistakes are refused with the path and keyword to fix",
          "[common][schema]") {
  const EventValidator validator = make_validator(load_registry());
  for (const auto& mistake : mistakes()) {
    INFO(mistake.example << ": " << mistake.what << " (expected " << mistake.path << ": "
                         << mistake.keyword << ")");
    json event = read_example(mistake.example);
    mistake.mutate(event.at("properties"));
    Event decoded;
    std::vector<ValidationError> errors;
    CHECK_FALSE(validator.check_json(std::move(event), decoded, errors));
    INFO("errors: " << join_errors(errors));
    const bool found = std::any_of(errors.begin(), errors.end(), [&](const ValidationError& e) {
      return e.instance_path == mistake.path && e.keyword == mistake.keyword;
    });
    CHECK(found);
  }
}

}  // namespace
}  // namespace aisle
