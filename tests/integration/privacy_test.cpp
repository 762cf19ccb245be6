// Privacy at the edge against a real Mosquitto (TLS, client certificates, the production ACL):
// a real Agent posts raw identifiers over HTTP; the test plays the collector on the broker,
// reads every batch the agent publishes, decompresses it and proves that no raw e-mail, phone,
// loyalty number or full client IP left the store; then answers the agent's consent sync and
// broadcasts a denial, after which that shopper's next events are dropped or anonymized.
#include "common/wire/privacy.hpp"

#include <httplib.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "agent/agent.hpp"
#include "common/crypto.hpp"
#include "common/uuid.hpp"
#include "common/wire/batch.hpp"
#include "tests/support/mqtt_inbox.hpp"
#include "tests/support/mosquitto_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kKey = "acme-tenant-pseudonymization-key-2026-0001";
const wire::AgentAddress kAgent{"acme", "store-1", "agent-1"};

std::string hmac(const std::string& normalized) {
  return crypto::hmac_sha256_hex(kKey, normalized);
}

using Inbox = test::MqttInbox;  // what the broker delivered to the test's collector-identity client

// Every record of every batch published so far (decompressed), waiting for `events` events.
struct Published {
  std::vector<json> events;
  std::vector<json> quarantined;
  std::string text;  // all decompressed bodies, for substring checks
};
Published published(Inbox& inbox, std::size_t events) {
  Published out;
  for (int attempt = 0; attempt < 150; ++attempt) {
    out = {};
    for (const auto& payload : inbox.wait_on(wire::events_topic(kAgent), 1, 100ms)) {
      auto batch = wire::decode_batch(payload);
      REQUIRE(batch);
      out.text += batch->body;
      for (const auto& r : batch->records) {
        (r.kind == 'e' ? out.events : out.quarantined).push_back(json::parse(r.json));
      }
    }
    if (out.events.size() >= events) break;
    std::this_thread::sleep_for(100ms);
  }
  return out;
}

UuidV7Generator ids;

json make_event(const std::string& type, json identities, json properties) {
  return {{"event_id", ids.next().to_string()},
          {"type", type},
          {"occurred_at", "2026-11-29T10:00:00.000Z"},
          {"source", {{"store_id", "store-1"}, {"channel", "kiosk"}, {"device_id", "kiosk-3"}}},
          {"identities", std::move(identities)},
          {"context", {{"ip", "198.51.100.23"}, {"user_agent", "Kiosk/2.1"}}},
          {"properties", std::move(properties)}};
}

}  // namespace

