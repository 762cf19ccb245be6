// Privacy at the edge, through a real Agent (SQLite outbox, HTTP on a free port, fake uplink):
// pseudonymization, IP truncation, minimization, consent policy, redacted quarantine, and the
// config checks that refuse a policy which would break events.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <thread>

#include "agent/agent.hpp"
#include "agent/privacy/pseudonymizer.hpp"
#include "common/crypto.hpp"
#include "common/uuid.hpp"
#include "common/wire/privacy.hpp"
#include "tests/support/fake_uplink.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::agent {
namespace {

using nlohmann::json;

constexpr const char* kKey = "0123456789abcdef0123456789abcdef-tenant-acme";

struct PrivacyAgent {
  test::TempDir dir{"aisle-privacy"};
  test::FakeUplink* uplink = nullptr;
  std::unique_ptr<Agent> agent;
  std::unique_ptr<httplib::Client> client;

  static AgentConfig base_config(const test::TempDir& dir) {
    AgentConfig c;
    c.tenant = "acme";
    c.store_id = "store-1";
    c.agent_id = "agent-1";
    c.http.port = 0;
    c.http.threads = 2;
    c.schemas_builtin_dir = AISLE_SCHEMAS_SOURCE_DIR;
    c.outbox.path = dir.file("outbox.db");
    c.outbox.durability = OutboxDurability::kNormal;
    c.shutdown_grace = std::chrono::milliseconds(0);
    c.privacy.consent.cache_path = dir.file("consent.db");
    test::write_file(dir.file("tenant.key"), std::string(kKey) + "\n");
    c.privacy.pseudonymization.enabled = true;
    c.privacy.pseudonymization.key_file = dir.file("tenant.key");
    c.privacy.pseudonymization.phone.default_country_code = "49";
    return c;
  }

  explicit PrivacyAgent(std::function<void(AgentConfig&)> adjust = {}) {
    AgentConfig c = base_config(dir);
    if (adjust) adjust(c);
    auto fake = std::make_unique<test::FakeUplink>();
    uplink = fake.get();
    auto created = Agent::create(std::move(c), nullptr, std::move(fake));
    REQUIRE(created);
    agent = std::move(*created);
    REQUIRE(agent->start());
    client = std::make_unique<httplib::Client>("127.0.0.1", agent->http_port());
  }

  json post(const json& event) {
    auto response = client->Post("/v1/events", event.dump(), "application/json");
    REQUIRE(response);
    REQUIRE(response->status == 202);
    return json::parse(response->body);
  }

