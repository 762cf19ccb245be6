#include "collector/profiles/profile_service.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector::profiles {
namespace {

using Ids = std::map<std::string, std::string>;
using nlohmann::json;

constexpr UnixMillis kT0 = 1'760'000'000'000;

std::string uuid_for(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "018bcfe5-6800-7000-8000-%012d", n);
  return buf;
}

Event make_event(int n, const std::string& type, UnixMillis at, Ids ids,
                 json properties = json::object(), Channel channel = Channel::kWeb,
                 const std::string& store = "web-nl") {
  Event e;
  e.event_id = uuid_for(n);
  e.type = type;
  e.schema = "aisle/" + type + "/jsonschema/1-0-0";
  e.occurred_at = at;
  e.source.store_id = store;
  e.source.channel = channel;
  e.identities = std::move(ids);
  e.properties = std::move(properties);
  return e;
}

json consent_props(const json& purposes, const std::string& source = "cmp") {
  return {{"purposes", purposes}, {"source", source}, {"policy_version", "2026-09"}};
}

class Fixture {
 public:
  explicit Fixture(ProfileServiceOptions options = {}) : options_(std::move(options)) {
    options_.path = dir_.file("profiles.db");
    reopen();
  }
  void reopen() {
    service_.reset();
    auto opened = ProfileService::open(options_, clock_, metrics_);
    REQUIRE(opened.ok());
    service_ = std::move(*opened);
  }
  ApplyResult apply(const std::vector<Event>& events) {
    std::vector<const Event*> pointers;
    for (const auto& e : events) pointers.push_back(&e);
    auto result = service_->apply(pointers);
    REQUIRE(result.ok());
    for (const auto& e : events) stored_[e.event_id] = e;
    return std::move(*result);
  }
  ProfileView view(const std::string& profile_id) {
    auto v = service_->get(profile_id);
    REQUIRE(v.ok());
    REQUIRE(v->has_value());
    return **v;
  }
  std::string profile(const std::string& type, const std::string& value) {
    auto id = service_->lookup(type, value);
    REQUIRE(id.has_value());
    return *id;
  }
  EventLoader loader() {
    return [this](const std::vector<std::string>& ids) -> Result<std::vector<Event>> {
      std::vector<Event> out;
      for (const auto& id : ids) {
        auto it = stored_.find(id);
        if (it != stored_.end()) out.push_back(it->second);
      }
      return out;
    };
  }
  ProfileService& service() { return *service_; }
  metrics::Registry& metrics() { return metrics_; }

 private:
  test::TempDir dir_{"aisle-profiles"};
  ProfileServiceOptions options_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics_;
  std::unique_ptr<ProfileService> service_;
  std::map<std::string, Event> stored_;
};

// The shopper journey of the issue: web anonymous -> login -> POS loyalty -> kiosk.
std::vector<Event> journey() {
  return {
      make_event(1, "page_view", kT0 + 1, {{"anonymous_id", "anon-1"}, {"session_id", "s-1"}},
                 {{"url", "https://shop/"}}),
      make_event(2, "identify", kT0 + 2,
                 {{"anonymous_id", "anon-1"}, {"user_id", "cust-1"}, {"email_sha256", "e1"}},
                 {{"method", "login"}, {"traits", {{"loyalty_tier", "silver"}}}}),
      make_event(3, "purchase", kT0 + 3, {{"loyalty_id", "LOY-1"}, {"email_sha256", "e1"}},
                 {{"transaction_type", "sale"}, {"total", 19.95}, {"currency", "EUR"}},
                 Channel::kPos, "store-0042"),
      make_event(4, "kiosk_interaction", kT0 + 4,
                 {{"device_id", "kiosk-7"}, {"loyalty_id", "LOY-1"}}, json::object(),
                 Channel::kKiosk, "store-0042"),
  };
}

TEST_CASE("profile service: the shopper journey is one profile with combined counters",
          "[collector][profiles]") {
  Fixture f;
  const auto events = journey();
  auto result = f.apply(events);
  const std::string id = f.profile("user_id", "cust-1");
  for (const auto& pid : result.profile_ids) CHECK(pid == id);
  const ProfileView v = f.view(id);
  CHECK(v.identifiers.size() == 6);
  CHECK(v.state.counters.events == 4);
  CHECK(v.state.counters.purchases == 1);
  CHECK(v.state.counters.spend_micros.at("EUR") == 19'950'000);
  CHECK(v.state.counters.stores == std::set<std::string>{"store-0042", "web-nl"});
  CHECK(v.state.counters.channels == std::set<std::string>{"kiosk", "pos", "web"});
  CHECK(v.state.counters.first_seen == kT0 + 1);
  CHECK(v.state.counters.last_seen == kT0 + 4);
  CHECK(v.state.traits.at("loyalty_tier").value == "silver");
  REQUIRE(v.state.last_events.size() == 4);
  CHECK(v.state.last_events.front().event_id == uuid_for(4));
}

