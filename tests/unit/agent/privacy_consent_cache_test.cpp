// The agent's consent cache (versions, gaps, persistence, purge) and its sync with the collector
// over the uplink (agent/privacy/consent_cache, consent_sync).
#include <catch2/catch.hpp>

#include "agent/privacy/consent_cache.hpp"
#include "agent/privacy/consent_sync.hpp"
#include "common/wire/privacy.hpp"
#include "tests/support/fake_uplink.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::agent::privacy {
namespace {

wire::ConsentEntry entry(std::string identity, ConsentState analytics, std::uint64_t version) {
  wire::ConsentEntry e;
  e.identity = std::move(identity);
  e.flags.analytics = analytics;
  e.flags.personalization = analytics;
  e.decided_at = 1'700'000'000'000 + static_cast<UnixMillis>(version);
  e.version = version;
  return e;
}

wire::ConsentUpdate update(std::uint64_t from, std::uint64_t to,
                           std::vector<wire::ConsentEntry> entries, bool more = false) {
  return wire::ConsentUpdate{from, to, more, std::move(entries)};
}

std::unique_ptr<ConsentCache> open_cache(const test::TempDir& dir) {
  auto cache = ConsentCache::open(dir.file("consent.db"));
  REQUIRE(cache);
  return std::move(*cache);
}

const std::map<std::string, std::string> kJane{{"user_id", "cust-1"}, {"anonymous_id", "anon-7"}};

}  // namespace

TEST_CASE("consent updates apply on top of the cache version and survive a restart",
          "[agent][privacy][consent]") {
  test::TempDir dir("aisle-consent");
  {
    auto cache = open_cache(dir);
    CHECK(cache->version() == 0);
    CHECK(cache->analytics_for(kJane) == ConsentState::kUnknown);
    auto r = cache->apply(update(0, 2,
                                 {entry("user_id:cust-1", ConsentState::kGranted, 1),
                                  entry("user_id:cust-2", ConsentState::kDenied, 2)}));
    REQUIRE(r);
    CHECK(r->outcome == ApplyOutcome::kApplied);
    CHECK(r->entries_stored == 2);
    CHECK(cache->version() == 2);
    CHECK(cache->analytics_for(kJane) == ConsentState::kGranted);
    REQUIRE(cache->apply(update(2, 3, {entry("anonymous_id:anon-7", ConsentState::kDenied, 3)})));
    // Denied for any of the event's identities wins.
    CHECK(cache->analytics_for(kJane) == ConsentState::kDenied);
  }
  auto reopened = open_cache(dir);
  CHECK(reopened->version() == 3);
  CHECK(reopened->size() == 3);
  CHECK(reopened->analytics_for(kJane) == ConsentState::kDenied);
  auto held = reopened->find("user_id:cust-2");
  REQUIRE(held);
  CHECK(held->flags.analytics == ConsentState::kDenied);
  CHECK(held->version == 2);
}

TEST_CASE("an update above the cache version is a gap and changes nothing",
          "[agent][privacy][consent]") {
  test::TempDir dir("aisle-consent");
  auto cache = open_cache(dir);
  REQUIRE(cache->apply(update(0, 1, {entry("user_id:cust-1", ConsentState::kGranted, 1)})));
  auto gap = cache->apply(update(4, 5, {entry("user_id:cust-1", ConsentState::kDenied, 5)}));
  REQUIRE(gap);
  CHECK(gap->outcome == ApplyOutcome::kGap);
  CHECK(cache->version() == 1);
  CHECK(cache->analytics_for(kJane) == ConsentState::kGranted);
}

TEST_CASE("entries not newer than the held ones are ignored, so replays are harmless",
          "[agent][privacy][consent]") {
  test::TempDir dir("aisle-consent");
  auto cache = open_cache(dir);
  REQUIRE(cache->apply(update(0, 5, {entry("user_id:cust-1", ConsentState::kDenied, 5)})));
  // An overlapping sync page that still carries the older decision.
  auto r = cache->apply(update(0, 6,
                               {entry("user_id:cust-1", ConsentState::kGranted, 3),
                                entry("user_id:cust-9", ConsentState::kGranted, 6)}));
  REQUIRE(r);
  CHECK(r->entries_stored == 1);
  CHECK(r->entries_ignored == 1);
  CHECK(cache->version() == 6);
  CHECK(cache->find("user_id:cust-1")->flags.analytics == ConsentState::kDenied);
  // Within one update the newest entry of an identity wins.
  REQUIRE(cache->apply(update(6, 8,
                              {entry("user_id:cust-9", ConsentState::kDenied, 8),
                               entry("user_id:cust-9", ConsentState::kGranted, 7)})));
  CHECK(cache->find("user_id:cust-9")->flags.analytics == ConsentState::kDenied);
}