  // Every record the forwarder published so far, of `kind` ('e' or 'q'), waiting for `count`.
  std::vector<json> published(char kind, std::size_t count) {
    std::vector<json> out;
    for (int attempt = 0; attempt < 300; ++attempt) {
      out.clear();
      for (const auto& batch : uplink->decoded()) {
        for (const auto& r : batch.records) {
          if (r.kind == kind) out.push_back(json::parse(r.json));
        }
      }
      if (out.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return out;
  }
  // Every byte the forwarder published (compressed batches decoded), for "no raw PII" checks.
  std::string all_published_text() {
    std::string text;
    for (const auto& batch : uplink->decoded()) text += batch.body;
    return text;
  }

  void broadcast_consent(std::uint64_t from, std::uint64_t to, const std::string& identity,
                         ConsentState analytics) {
    wire::ConsentEntry e;
    e.identity = identity;
    e.flags.analytics = analytics;
    e.decided_at = 1'700'000'000'000;
    e.version = to;
    REQUIRE(uplink->deliver(wire::broadcast_topic("acme", "consent"),
                            wire::encode_consent_update({from, to, false, {e}})));
  }
};

UuidV7Generator ids;

json event(const std::string& type) {
  json e = json::parse(
      test::read_file(std::string(AISLE_SCHEMAS_SOURCE_DIR) + "/examples/" + type + ".json"));
  e["event_id"] = ids.next().to_string();
  e["source"]["store_id"] = "store-1";
  e["source"]["channel"] = "kiosk";
  e["source"]["device_id"] = "kiosk-3";
  e["source"].erase("agent_id");
  e.erase("received_at");
  e.erase("consent");
  return e;
}

std::string hmac(const std::string& normalized) {
  return crypto::hmac_sha256_hex(kKey, normalized);
}

}  // namespace

TEST_CASE("two pseudonymizers with the tenant key hash one person to the same value",
          "[agent][privacy]") {
  using privacy::FieldKind;
  using privacy::Pseudonymizer;
  test::TempDir dir("aisle-privacy");
  test::write_file(dir.file("a.key"), std::string(kKey) + "\n");
  test::write_file(dir.file("b.key"), kKey);
  auto store_a = Pseudonymizer::from_key_file(dir.file("a.key"), 32, {"49", "0"});
  auto store_b = Pseudonymizer::from_key_file(dir.file("b.key"), 32, {"49", "0"});
  REQUIRE(store_a);
  REQUIRE(store_b);
  const std::string email = hmac("jane.doe@example.com");
  CHECK(*store_a->pseudonymize(FieldKind::kEmail, " Jane.Doe@Example.com") == email);
  CHECK(*store_b->pseudonymize(FieldKind::kEmail, "jane.doe@EXAMPLE.COM\n") == email);
  CHECK(*store_a->pseudonymize(FieldKind::kPhone, "030 1234567") == hmac("+49301234567"));
  CHECK(*store_b->pseudonymize(FieldKind::kPhone, "+49 30 123-4567") == hmac("+49301234567"));
  CHECK(*store_a->pseudonymize(FieldKind::kText, " LOY-4471209388 ") == hmac("LOY-4471209388"));
  Pseudonymizer other_tenant("another-tenant-key-another-tenant-key", {"49", "0"});
  CHECK(*other_tenant.pseudonymize(FieldKind::kEmail, "jane.doe@example.com") != email);
}

TEST_CASE("a missing or short pseudonymization key refuses start, naming the file",
          "[agent][privacy]") {
  test::TempDir dir("aisle-privacy");
  AgentConfig c = PrivacyAgent::base_config(dir);
  c.privacy.pseudonymization.key_file = dir.file("missing.key");
  auto missing = Agent::create(c, nullptr, std::make_unique<test::FakeUplink>());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("missing.key: cannot open the key file") != std::string::npos);
  test::write_file(dir.file("short.key"), "too-short\n");
  c.privacy.pseudonymization.key_file = dir.file("short.key");
  auto short_key = Agent::create(c, nullptr, std::make_unique<test::FakeUplink>());
  REQUIRE_FALSE(short_key);
  CHECK(short_key.error().message.find("the key is 9 bytes; at least 32 are required") !=
        std::string::npos);
}

TEST_CASE("a minimization list without a required property refuses start, naming both",
          "[agent][privacy]") {
  test::TempDir dir("aisle-privacy");
  AgentConfig c = PrivacyAgent::base_config(dir);
  c.privacy.minimization["purchase"] = {"order_id", "items", "total", "currency"};
  auto created = Agent::create(c, nullptr, std::make_unique<test::FakeUplink>());
  REQUIRE_FALSE(created);
  CHECK(created.error().message.find("privacy.minimization.purchase: would remove the required "
                                     "property 'transaction_type'") != std::string::npos);
  c.privacy.minimization.clear();
  c.privacy.pseudonymization.properties["product_view"]["gtin"] = privacy::FieldKind::kText;
  created = Agent::create(c, nullptr, std::make_unique<test::FakeUplink>());
  REQUIRE_FALSE(created);
  CHECK(created.error().message.find("properties.product_view.gtin") != std::string::npos);
  CHECK(created.error().message.find("has 'pattern'") != std::string::npos);
}

TEST_CASE("the example config's privacy section parses and passes the schema checks",
          "[agent][privacy]") {
  const std::string path =
      std::string(AISLE_SCHEMAS_SOURCE_DIR) + "/../packaging/config/agent.example.json";
  auto config = load_agent_config(path);
  REQUIRE(config);
  const privacy::PrivacyOptions& p = config->privacy;
  CHECK(p.pseudonymization.enabled);
  CHECK(p.pseudonymization.key_file == "/etc/aisle/pseudonymization.key");
  CHECK(p.pseudonymization.identities ==
        std::set<std::string, std::less<>>{"email", "loyalty_id", "phone"});
  CHECK(p.pseudonymization.phone.default_country_code == "49");
  CHECK(p.ip_truncation.ipv6_prefix == 48);
  CHECK(p.minimization.at("page_view").count("url") == 1);
  CHECK(p.consent.on_denied == privacy::ConsentAction::kDrop);
  CHECK(p.consent.cache_path == "/var/lib/aisle-agent/consent.db");
  CHECK(p.consent.sync_timeout == std::chrono::seconds(30));
  // With a key in place, the schema checks of --check-config pass.
  test::TempDir dir("aisle-privacy");
  test::write_file(dir.file("tenant.key"), kKey);
  config->privacy.pseudonymization.key_file = dir.file("tenant.key");
  config->schemas_builtin_dir = AISLE_SCHEMAS_SOURCE_DIR;
  config->schemas_extra_dirs.clear();
  CHECK(check_privacy(*config));
  // An anonymizing policy without lists is refused by the config parser.
  auto refused = parse_agent_config(
      R"({"tenant":"acme","store_id":"s","agent_id":"a","outbox":{"path":"/tmp/o.db"},
          "mqtt":{"uri":"ssl://b:8883","ca_file":"c","cert_file":"c","key_file":"k"},
          "privacy":{"consent":{"on_denied":"anonymize"}}})",
      "inline");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("/privacy/consent/anonymize_keep") != std::string::npos);
}