TEST_CASE("profile service: merges across calls combine state and are recorded",
          "[collector][profiles]") {
  Fixture f;
  f.apply({make_event(1, "page_view", kT0 + 1, {{"anonymous_id", "a1"}})});
  f.apply({make_event(2, "identify", kT0 + 2, {{"anonymous_id", "a2"}, {"email_sha256", "e"}},
                      {{"method", "login"}, {"traits", {{"loyalty_tier", "gold"}}}})});
  const std::string older = f.profile("anonymous_id", "a1");
  const std::string younger = f.profile("anonymous_id", "a2");
  REQUIRE(older != younger);
  auto result = f.apply(
      {make_event(3, "page_view", kT0 + 3, {{"anonymous_id", "a1"}, {"email_sha256", "e"}})});
  REQUIRE(result.merges.size() == 1);
  CHECK(result.merges[0].into == older);
  CHECK(result.merges[0].from == younger);
  // The anchor of that event is the email (higher priority); a1 is the identifier it joined.
  CHECK(result.merges[0].reason_identity == "anonymous_id:a1");
  // The merged-away id resolves to the survivor.
  const ProfileView v = f.view(younger);
  CHECK(v.profile_id == older);
  CHECK(v.state.counters.events == 3);
  CHECK(v.state.traits.at("loyalty_tier").value == "gold");
  bool merged_in_history = false;
  for (const auto& h : v.history) merged_in_history |= h.kind == "merged";
  CHECK(merged_in_history);
  auto ids = f.service().event_ids(older, 10, "");
  REQUIRE(ids.ok());
  CHECK(ids->size() == 3);
}

TEST_CASE("profile service: restart in the middle continues from the file",
          "[collector][profiles]") {
  const auto events = journey();
  Fixture once;
  once.apply(events);
  Fixture restarted;
  restarted.apply({events[0], events[1]});
  const std::string before = restarted.profile("user_id", "cust-1");
  restarted.reopen();
  CHECK(restarted.profile("anonymous_id", "anon-1") == before);
  restarted.apply({events[2], events[3]});
  restarted.reopen();
  CHECK(restarted.profile("device_id", "kiosk-7") == before);
  CHECK(restarted.view(before).identifiers.size() ==
        once.view(once.profile("user_id", "cust-1")).identifiers.size());
  CHECK(restarted.view(before).state.counters.events == 4);
  CHECK(restarted.service().profile_count() == 1);
}

TEST_CASE("profile service: restart keeps shared marks, watches and separations",
          "[collector][profiles]") {
  Fixture f;
  for (int i = 0; i < 4; ++i) {
    f.apply({make_event(i, "kiosk_interaction", kT0 + i,
                        {{"device_id", "kiosk-9"}, {"user_id", "u" + std::to_string(i)}})});
  }
  f.reopen();  // four of the six needed user_ids seen before the restart
  for (int i = 4; i < 8; ++i) {
    f.apply({make_event(i, "kiosk_interaction", kT0 + i,
                        {{"device_id", "kiosk-9"}, {"user_id", "u" + std::to_string(i)}})});
  }
  f.reopen();
  const auto v = f.view(f.profile("device_id", "kiosk-9"));
  bool shared = false;
  for (const auto& i : v.identifiers) shared |= i.type == "device_id" && i.shared;
  CHECK(shared);
  std::set<std::string> profiles;
  for (int i = 0; i < 8; ++i) profiles.insert(f.profile("user_id", "u" + std::to_string(i)));
  CHECK(profiles.size() == 8);
}