TEST_CASE(
    "no raw PII reaches the broker, and a consent denial from the collector stops the "
    "shopper's next events at the agent",
    "[integration][privacy]") {
  test::MosquittoProcess broker;
  test::TempDir dir("aisle-privacy-it");

  // The collector's side, on the broker: events and sync requests in, consent out.
  mqtt::MqttClient collector(broker.client_options(broker.collector(), "test-collector"));
  Inbox inbox;
  inbox.attach(collector);
  REQUIRE(collector.connect());
  REQUIRE(collector.subscribe(wire::events_topic(kAgent)));
  REQUIRE(collector.subscribe(wire::uplink_topic(kAgent, "consent_sync")));

  const test::TlsIdentity identity = broker.agent("store-1", "agent-1");
  agent::AgentConfig c;
  c.tenant = "acme";
  c.store_id = "store-1";
  c.agent_id = "agent-1";
  c.http.port = 0;
  c.http.threads = 2;
  c.schemas_builtin_dir = AISLE_SCHEMAS_SOURCE_DIR;
  c.outbox.path = dir.file("outbox.db");
  c.shutdown_grace = 0ms;
  c.mqtt = broker.client_options(identity, "aisle-agent-store-1-agent-1");
  test::write_file(dir.file("tenant.key"), std::string(kKey) + "\n");
  c.privacy.pseudonymization.enabled = true;
  c.privacy.pseudonymization.key_file = dir.file("tenant.key");
  c.privacy.pseudonymization.phone.default_country_code = "49";
  c.privacy.consent.cache_path = dir.file("consent.db");
  c.privacy.consent.on_denied = agent::privacy::ConsentAction::kAnonymize;
  c.privacy.consent.anonymize_keep["product_view"] = {"sku"};
  auto created = agent::Agent::create(std::move(c));
  REQUIRE(created);
  auto& a = **created;
  REQUIRE(a.start());
  httplib::Client http("127.0.0.1", a.http_port());
  auto post = [&](const json& event) {
    auto response = http.Post("/v1/events", event.dump(), "application/json");
    REQUIRE(response);
    REQUIRE(response->status == 202);
    return json::parse(response->body);
  };

  // 1. Raw identifiers in, pseudonyms out.
  const json jane = {{"email", " Jane.Doe@Example.com"},
                     {"phone", "+49 (0)30 1234-567"},
                     {"loyalty_id", "LOY-4471209388"}};
  CHECK(post(make_event("identify", jane, {{"method", "loyalty_scan"}}))["accepted"] == 1);
  // A rejected event (bad property) carrying raw identifiers is quarantined redacted.
  json bad = make_event("product_view", {{"email", "jane.doe@example.com"}}, {{"price", -1}});
  CHECK(post(bad)["rejected"].size() == 1);
  const Published first = published(inbox, 1);
  REQUIRE(first.events.size() == 1);
  REQUIRE(first.quarantined.size() == 1);
  CHECK(first.events[0]["identities"] == json{{"email_sha256", hmac("jane.doe@example.com")},
                                              {"phone_sha256", hmac("+49301234567")},
                                              {"loyalty_id", hmac("LOY-4471209388")}});
  CHECK(first.events[0]["context"]["ip"] == "198.51.100.0");
  CHECK(first.quarantined[0]["raw_redacted"] == true);
  for (const char* raw :
       {"Jane.Doe", "jane.doe@", "1234-567", "301234567", "LOY-4471209388", "198.51.100.23"}) {
    INFO(raw);
    CHECK(first.text.find(raw) == std::string::npos);
  }

  // 2. The agent asked for a consent sync on connect; the collector answers (one page).
  const auto requests = inbox.wait_on(wire::uplink_topic(kAgent, "consent_sync"), 1);
  REQUIRE(requests.size() >= 1);
  CHECK(wire::decode_consent_sync(requests[0])->since_version == 0);
  wire::ConsentEntry granted{"loyalty_id:" + hmac("LOY-4471209388"), {}, 1'764'400'000'000, 1};
  granted.flags.analytics = ConsentState::kGranted;
  REQUIRE(collector.publish_and_wait(wire::downlink_topic(kAgent, "consent"),
                                     wire::encode_consent_update({0, 1, false, {granted}}), 5s));

  // 3. Jane withdraws analytics consent (at another store): the collector broadcasts it.
  wire::ConsentEntry denied{
      "email_sha256:" + hmac("jane.doe@example.com"), {}, 1'764'400'100'000, 2};
  denied.flags.analytics = ConsentState::kDenied;
  REQUIRE(collector.publish_and_wait(wire::broadcast_topic("acme", "consent"),
                                     wire::encode_consent_update({1, 2, false, {denied}}), 5s));
  bool applied = false;
  for (int attempt = 0; attempt < 100 && !applied; ++attempt) {
    auto status = http.Get("/v1/status");
    REQUIRE(status);
    applied = json::parse(status->body)["consent"]["version"] == 2;
    if (!applied) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(applied);

  // Her next events: a product view is anonymized, an identify (no list) dropped.
  const json jane_again = {{"email", "JANE.DOE@example.com"}, {"user_id", "cust-104857"}};
  CHECK(post(make_event(
            "product_view", jane_again,
            {{"sku", "ESP-BRW-870-SS"}, {"price", 549.0}, {"currency", "EUR"}}))["accepted"] == 1);
  const json dropped = post(make_event("identify", jane_again, {{"method", "login"}}));
  CHECK(dropped["accepted"] == 0);
  CHECK(dropped["dropped_no_consent"] == 1);
  const Published second = published(inbox, 2);
  REQUIRE(second.events.size() == 2);
  const json& anonymized = second.events[1];
  CHECK(anonymized["type"] == "product_view");
  CHECK_FALSE(anonymized.contains("identities"));
  CHECK_FALSE(anonymized.contains("context"));
  CHECK_FALSE(anonymized["source"].contains("device_id"));
  CHECK(anonymized["properties"] == json{{"sku", "ESP-BRW-870-SS"}});
  CHECK(anonymized["consent_version"] == 2);
  CHECK(second.text.find("cust-104857") == std::string::npos);
  a.stop();
}

}  // namespace aisle
