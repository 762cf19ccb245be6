#include <catch2/catch.hpp>

#include "common/event_json.hpp"
#include "common/wire/privacy.hpp"

using namespace aisle;
using namespace aisle::wire;

TEST_CASE("privacy topics are built and uplinks parsed", "[common][wire][privacy]") {
  const AgentAddress a{"acme", "store-1", "agent-1"};
  CHECK(broadcast_topic("acme", "consent") == "aisle/v1/acme/broadcast/consent");
  CHECK(uplink_topic(a, "consent_sync") == "aisle/v1/acme/store-1/agent-1/up/consent_sync");
  CHECK(shared_uplink_subscription("g", "erasure_receipt") ==
        "$share/g/aisle/v1/+/+/+/up/erasure_receipt");
  auto parsed = parse_uplink_topic("aisle/v1/acme/store-1/agent-1/up/consent_sync");
  REQUIRE(parsed);
  CHECK(parsed->agent == a);
  CHECK(parsed->kind == "consent_sync");
  CHECK_FALSE(parse_uplink_topic("aisle/v1/acme/store-1/agent-1/events"));
  CHECK_FALSE(parse_uplink_topic("aisle/v1/acme/store-1/agent-1/down/consent"));
  CHECK_FALSE(parse_uplink_topic("aisle/v1/acme//agent-1/up/x"));
  // A broadcast topic is never mistaken for an agent's events topic.
  CHECK_FALSE(parse_events_topic(broadcast_topic("acme", "events")));
}

TEST_CASE("consent updates round-trip and bad ones name the field", "[common][wire][privacy]") {
  ConsentUpdate u;
  u.from_version = 4;
  u.to_version = 6;
  u.more = true;
  ConsentEntry e;
  e.identity = "user_id:cust-1";
  e.flags.analytics = ConsentState::kGranted;
  e.flags.marketing = ConsentState::kDenied;
  e.decided_at = 1764325000000;
  e.version = 5;
  u.entries.push_back(e);
  e.identity = "email_sha256:ab12";
  e.version = 6;
  u.entries.push_back(e);
  auto decoded = decode_consent_update(encode_consent_update(u));
  REQUIRE(decoded);
  CHECK(*decoded == u);

  auto outside = decode_consent_update(
      R"({"from_version":4,"to_version":6,"entries":[{"identity":"user_id:x","decided_at":1,"version":9}]})");
  REQUIRE_FALSE(outside);
  CHECK_THAT(outside.error().message, Catch::Contains("entries[0]") && Catch::Contains("version 9"));
  auto bad_state = decode_consent_update(
      R"({"from_version":0,"to_version":1,"entries":[{"identity":"user_id:x","analytics":"yes","decided_at":1,"version":1}]})");
  REQUIRE_FALSE(bad_state);
  CHECK_THAT(bad_state.error().message, Catch::Contains("'analytics'"));
  auto no_type = decode_consent_update(
      R"({"from_version":0,"to_version":1,"entries":[{"identity":"x","decided_at":1,"version":1}]})");
  REQUIRE_FALSE(no_type);
  CHECK_THAT(no_type.error().message, Catch::Contains("type:value"));
  CHECK_FALSE(decode_consent_update(R"({"from_version":5,"to_version":4,"entries":[]})"));
  CHECK_FALSE(decode_consent_update("[]"));
}

TEST_CASE("consent sync, erasure requests and receipts round-trip", "[common][wire][privacy]") {
  auto sync = decode_consent_sync(encode_consent_sync({42}));
  REQUIRE(sync);
  CHECK(sync->since_version == 42);
  CHECK_FALSE(decode_consent_sync(R"({"since_version":-1})"));

  ErasureRequest r{"0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a11", {"user_id:u1", "loyalty_id:abc"},
                   1764325000000};
  auto request = decode_erasure_request(encode_erasure_request(r));
  REQUIRE(request);
  CHECK(*request == r);
  CHECK_FALSE(decode_erasure_request(
      R"({"erasure_id":"e","identities":[],"requested_at":1})"));
  auto bad_id = decode_erasure_request(
      R"({"erasure_id":"e","identities":["u1"],"requested_at":1})");
  REQUIRE_FALSE(bad_id);
  CHECK_THAT(bad_id.error().message, Catch::Contains("identities[0]"));

  ErasureReceipt receipt;
  receipt.erasure_id = r.erasure_id;
  receipt.tenant = "acme";
  receipt.store_id = "store-1";
  receipt.agent_id = "agent-1";
  receipt.events_purged = 12;
  receipt.cache_entries_purged = 2;
  receipt.purged_at = 1764325001000;
  receipt.signature = "c2ln";
  receipt.certificate = "-----BEGIN CERTIFICATE-----\n...";
  auto decoded = decode_erasure_receipt(encode_erasure_receipt(receipt));
  REQUIRE(decoded);
  CHECK(*decoded == receipt);
  // The signed text covers every field but the signature and certificate themselves.
  ErasureReceipt changed = receipt;
  changed.events_purged = 11;
  CHECK(signed_text(changed) != signed_text(receipt));
  changed = receipt;
  changed.signature = "other";
  CHECK(signed_text(changed) == signed_text(receipt));
}

TEST_CASE("consent_version travels in the envelope", "[common][event][privacy]") {
  Event e;
  e.event_id = "0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a11";
  e.type = "page_view";
  e.schema = "aisle/page_view/jsonschema/1-0-0";
  e.occurred_at = 1764325000000;
  e.source.store_id = "web-nl";
  e.consent_version = 17;
  const std::string text = to_json_text(e);
  CHECK_THAT(text, Catch::Contains("\"consent_version\":17"));
  CHECK(text == to_json(e).dump());
  std::vector<schema::ValidationError> errors;
  Event back;
  REQUIRE(decode_event(nlohmann::json::parse(text), back, errors));
  CHECK(back.consent_version == 17u);
  errors.clear();
  auto j = nlohmann::json::parse(text);
  j["consent_version"] = -3;
  CHECK_FALSE(decode_event(std::move(j), back, errors));
  REQUIRE_FALSE(errors.empty());
  CHECK(errors[0].instance_path == "/consent_version");
}