TEST_CASE("profile service: consent per purpose, latest occurred_at wins, versions grow",
          "[collector][profiles]") {
  Fixture f;
  auto first =
      f.apply({make_event(1, "consent", kT0 + 100, {{"anonymous_id", "a"}},
                          consent_props({{"analytics", "granted"}, {"marketing", "granted"}}))});
  REQUIRE(first.consent_changes.size() == 1);
  CHECK(first.consent_changes[0].version == 1);
  CHECK(first.consent_changes[0].flags.marketing == ConsentState::kGranted);
  CHECK(first.consent_changes[0].identities == std::vector<std::string>{"anonymous_id:a"});
  // An older decision arrives late: ignored.
  auto late = f.apply({make_event(2, "consent", kT0 + 50, {{"anonymous_id", "a"}},
                                  consent_props({{"marketing", "denied"}}))});
  CHECK(late.consent_changes.empty());
  CHECK(f.service().consent_of("anonymous_id", "a")->marketing == ConsentState::kGranted);
  // A newer one wins, for its purpose only.
  auto newer = f.apply({make_event(3, "consent", kT0 + 200, {{"anonymous_id", "a"}},
                                   consent_props({{"marketing", "denied"}}, "kiosk"))});
  REQUIRE(newer.consent_changes.size() == 1);
  CHECK(newer.consent_changes[0].version == 2);
  auto flags = f.service().consent_of("anonymous_id", "a");
  REQUIRE(flags);
  CHECK(flags->analytics == ConsentState::kGranted);
  CHECK(flags->marketing == ConsentState::kDenied);
  // A new identifier joining the profile gets its consent: a change with the next version.
  auto joined = f.apply({make_event(
      4, "identify", kT0 + 300, {{"anonymous_id", "a"}, {"user_id", "u"}}, {{"method", "login"}})});
  REQUIRE(joined.consent_changes.size() == 1);
  CHECK(joined.consent_changes[0].version == 3);
  CHECK(joined.consent_changes[0].identities ==
        std::vector<std::string>{"anonymous_id:a", "user_id:u"});
  CHECK(f.service().consent_version() == 3);
  // API decision, and the per-identifier sync view.
  auto api = f.service().set_consent(
      f.profile("user_id", "u"),
      ConsentFlags{ConsentState::kDenied, ConsentState::kUnknown, ConsentState::kUnknown}, "api",
      kT0 + 400, "ops@example");
  REQUIRE(api.ok());
  CHECK(api->version == 4);
  CHECK(api->changed);
  auto older_api = f.service().set_consent(
      f.profile("user_id", "u"),
      ConsentFlags{ConsentState::kGranted, ConsentState::kUnknown, ConsentState::kUnknown}, "api",
      kT0 + 10, "ops@example");
  REQUIRE(older_api.ok());
  CHECK_FALSE(older_api->changed);
  CHECK(f.service().consent_version() == 4);
  // The in-memory view by profile id (the recommendation path) says the same as the stored state.
  const auto by_profile = f.service().consent_of_profile(f.profile("user_id", "u"));
  REQUIRE(by_profile);
  CHECK(by_profile->analytics == ConsentState::kDenied);
  CHECK(by_profile->marketing == ConsentState::kDenied);
  auto view = f.service().get(f.profile("user_id", "u"));
  REQUIRE(view.ok());
  REQUIRE(*view);
  CHECK(aisle::collector::profiles::consent_flags((*view)->state).analytics ==
        by_profile->analytics);
  CHECK_FALSE(f.service().consent_of_profile("00000000-0000-7000-8000-000000000000"));
  auto since = f.service().consent_changes_since(2, 100);
  REQUIRE(since.ok());
  REQUIRE(since->size() == 2);
  for (const auto& e : *since) {
    CHECK(e.version == 4);
    CHECK(e.flags.analytics == ConsentState::kDenied);
    CHECK(e.flags.marketing == ConsentState::kDenied);
  }
  // A page never ends inside a version.
  auto page = f.service().consent_changes_since(0, 1);
  REQUIRE(page.ok());
  CHECK(page->size() == 2);
  // Versions survive a restart.
  f.reopen();
  CHECK(f.service().consent_version() == 4);
  CHECK(f.service().consent_of("user_id", "u")->analytics == ConsentState::kDenied);
}