TEST_CASE("purge removes the identities' entries for good", "[agent][privacy][consent]") {
  test::TempDir dir("aisle-consent");
  {
    auto cache = open_cache(dir);
    REQUIRE(cache->apply(update(0, 2,
                                {entry("user_id:cust-1", ConsentState::kDenied, 1),
                                 entry("user_id:cust-2", ConsentState::kGranted, 2)})));
    CHECK(cache->purge({"user_id:cust-1", "email_sha256:none"}) == 1);
    CHECK(cache->purge({"user_id:cust-1"}) == 0);
    CHECK(cache->size() == 1);
  }
  auto reopened = open_cache(dir);
  CHECK(reopened->size() == 1);
  CHECK_FALSE(reopened->find("user_id:cust-1"));
  CHECK(reopened->version() == 2);
}

TEST_CASE("a consent cache of a newer schema version is refused", "[agent][privacy][consent]") {
  test::TempDir dir("aisle-consent");
  { auto cache = open_cache(dir); }
  {
    auto db = SqliteDb::open(dir.file("consent.db"));
    REQUIRE(db);
    REQUIRE(db->exec("PRAGMA user_version=99"));
  }
  auto cache = ConsentCache::open(dir.file("consent.db"));
  REQUIRE_FALSE(cache);
  CHECK(cache.error().message.find("schema version 99") != std::string::npos);
}

TEST_CASE("the agent asks for a sync on connect, applies the pages, and heals a gap",
          "[agent][privacy][consent]") {
  test::TempDir dir("aisle-consent");
  auto cache = open_cache(dir);
  test::FakeUplink uplink;
  auto clock = std::make_shared<ManualClock>();
  metrics::Registry metrics;
  const wire::AgentAddress address{"acme", "store-1", "agent-1"};
  ConsentSync sync(*cache, uplink, address, clock, std::chrono::seconds(30), metrics);
  sync.attach();
  const std::string broadcast = wire::broadcast_topic("acme", "consent");
  const std::string answers = wire::downlink_topic(address, "consent");
  const std::string requests = wire::uplink_topic(address, "consent_sync");

  REQUIRE(uplink.connect());
  auto sent = uplink.published_on();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == requests);
  CHECK(wire::decode_consent_sync(sent[0].second)->since_version == 0);

  // The answer in two pages.
  REQUIRE(uplink.deliver(
      answers, wire::encode_consent_update(
                   update(0, 2, {entry("user_id:cust-1", ConsentState::kGranted, 2)}, true))));
  CHECK(sync.status()["sync_pending"] == true);
  REQUIRE(uplink.deliver(answers, wire::encode_consent_update(update(
                                      2, 4, {entry("user_id:cust-2", ConsentState::kDenied, 4)}))));
  CHECK(cache->version() == 4);
  CHECK(sync.status()["sync_pending"] == false);

  // A broadcast on top applies; one after a missed broadcast asks for a sync from version 5.
  REQUIRE(
      uplink.deliver(broadcast, wire::encode_consent_update(update(
                                    4, 5, {entry("user_id:cust-1", ConsentState::kDenied, 5)}))));
  CHECK(cache->analytics_for({{"user_id", "cust-1"}}) == ConsentState::kDenied);
  REQUIRE(
      uplink.deliver(broadcast, wire::encode_consent_update(update(
                                    6, 7, {entry("user_id:cust-3", ConsentState::kDenied, 7)}))));
  CHECK(cache->version() == 5);
  sent = uplink.published_on();
  REQUIRE(sent.size() == 2);
  CHECK(wire::decode_consent_sync(sent[1].second)->since_version == 5);
  // Another gap while that sync is pending does not ask again...
  REQUIRE(
      uplink.deliver(broadcast, wire::encode_consent_update(update(
                                    7, 8, {entry("user_id:cust-4", ConsentState::kDenied, 8)}))));
  CHECK(uplink.published_on().size() == 2);
  // ...but once the answer ends below a version already seen (8), it asks from there.
  REQUIRE(uplink.deliver(answers, wire::encode_consent_update(update(
                                      5, 7, {entry("user_id:cust-3", ConsentState::kDenied, 7)}))));
  CHECK(cache->version() == 7);
  sent = uplink.published_on();
  REQUIRE(sent.size() == 3);
  CHECK(wire::decode_consent_sync(sent[2].second)->since_version == 7);
  // A pending sync that is never answered is repeated on the next gap after the timeout.
  clock->advance(std::chrono::seconds(31));
  REQUIRE(
      uplink.deliver(broadcast, wire::encode_consent_update(update(
                                    9, 10, {entry("user_id:cust-5", ConsentState::kDenied, 10)}))));
  CHECK(uplink.published_on().size() == 4);
  // Garbage is counted and ignored.
  REQUIRE(uplink.deliver(broadcast, "{not json"));
  CHECK(cache->version() == 7);
  CHECK(metrics.render().find("aisle_agent_consent_updates_total{result=\"invalid\"} 1") !=
        std::string::npos);
}

}  // namespace aisle::agent::privacy
