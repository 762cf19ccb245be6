// The collector's privacy policy around commits, and the consent broadcaster's paging.
#include <catch2/catch.hpp>

#include <map>

#include "collector/privacy/consent_broadcaster.hpp"
#include "collector/privacy/privacy_hooks.hpp"
#include "common/event_json.hpp"

using namespace aisle;
using namespace aisle::collector;

namespace {

Event shopper_event(std::string id, std::string type, std::map<std::string, std::string> ids) {
  Event e;
  e.event_id = std::move(id);
  e.type = std::move(type);
  e.schema = "aisle/" + e.type + "/jsonschema/1-0-0";
  e.occurred_at = 1764325000000;
  e.received_at = 1764325000100;
  e.source.store_id = "store-1";
  e.source.channel = Channel::kKiosk;
  e.source.device_id = "kiosk-3";
  e.identities = std::move(ids);
  e.context = EventContext{"203.0.113.0", "kiosk/1.0"};
  e.properties = {{"sku", "SKU-1"}, {"category", "espresso"}, {"price", 399.0}};
  return e;
}

// A request and its parallel decoded events, as the pipeline hands them to the hooks.
struct Pending {
  CommitRequest request;
  std::vector<Event> events;
  void add(Event e) {
    StoredEvent stored;
    stored.event_id = e.event_id;
    stored.type = e.type;
    stored.payload = to_json_text(e);
    request.events.push_back(std::move(stored));
    events.push_back(std::move(e));
  }
};

struct Directory {
  std::map<std::string, ConsentFlags> consent;  // "type:value"
  std::set<std::string> erased;
  IdentityLookups lookups() {
    return {[this](std::string_view t, std::string_view v) {
              return erased.count(std::string(t) + ":" + std::string(v)) > 0;
            },
            [this](std::string_view t, std::string_view v) -> std::optional<ConsentFlags> {
              auto it = consent.find(std::string(t) + ":" + std::string(v));
              if (it == consent.end()) return std::nullopt;
              return it->second;
            }};
  }
};

ConsentFlags analytics(ConsentState state) {
  ConsentFlags f;
  f.analytics = state;
  return f;
}

}  // namespace

TEST_CASE("events of shoppers who denied analytics are dropped, and consent records are kept",
          "[collector][privacy]") {
  metrics::Registry metrics;
  Directory dir;
  dir.consent["user_id:denier"] = analytics(ConsentState::kDenied);
  dir.consent["user_id:fan"] = analytics(ConsentState::kGranted);
  std::vector<Event> fed;
  PrivacyHooks hooks({}, dir.lookups(), [&](std::vector<Event>&& e) {
    for (auto& x : e) fed.push_back(std::move(x));
  }, metrics);

  Pending p;
  p.add(shopper_event("00000000-0000-7000-8000-000000000001", "product_view", {{"user_id", "fan"}}));
  p.add(shopper_event("00000000-0000-7000-8000-000000000002", "product_view", {{"user_id", "denier"}}));
  p.add(shopper_event("00000000-0000-7000-8000-000000000003", "consent", {{"user_id", "denier"}}));
  p.add(shopper_event("00000000-0000-7000-8000-000000000004", "product_view", {{"anonymous_id", "new"}}));
  Event stale = shopper_event("00000000-0000-7000-8000-000000000005", "product_view",
                              {{"user_id", "fan"}});
  stale.consent = analytics(ConsentState::kDenied);  // the producer saw a denial at the time
  p.add(stale);

  hooks.before_commit(p.request, p.events);
  REQUIRE(p.request.events.size() == 3);
  REQUIRE(p.events.size() == 3);
  CHECK(p.request.events[0].event_id == "00000000-0000-7000-8000-000000000001");
  CHECK(p.request.events[1].type == "consent");
  CHECK(p.request.events[2].event_id == "00000000-0000-7000-8000-000000000004");
  CHECK(metrics.render().find(
            "aisle_collector_privacy_events_total{action=\"dropped_no_consent\"} 2") !=
        std::string::npos);

  // After the commit the newly stored ones (not the duplicate) reach identity resolution with
  // their properties read back from the payload.
  CommitResult result;
  result.stored = 2;
  result.duplicates = 1;
  result.duplicate_flags = {false, false, true};
  hooks.start();
  hooks.after_commit(p.request, p.events, result);
  hooks.wait_idle();
  REQUIRE(fed.size() == 2);
  CHECK(fed[0].properties.value("category", "") == "espresso");
  CHECK(fed[1].type == "consent");
}

TEST_CASE("opt-in regimes and the anonymize action", "[collector][privacy]") {
  metrics::Registry metrics;
  Directory dir;
  PrivacyPolicy policy;
  policy.unknown_analytics_granted = false;
  policy.without_analytics = NoConsentAction::kAnonymize;
  policy.anonymous_properties["product_view"] = {"category"};
  PrivacyHooks hooks(policy, dir.lookups(), nullptr, metrics);

  Pending p;
  p.add(shopper_event("00000000-0000-7000-8000-000000000001", "product_view",
                      {{"anonymous_id", "a1"}, {"user_id", "u1"}}));
  p.add(shopper_event("00000000-0000-7000-8000-000000000002", "search", {{"user_id", "u1"}}));
  hooks.before_commit(p.request, p.events);
  REQUIRE(p.request.events.size() == 2);
  auto first = nlohmann::json::parse(p.request.events[0].payload);
  CHECK_FALSE(first.contains("identities"));
  CHECK_FALSE(first.contains("context"));
  CHECK_FALSE(first["source"].contains("device_id"));
  CHECK(first["properties"] == nlohmann::json{{"category", "espresso"}});
  CHECK(first["event_id"] == "00000000-0000-7000-8000-000000000001");
  auto second = nlohmann::json::parse(p.request.events[1].payload);
  CHECK(second["properties"] == nlohmann::json::object());  // no allow-list for search
  CHECK(p.events[0].identities.empty());
  for (const auto& e : p.request.events) {
    CHECK(e.payload.find("u1") == std::string::npos);
    CHECK(e.payload.find("203.0.113") == std::string::npos);
  }
}