TEST_CASE("profile service: merging keeps the latest decision per purpose",
          "[collector][profiles]") {
  Fixture f;
  f.apply({make_event(1, "consent", kT0 + 10, {{"anonymous_id", "a1"}},
                      consent_props({{"analytics", "granted"}, {"personalization", "denied"}})),
           make_event(2, "consent", kT0 + 20, {{"anonymous_id", "a2"}},
                      consent_props({{"analytics", "denied"}}))});
  auto result =
      f.apply({make_event(3, "identify", kT0 + 30, {{"anonymous_id", "a1"}, {"email_sha256", "e"}},
                          {{"method", "login"}}),
               make_event(4, "identify", kT0 + 31, {{"anonymous_id", "a2"}, {"email_sha256", "e"}},
                          {{"method", "login"}})});
  CHECK(result.merges.size() == 1);
  REQUIRE(result.consent_changes.size() == 1);
  CHECK(result.consent_changes[0].flags.analytics == ConsentState::kDenied);
  CHECK(result.consent_changes[0].flags.personalization == ConsentState::kDenied);
  CHECK(result.consent_changes[0].identities.size() == 3);
}

TEST_CASE("profile service: erase removes everything and late events are discarded",
          "[collector][profiles]") {
  Fixture f;
  f.apply(journey());
  f.apply({make_event(10, "page_view", kT0 + 10, {{"anonymous_id", "someone-else"}})});
  const std::string id = f.profile("user_id", "cust-1");
  auto erased = f.service().erase(id, "dpo@example");
  REQUIRE(erased.ok());
  CHECK(erased->identities.size() == 6);
  CHECK(erased->event_ids.size() == 4);
  CHECK_FALSE(f.service().lookup("user_id", "cust-1"));
  auto gone = f.service().get(id);
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->has_value());
  CHECK(f.service().is_erased("email_sha256", "e1"));
  CHECK_FALSE(f.service().is_erased("anonymous_id", "someone-else"));
  CHECK_FALSE(f.service().is_erased("user_id", "never-seen"));

  auto late = f.apply({make_event(20, "page_view", kT0 + 20, {{"anonymous_id", "anon-1"}}),
                       make_event(21, "page_view", kT0 + 21, {{"anonymous_id", "fresh"}})});
  CHECK(late.discarded_erased == std::vector<bool>{true, false});
  CHECK(late.profile_ids[0].empty());
  CHECK_FALSE(f.service().lookup("anonymous_id", "anon-1"));
  // Tombstones survive a restart, and hold no raw value.
  f.reopen();
  CHECK(f.service().is_erased("loyalty_id", "LOY-1"));
  auto again =
      f.apply({make_event(22, "purchase", kT0 + 22, {{"loyalty_id", "LOY-1"}},
                          {{"transaction_type", "sale"}, {"total", 1}, {"currency", "EUR"}})});
  CHECK(again.discarded_erased[0]);
  CHECK(f.service().profile_count() == 2);
}

TEST_CASE("profile service: unmerge recomputes both profiles and does not re-merge",
          "[collector][profiles]") {
  Fixture f;
  // A family tablet's anonymous id wrongly joined to cust-1 by one login.
  f.apply({make_event(1, "page_view", kT0 + 1, {{"anonymous_id", "tablet"}}),
           make_event(2, "purchase", kT0 + 2, {{"anonymous_id", "tablet"}},
                      {{"transaction_type", "sale"}, {"total", 10}, {"currency", "EUR"}}),
           make_event(3, "identify", kT0 + 3, {{"user_id", "cust-1"}, {"email_sha256", "e1"}},
                      {{"method", "login"}, {"traits", {{"loyalty_tier", "gold"}}}}),
           make_event(4, "consent", kT0 + 4, {{"anonymous_id", "tablet"}},
                      consent_props({{"marketing", "granted"}}))});
  const std::string tablet_profile = f.profile("anonymous_id", "tablet");
  f.apply({make_event(5, "identify", kT0 + 5, {{"anonymous_id", "tablet"}, {"user_id", "cust-1"}},
                      {{"method", "login"}})});
  const std::string merged = f.profile("user_id", "cust-1");
  REQUIRE(f.profile("anonymous_id", "tablet") == merged);
  CHECK(f.view(merged).state.counters.events == 5);

  auto split = f.service().unmerge(merged, {"anonymous_id:tablet"}, "ops@example", f.loader());
  REQUIRE(split.ok());
  CHECK(split->profile_id == merged);
  CHECK(split->events_recomputed == 5);
  CHECK(split->events_moved == 3);
  CHECK(split->consent_changes.size() == 2);
  CHECK(f.profile("anonymous_id", "tablet") == split->new_profile_id);
  const ProfileView kept = f.view(merged);
  const ProfileView moved = f.view(split->new_profile_id);
  CHECK(kept.state.counters.events == 2);  // the identify of cust-1 and the linking login
  CHECK(moved.state.counters.events == 3);
  CHECK(moved.state.counters.purchases == 1);
  CHECK(moved.state.consent[static_cast<int>(Purpose::kMarketing)].state == ConsentState::kGranted);
  CHECK(kept.state.consent[static_cast<int>(Purpose::kMarketing)].state == ConsentState::kUnknown);
  CHECK(kept.state.traits.at("loyalty_tier").value == "gold");
  auto moved_ids = f.service().event_ids(split->new_profile_id, 10, "");
  REQUIRE(moved_ids.ok());
  CHECK(moved_ids->size() == 3);

  // The same login again does not re-merge; history keeps merge, unmerge and the refusal.
  auto again = f.apply(
      {make_event(6, "identify", kT0 + 6, {{"anonymous_id", "tablet"}, {"user_id", "cust-1"}},
                  {{"method", "login"}})});
  CHECK(again.merges.empty());
  CHECK(again.refused_links.size() == 1);
  CHECK(f.profile("anonymous_id", "tablet") == split->new_profile_id);
  f.reopen();  // the separation is persisted
  f.apply({make_event(7, "identify", kT0 + 7, {{"anonymous_id", "tablet"}, {"user_id", "cust-1"}},
                      {{"method", "login"}})});
  CHECK(f.profile("anonymous_id", "tablet") == split->new_profile_id);
  std::set<std::string> kinds;
  for (const auto& h : f.view(merged).history) kinds.insert(h.kind);
  CHECK(kinds.count("merged") == 1);
  CHECK(kinds.count("unmerged") == 1);
  CHECK(kinds.count("link_refused") == 1);
  (void)tablet_profile;
}