TEST_CASE("a POS adapter with its own loyalty_key is refused while the agent hashes loyalty_id",
          "[agent][privacy]") {
  test::TempDir dir("aisle-privacy");
  AgentConfig c = PrivacyAgent::base_config(dir);
  AdapterConfig pos;
  pos.name = "pos-lane-3";
  pos.transport = {{"type", "tcp"}, {"listen", "127.0.0.1:0"}};
  pos.decoder = {{"type", "pos_jsonl"}, {"loyalty_key", "store-0042-loyalty-key-2026"}};
  c.adapters.push_back(pos);
  auto refused = check_adapters(c);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("adapters[0] (pos-lane-3): decoder option 'loyalty_key' "
                                     "must not be set") != std::string::npos);
  c.adapters[0].decoder.erase("loyalty_key");
  CHECK(check_adapters(c));
}

TEST_CASE("raw e-mail, phone and loyalty numbers are hashed and the IP truncated before storage",
          "[agent][privacy]") {
  PrivacyAgent a;
  json e = event("identify");
  e["identities"] = {{"email", " Jane.Doe@Example.com "},
                     {"phone", "030 1234567"},
                     {"loyalty_id", "LOY-4471209388"},
                     {"user_id", "cust-104857"}};
  e["context"]["ip"] = "198.51.100.23";
  const json answer = a.post(e);
  CHECK(answer["accepted"] == 1);
  const auto events = a.published('e', 1);
  REQUIRE(events.size() == 1);
  const json& stored = events[0];
  CHECK(stored["identities"] == json{{"email_sha256", hmac("jane.doe@example.com")},
                                     {"phone_sha256", hmac("+49301234567")},
                                     {"loyalty_id", hmac("LOY-4471209388")},
                                     {"user_id", "cust-104857"}});
  CHECK(stored["context"]["ip"] == "198.51.100.0");
  CHECK(stored["consent_version"] == 0);
  const std::string text = a.all_published_text();
  for (const char* raw : {"Jane.Doe", "jane.doe", "1234567", "LOY-4471209388", "198.51.100.23"}) {
    INFO(raw);
    CHECK(text.find(raw) == std::string::npos);
  }
}

TEST_CASE(
    "an identifier that cannot be normalized is rejected, naming the field, and "
    "quarantined without its raw value",
    "[agent][privacy]") {
  PrivacyAgent a;
  json e = event("identify");
  e["identities"] = {{"phone", "call me maybe"}, {"email", "jane@example.com"}};
  const json answer = a.post(e);
  CHECK(answer["accepted"] == 0);
  REQUIRE(answer["rejected"].size() == 1);
  CHECK(answer["rejected"][0]["errors"][0]["path"] == "/identities/phone");
  CHECK(answer["rejected"][0]["errors"][0]["message"].get<std::string>().find(
            "not a phone number") != std::string::npos);
  const auto quarantined = a.published('q', 1);
  REQUIRE(quarantined.size() == 1);
  CHECK(quarantined[0]["raw_redacted"] == true);
  const json raw = json::parse(quarantined[0]["raw"].get<std::string>());
  CHECK(raw["identities"]["phone"] == "[redacted]");
  CHECK(raw["identities"]["email"] == "[redacted]");
  CHECK(a.all_published_text().find("jane@example.com") == std::string::npos);
}