TEST_CASE("events of erased identifiers are discarded, whatever their consent",
          "[collector][privacy]") {
  metrics::Registry metrics;
  Directory dir;
  dir.erased.insert("loyalty_id:gone");
  PrivacyHooks hooks({}, dir.lookups(), nullptr, metrics);
  Pending p;
  p.add(shopper_event("00000000-0000-7000-8000-000000000001", "consent", {{"loyalty_id", "gone"}}));
  p.add(shopper_event("00000000-0000-7000-8000-000000000002", "purchase",
                      {{"loyalty_id", "gone"}, {"user_id", "u9"}}));
  p.add(shopper_event("00000000-0000-7000-8000-000000000003", "purchase", {{"user_id", "u9"}}));
  hooks.before_commit(p.request, p.events);
  REQUIRE(p.request.events.size() == 1);
  CHECK(p.request.events[0].event_id == "00000000-0000-7000-8000-000000000003");
  CHECK(hooks.judge(p.events[0]) == PrivacyHooks::Verdict::kKeep);
}

TEST_CASE("consent sync answers page by version and never split a version",
          "[collector][privacy][consent]") {
  metrics::Registry metrics;
  // Versions 1..5; version 3 covers three identifiers of one profile.
  std::vector<wire::ConsentEntry> log;
  auto add = [&](std::string id, std::uint64_t v) {
    wire::ConsentEntry e;
    e.identity = std::move(id);
    e.flags.analytics = ConsentState::kGranted;
    e.decided_at = 1000 + static_cast<UnixMillis>(v);
    e.version = v;
    log.push_back(e);
  };
  add("user_id:a", 1);
  add("user_id:b", 2);
  add("user_id:c", 3);
  add("anonymous_id:c1", 3);
  add("loyalty_id:c2", 3);
  add("user_id:d", 4);
  add("user_id:e", 5);
  std::uint64_t current = 5;
  std::vector<std::pair<std::string, std::string>> published;
  ConsentBroadcaster broadcaster(
      {"acme", 3},
      [&](std::uint64_t since, std::size_t limit) -> Result<std::vector<wire::ConsentEntry>> {
        std::vector<wire::ConsentEntry> out;
        for (const auto& e : log) {
          if (e.version > since && out.size() < limit) out.push_back(e);
        }
        return out;
      },
      [&] { return current; },
      [&](const std::string& topic, const std::string& payload) -> Status {
        published.emplace_back(topic, payload);
        return ok_status();
      },
      metrics);

  auto pages = broadcaster.sync_pages(0);
  REQUIRE(pages);
  std::vector<wire::ConsentEntry> seen;
  std::uint64_t at = 0;
  for (const auto& page : *pages) {
    CHECK(page.from_version == at);
    for (const auto& e : page.entries) {
      CHECK(e.version > page.from_version);
      CHECK(e.version <= page.to_version);
      seen.push_back(e);
    }
    at = page.to_version;
  }
  CHECK(at == 5);
  CHECK(pages->back().more == false);
  CHECK(seen == log);  // every entry exactly once, in order

  // Up to date: one empty page that confirms the version.
  auto none = broadcaster.sync_pages(5);
  REQUIRE(none);
  REQUIRE(none->size() == 1);
  CHECK(none->front().entries.empty());
  CHECK(none->front().to_version == 5);

  // A sync request on an agent's uplink is answered on that agent's downlink.
  broadcaster.answer_sync({"acme", "store-1", "agent-1"}, wire::encode_consent_sync({4}));
  REQUIRE(published.size() == 1);
  CHECK(published[0].first == "aisle/v1/acme/store-1/agent-1/down/consent");
  auto answer = wire::decode_consent_update(published[0].second);
  REQUIRE(answer);
  REQUIRE(answer->entries.size() == 1);
  CHECK(answer->entries[0].identity == "user_id:e");
  // Another tenant's agent and garbage are refused without an answer.
  broadcaster.answer_sync({"other", "store-1", "agent-1"}, wire::encode_consent_sync({0}));
  broadcaster.answer_sync({"acme", "store-1", "agent-1"}, "{");
  CHECK(published.size() == 1);

  // A broadcast covers one version for every identifier of the profile.
  broadcaster.broadcast({"user_id:f", "anonymous_id:f1"}, analytics(ConsentState::kDenied), 2000, 6);
  REQUIRE(published.size() == 2);
  CHECK(published[1].first == "aisle/v1/acme/broadcast/consent");
  auto update = wire::decode_consent_update(published[1].second);
  REQUIRE(update);
  CHECK(update->from_version == 5);
  CHECK(update->to_version == 6);
  CHECK(update->entries.size() == 2);
}