TEST_CASE("profile service: unmerge refuses bad input with the reason", "[collector][profiles]") {
  Fixture f;
  f.apply({make_event(1, "identify", kT0, {{"user_id", "u"}, {"anonymous_id", "a"}},
                      {{"method", "login"}})});
  const std::string id = f.profile("user_id", "u");
  auto malformed = f.service().unmerge(id, {"no-colon"}, "ops", f.loader());
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.error().message.find("identifiers[0]") != std::string::npos);
  auto foreign = f.service().unmerge(id, {"user_id:other"}, "ops", f.loader());
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().code == ErrorCode::kInvalidArgument);
  auto everything = f.service().unmerge(id, {"user_id:u", "anonymous_id:a"}, "ops", f.loader());
  REQUIRE_FALSE(everything.ok());
  CHECK(everything.error().message.find("every identifier") != std::string::npos);
  auto unknown =
      f.service().unmerge("018bcfe5-6800-8000-8000-000000000000", {"user_id:u"}, "ops", f.loader());
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::kNotFound);
}

TEST_CASE("profile service: event ids page newest first with a cursor", "[collector][profiles]") {
  Fixture f;
  std::vector<Event> events;
  for (int i = 0; i < 25; ++i) {
    events.push_back(make_event(i, "page_view", kT0 + i, {{"anonymous_id", "a"}}));
  }
  f.apply(events);
  const std::string id = f.profile("anonymous_id", "a");
  std::vector<std::string> all;
  std::string cursor;
  for (;;) {
    auto page = f.service().event_ids(id, 10, cursor);
    REQUIRE(page.ok());
    if (page->empty()) break;
    all.insert(all.end(), page->begin(), page->end());
    cursor = page->back();
  }
  REQUIRE(all.size() == 25);
  CHECK(all.front() == uuid_for(24));
  CHECK(all.back() == uuid_for(0));
  auto bad = f.service().event_ids(id, 10, "not-an-event");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kInvalidArgument);
  // last_events keeps the newest 20.
  CHECK(f.view(id).state.last_events.size() == 20);
}

TEST_CASE("profile service: refuses a database of another kind", "[collector][profiles]") {
  test::TempDir dir;
  {
    auto db = SqliteDb::open(dir.file("other.db"));
    REQUIRE(db.ok());
    REQUIRE(db->exec("CREATE TABLE t (x INTEGER)").ok());
  }
  metrics::Registry metrics;
  ProfileServiceOptions options;
  options.path = dir.file("other.db");
  auto opened = ProfileService::open(options, std::make_shared<ManualClock>(), metrics);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().code == ErrorCode::kFailedPrecondition);
}