TEST_CASE("minimization keeps only the listed properties and re-serializes them",
          "[agent][privacy]") {
  PrivacyAgent a([](AgentConfig& c) {
    c.privacy.minimization["product_view"] = {"sku", "price", "currency"};
    c.privacy.pseudonymization.properties["search"]["query"] = privacy::FieldKind::kEmail;
  });
  a.post(event("product_view"));
  json search = event("search");
  search["properties"]["query"] = "Jane.Doe@example.com";
  a.post(search);
  a.post(event("page_view"));  // not listed: untouched
  const auto events = a.published('e', 3);
  REQUIRE(events.size() == 3);
  CHECK(events[0]["properties"] ==
        json{{"sku", "ESP-BRW-870-SS"}, {"price", 549.0}, {"currency", "EUR"}});
  CHECK(events[1]["properties"]["query"] == hmac("jane.doe@example.com"));
  CHECK(events[2]["properties"] == event("page_view")["properties"]);
  const std::string metrics = a.agent->metrics().render();
  CHECK(metrics.find("aisle_agent_privacy_properties_removed_total 8") != std::string::npos);
  CHECK(metrics.find("aisle_agent_privacy_events_total{action=\"minimized\"} 1") !=
        std::string::npos);
}

TEST_CASE("without analytics consent events are dropped under the drop policy",
          "[agent][privacy][consent]") {
  PrivacyAgent a;
  json denied = event("product_view");
  denied["identities"] = {{"email", "jane@example.com"}};
  // Denied in the cache (keyed by the pseudonymized identity), pushed by the collector.
  a.broadcast_consent(0, 1, "email_sha256:" + hmac("jane@example.com"), ConsentState::kDenied);
  json answer = a.post(denied);
  CHECK(answer["accepted"] == 0);
  CHECK(answer["dropped_no_consent"] == 1);
  CHECK(answer["rejected"].empty());
  // The most restrictive answer wins: granted in the event, denied in the cache.
  denied["event_id"] = ids.next().to_string();
  denied["consent"] = {{"analytics", "granted"}};
  CHECK(a.post(denied)["dropped_no_consent"] == 1);
  // Denied in the event's own flags.
  json own = event("product_view");
  own["consent"] = {{"analytics", "denied"}};
  CHECK(a.post(own)["dropped_no_consent"] == 1);
  // Unknown consent is allowed by default and stamped with the cache version.
  json unknown = event("product_view");
  unknown["identities"] = {{"user_id", "cust-2"}};
  answer = a.post(unknown);
  CHECK(answer["accepted"] == 1);
  CHECK_FALSE(answer.contains("dropped_no_consent"));
  const auto events = a.published('e', 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["identities"]["user_id"] == "cust-2");
  CHECK(events[0]["consent_version"] == 1);
  // A consent event still reaches the collector: it is how the denial travels.
  json consent = event("consent");
  consent["identities"] = {{"email", "jane@example.com"}};
  CHECK(a.post(consent)["accepted"] == 1);
  CHECK(a.agent->metrics().render().find(
            "aisle_agent_privacy_events_total{action=\"dropped_no_consent\"} 3") !=
        std::string::npos);
}

TEST_CASE(
    "without analytics consent events are anonymized under the anonymize policy, and "
    "unknown consent follows its own setting",
    "[agent][privacy][consent]") {
  PrivacyAgent a([](AgentConfig& c) {
    c.privacy.consent.on_denied = privacy::ConsentAction::kAnonymize;
    c.privacy.consent.on_unknown = privacy::ConsentAction::kDrop;
    c.privacy.consent.anonymize_keep["product_view"] = {"sku", "category"};
  });
  a.broadcast_consent(0, 3, "user_id:cust-1", ConsentState::kDenied);
  json denied = event("product_view");
  denied["identities"] = {{"user_id", "cust-1"}, {"anonymous_id", "anon-1"}};
  denied["context"] = {{"ip", "203.0.113.9"}, {"user_agent", "Kiosk/1.0"}};
  CHECK(a.post(denied)["accepted"] == 1);
  // No list for page_view: dropped instead of anonymized.
  json page = event("page_view");
  page["identities"] = {{"user_id", "cust-1"}};
  CHECK(a.post(page)["dropped_no_consent"] == 1);
  // Unknown consent: dropped by this policy; granted in the event: kept.
  json unknown = event("product_view");
  unknown["identities"] = {{"user_id", "cust-7"}};
  CHECK(a.post(unknown)["dropped_no_consent"] == 1);
  json granted = event("product_view");
  granted["identities"] = {{"user_id", "cust-7"}};
  granted["consent"] = {{"analytics", "granted"}};
  CHECK(a.post(granted)["accepted"] == 1);

  const auto events = a.published('e', 2);
  REQUIRE(events.size() == 2);
  const json& anonymized = events[0];
  CHECK_FALSE(anonymized.contains("identities"));
  CHECK_FALSE(anonymized.contains("context"));
  CHECK_FALSE(anonymized["source"].contains("device_id"));
  CHECK(anonymized["properties"] ==
        json{{"sku", "ESP-BRW-870-SS"}, {"category", "coffee/espresso-machines"}});
  CHECK(anonymized["consent_version"] == 3);
  CHECK(events[1]["identities"]["user_id"] == "cust-7");
}