TEST_CASE(
    "profile service: random streams give the same profiles as a fresh replay after "
    "restarts",
    "[collector][profiles]") {
  const std::vector<const char*> types = {"anonymous_id", "user_id",    "email_sha256",
                                          "loyalty_id",   "session_id", "device_id"};
  for (std::uint32_t seed = 1; seed <= 5; ++seed) {
    std::mt19937 random(seed);
    std::vector<Event> events;
    for (int i = 0; i < 150; ++i) {
      Ids ids;
      const int n = 1 + static_cast<int>(random() % 3);
      for (int k = 0; k < n; ++k) {
        ids[types[random() % types.size()]] = "v" + std::to_string(random() % 30);
      }
      events.push_back(make_event(static_cast<int>(seed) * 1000 + i, "page_view", kT0 + i, ids));
    }
    Fixture straight;
    straight.apply(events);
    Fixture restarted;
    for (std::size_t start = 0; start < events.size(); start += 40) {
      restarted.apply(std::vector<Event>(
          events.begin() + static_cast<std::ptrdiff_t>(start),
          events.begin() + static_cast<std::ptrdiff_t>(std::min(start + 40, events.size()))));
      restarted.reopen();
    }
    INFO("seed " << seed);
    CHECK(restarted.service().profile_count() == straight.service().profile_count());
    CHECK(restarted.service().identifier_count() == straight.service().identifier_count());
    // Same pairs of identifiers share a profile.
    std::vector<std::pair<std::string, std::string>> keys;
    for (const auto& e : events) {
      for (const auto& kv : e.identities) keys.push_back(kv);
    }
    for (std::size_t i = 0; i + 1 < keys.size(); i += 3) {
      const auto& a = keys[i];
      const auto& b = keys[(i * 7 + 5) % keys.size()];
      const bool together_straight =
          straight.profile(a.first, a.second) == straight.profile(b.first, b.second);
      const bool together_restarted =
          restarted.profile(a.first, a.second) == restarted.profile(b.first, b.second);
      REQUIRE(together_straight == together_restarted);
    }
  }
}

}  // namespace
}  // namespace aisle::collector::profiles

namespace aisle::collector::profiles {
namespace {

TEST_CASE("profile service: seen times are written lazily and survive a close",
          "[collector][profiles]") {
  Fixture f;  // default interval: the later seen time stays in memory until close
  f.apply({make_event(1, "page_view", kT0 + 10, {{"anonymous_id", "a"}})});
  f.apply({make_event(2, "page_view", kT0 + 500, {{"anonymous_id", "a"}})});
  f.apply({make_event(3, "page_view", kT0 + 5, {{"anonymous_id", "a"}})});
  auto seen = [&f] {
    const auto v = f.view(f.profile("anonymous_id", "a"));
    REQUIRE(v.identifiers.size() == 1);
    return std::pair{v.identifiers[0].first_seen, v.identifiers[0].last_seen};
  };
  CHECK(seen() == std::pair{kT0 + 5, kT0 + 500});
  f.reopen();
  CHECK(seen() == std::pair{kT0 + 5, kT0 + 500});
}

}  // namespace
}  // namespace aisle::collector::profiles

namespace aisle::collector::profiles {
namespace {

TEST_CASE("profile service: reads from other threads run while apply() merges",
          "[collector][profiles]") {
  Fixture f;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&f, &done, &reads, &failures, t] {
      while (!done.load()) {
        const std::string anon = "a" + std::to_string((reads.load() + t) % 200);
        if (auto id = f.service().lookup("anonymous_id", anon)) {
          auto view = f.service().get(*id);
          auto ids = f.service().event_ids(*id, 5, "");
          // A profile merged away between lookup and get still resolves (to its survivor).
          if (!view.ok() || !view->has_value() || !ids.ok()) ++failures;
        }
        f.service().consent_of("anonymous_id", anon);
        ++reads;
      }
    });
  }
  // Chains of anonymous ids joined pairwise by emails: many merges while readers run.
  int n = 0;
  for (int round = 0; round < 20; ++round) {
    std::vector<Event> batch;
    for (int i = 0; i < 10; ++i) {
      const int a = (round * 10 + i) % 200;
      ++n;
      batch.push_back(make_event(n, "page_view", kT0 + n,
                                 {{"anonymous_id", "a" + std::to_string(a)},
                                  {"email_sha256", "e" + std::to_string(a / 4)}}));
    }
    f.apply(batch);
  }
  done = true;
  for (auto& r : readers) r.join();
  CHECK(failures.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(f.service().profile_count() == 50);
}

}  // namespace
}  // namespace aisle::collector::profiles