TEST_CASE("adapter events pass the same privacy filter, and /v1/status shows the consent cache",
          "[agent][privacy]") {
  PrivacyAgent a;
  a.broadcast_consent(0, 2, "user_id:cust-9", ConsentState::kGranted);
  Event e;
  e.type = "product_view";
  e.occurred_at = 1'764'300'000'000;
  e.source.store_id = "store-1";
  e.source.channel = Channel::kKiosk;
  e.identities = {{"loyalty_id", "LOY-1"}, {"user_id", "cust-9"}};
  e.context = EventContext{"2001:db8:85a3:8d3:1319:8a2e:370:7348", ""};
  e.properties = {{"sku", "A-1"}};
  std::vector<Event> events;
  events.push_back(e);
  const IngestReport report = a.agent->ingest().ingest_events(std::move(events), {"adapter:x", ""});
  CHECK(report.accepted == 1);
  const auto stored = a.published('e', 1);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0]["identities"]["loyalty_id"] == hmac("LOY-1"));
  CHECK(stored[0]["context"]["ip"] == "2001:db8:85a3::");
  CHECK(stored[0]["consent_version"] == 2);

  auto status = a.client->Get("/v1/status");
  REQUIRE(status);
  const json body = json::parse(status->body);
  CHECK(body["consent"]["version"] == 2);
  CHECK(body["consent"]["entries"] == 1);
}

TEST_CASE("undecodable frames of POS adapters are quarantined without their bytes",
          "[agent][privacy]") {
  PrivacyAgent a([](AgentConfig& c) {
    AdapterConfig pos;
    pos.name = "pos-lane-3";
    pos.enabled = false;  // built and checked, not started
    pos.transport = {{"type", "tcp"}, {"listen", "127.0.0.1:0"}};
    pos.decoder = {{"type", "pos_jsonl"}};
    c.adapters.push_back(pos);
  });
  const std::string frame = R"({"receipt_id":"R1","loyalty":"LOY-99887766",)";
  REQUIRE(a.agent->ingest().quarantine_frame(frame, "decode:malformed", {},
                                             {"adapter:pos-lane-3", "tcp:10.0.0.5"}));
  REQUIRE(a.agent->ingest().quarantine_frame("12;in;3", "decode:malformed", {},
                                             {"adapter:door-front", "tcp:10.0.0.6"}));
  const auto quarantined = a.published('q', 2);
  REQUIRE(quarantined.size() == 2);
  CHECK(quarantined[0]["raw"] == "");
  CHECK(quarantined[0]["raw_redacted"] == true);
  CHECK(quarantined[1]["raw"] == "12;in;3");  // a counter's frame holds nothing personal
  CHECK_FALSE(quarantined[1].contains("raw_redacted"));
  CHECK(a.all_published_text().find("LOY-99887766") == std::string::npos);
}

TEST_CASE("the consent cache lives beside the outbox by default and survives a restart",
          "[agent][privacy][consent]") {
  test::TempDir dir("aisle-privacy");
  for (int start = 0; start < 2; ++start) {
    AgentConfig c = PrivacyAgent::base_config(dir);
    c.privacy.consent.cache_path.clear();
    auto fake = std::make_unique<test::FakeUplink>();
    fake->reachable = false;
    test::FakeUplink* uplink = fake.get();
    auto created = Agent::create(std::move(c), nullptr, std::move(fake));
    REQUIRE(created);
    if (start == 0) {
      wire::ConsentEntry e{"user_id:cust-1", {}, 1'700'000'000'000, 4};
      e.flags.analytics = ConsentState::kDenied;
      REQUIRE(uplink->deliver(wire::broadcast_topic("acme", "consent"),
                              wire::encode_consent_update({0, 4, false, {e}})));
    }
    CHECK((*created)->consent_cache().version() == 4);
    CHECK((*created)->consent_cache().size() == 1);
  }
  CHECK(std::filesystem::exists(dir.file("consent.db")));
}

}  // namespace aisle::agent
