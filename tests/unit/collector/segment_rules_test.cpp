// Table-driven rule tests: each case is a definition and a timeline of steps (set the clock,
// maybe send an event, tick), with the expected membership after every step.
#include <catch2/catch.hpp>

#include "tests/unit/collector/segment_test_util.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;
using namespace test_util;

// Offsets are in seconds from kT0. "occurred" (default: "at") is the event time; events are
// handed to the engine at "at". "member" is checked after the event and tick(at).
const char* kCases = R"json([
{"name": "more than 3 page views in 30 minutes: the 4th enters, the window expiry exits",
 "definition": {"condition": {"count": {"event": "page_view", "window": "30m", "op": ">", "value": 3}}},
 "steps": [
  {"at": 0, "event": "page_view", "member": false},
  {"at": 1, "event": "page_view", "member": false},
  {"at": 2, "event": "page_view", "member": false},
  {"at": 3, "event": "page_view", "member": true},
  {"at": 1829, "member": true},
  {"at": 1830, "member": false}]},
{"name": "exactly 3 is not more than 3 but is at least 3",
 "definition": {"condition": {"all": [
    {"count": {"event": "page_view", "window": "30m", "op": ">=", "value": 3}},
    {"count": {"event": "page_view", "window": "30m", "op": "<=", "value": 3}}]}},
 "steps": [
  {"at": 0, "event": "page_view", "member": false},
  {"at": 10, "event": "page_view", "member": false},
  {"at": 20, "event": "page_view", "member": true},
  {"at": 40, "event": "page_view", "member": false}]},
{"name": "a late event beyond the allowed lateness is ignored",
 "definition": {"condition": {"count": {"event": "page_view", "window": "1h", "op": ">=", "value": 2}}},
 "steps": [
  {"at": 1200, "event": "page_view", "member": false},
  {"at": 1201, "event": "page_view", "occurred": 500, "member": false},
  {"at": 1202, "event": "page_view", "occurred": 900, "member": true}]},
{"name": "a late event within the lateness lands in its own bucket and expires with it",
 "definition": {"condition": {"count": {"event": "page_view", "window": "30m", "op": ">=", "value": 2}}},
 "steps": [
  {"at": 600, "event": "page_view", "member": false},
  {"at": 601, "event": "page_view", "occurred": 60, "member": true},
  {"at": 1889, "member": true},
  {"at": 1890, "member": false}]},
{"name": "cart value over 200 in an hour (sum with a predicate)",
 "definition": {"condition": {"sum": {"event": "cart_add", "property": "price", "window": "1h", "op": ">", "value": 200,
                "where": [{"property": "currency", "op": "==", "value": "EUR"}]}}},
 "steps": [
  {"at": 0, "event": "cart_add", "props": {"price": 150, "currency": "EUR"}, "member": false},
  {"at": 5, "event": "cart_add", "props": {"price": 150, "currency": "USD"}, "member": false},
  {"at": 10, "event": "cart_add", "props": {"price": 60.5, "currency": "EUR"}, "member": true},
  {"at": 3659, "member": true},
  {"at": 3660, "member": false}]},
{"name": "average, maximum and minimum of a property",
 "definition": {"condition": {"all": [
    {"avg": {"event": "purchase", "property": "total", "window": "7d", "op": ">=", "value": 100}},
    {"max": {"event": "purchase", "property": "total", "window": "7d", "op": ">", "value": 150}},
    {"min": {"event": "purchase", "property": "total", "window": "7d", "op": ">=", "value": 50}}]}},
 "steps": [
  {"at": 0, "event": "purchase", "props": {"total": 120}, "member": false},
  {"at": 10, "event": "purchase", "props": {"total": 160}, "member": true},
  {"at": 20, "event": "purchase", "props": {"total": 40}, "member": false}]},
{"name": "distinct categories browsed in a week (2.8 h buckets: kT0 is 2 h into one)",
 "definition": {"condition": {"distinct": {"event": "product_view", "property": "category", "window": "7d", "op": ">=", "value": 3}}},
 "steps": [
  {"at": 0, "event": "product_view", "props": {"category": "beans"}, "member": false},
  {"at": 10, "event": "product_view", "props": {"category": "beans"}, "member": false},
  {"at": 20, "event": "product_view", "props": {"category": "cups"}, "member": false},
  {"at": 30, "event": "product_view", "props": {"category": "grinders"}, "member": true},
  {"at": 607679, "member": true},
  {"at": 607680, "member": false}]},
{"name": "last purchase more than 30 days ago ends on time without new events",
 "definition": {"condition": {"recency": {"event": "purchase", "op": ">", "value": "30d"}}},
 "steps": [
  {"at": 0, "event": "purchase", "props": {"total": 10}, "member": false},
  {"at": 2592000, "member": false},
  {"at": 2592001, "member": true},
  {"at": 2600000, "event": "purchase", "props": {"total": 10}, "member": false}]},
{"name": "viewed espresso machines twice this week but did not buy",
 "definition": {"condition": {"all": [
    {"count": {"event": "product_view", "window": "7d", "op": ">=", "value": 2,
               "where": [{"property": "category", "op": "==", "value": "coffee/espresso-machines"}]}},
    {"not": {"count": {"event": "purchase", "window": "7d", "op": ">", "value": 0}}}]}},
 "steps": [
  {"at": 0, "event": "product_view", "props": {"category": "coffee/espresso-machines"}, "member": false},
  {"at": 10, "event": "product_view", "props": {"category": "coffee/beans"}, "member": false},
  {"at": 20, "event": "product_view", "props": {"category": "coffee/espresso-machines"}, "member": true},
  {"at": 30, "event": "purchase", "props": {"total": 549}, "member": false}]},
{"name": "items in cart in the current session; the session times out",
 "definition": {"condition": {"session": {"metric": "cart_items", "op": ">=", "value": 2}}},
 "steps": [
  {"at": 0, "event": "session_start", "member": false},
  {"at": 10, "event": "cart_add", "props": {"quantity": 1}, "member": false},
  {"at": 20, "event": "cart_add", "props": {"quantity": 2}, "member": true},
  {"at": 30, "event": "cart_remove", "props": {"quantity": 2}, "member": false},
  {"at": 40, "event": "cart_add", "props": {"quantity": 1}, "member": true},
  {"at": 1839, "member": true},
  {"at": 1840, "member": false}]},
{"name": "current zone from beacons",
 "definition": {"condition": {"session": {"metric": "zone", "op": "==", "value": "coffee-aisle"}}},
 "steps": [
  {"at": 0, "event": "beacon_proximity", "props": {"zone_id": "tea-aisle", "transition": "enter"}, "member": false},
  {"at": 10, "event": "beacon_proximity", "props": {"zone_id": "coffee-aisle", "transition": "enter"}, "member": true},
  {"at": 20, "event": "beacon_proximity", "props": {"zone_id": "coffee-aisle", "transition": "exit"}, "member": false}]},
{"name": "traits and consent from identify and consent events",
 "definition": {"condition": {"all": [
    {"trait": {"name": "tier", "op": "in", "value": ["gold", "platinum"]}},
    {"consent": {"purpose": "marketing", "state": "granted"}}]}},
 "steps": [
  {"at": 0, "event": "identify", "props": {"traits": {"tier": "gold"}}, "member": false},
  {"at": 10, "event": "consent", "props": {"purposes": {"marketing": "granted"}}, "member": true},
  {"at": 20, "event": "identify", "props": {"traits": {"tier": "silver"}}, "member": false},
  {"at": 30, "event": "identify", "props": {"traits": {"tier": "gold"}}, "occurred": 15, "member": false}]},
{"name": "events of types no segment uses change nothing",
 "definition": {"condition": {"count": {"event": "purchase", "window": "1h", "op": ">", "value": 0}}},
 "steps": [
  {"at": 0, "event": "page_view", "member": false},
  {"at": 5, "event": "purchase", "member": true}]}
])json";

TEST_CASE("segment rules over a controlled clock (table)", "[collector][segments]") {
  const json cases = json::parse(kCases);
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c["name"].get<std::string>()) {
      EngineHarness h;
      h.put("s", c["definition"]);
      int n = 0;
      for (const auto& step : c["steps"]) {
        const UnixMillis at = kT0 + step["at"].get<std::int64_t>() * kSec;
        h.set_time(at);
        if (step.contains("event")) {
          const UnixMillis occurred = kT0 + step.value("occurred", step["at"].get<std::int64_t>()) * kSec;
          h.send(h.make(step["event"].get<std::string>(), occurred,
                        step.value("props", json::object())),
                 "p1");
        }
        h.engine().tick(at);
        INFO("step " << n << " at +" << step["at"] << " s");
        CHECK(h.engine().is_member("s", "p1") == step["member"].get<bool>());
        ++n;
      }
    }
  }
}

TEST_CASE("changes carry the trigger event, the version, the reason and where the shopper was",
          "[collector][segments]") {
  EngineHarness h;
  h.put("browsers", json::parse(
      R"({"condition":{"count":{"event":"page_view","window":"30m","op":">=","value":2}}})"));
  h.event("p1", "page_view");
  h.event("p1", "page_view");
  auto changes = h.sink->take();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].kind == SegmentChangeKind::kEntered);
  CHECK(std::string(segment_change_kind_name(changes[0].kind)) == "segment_entered");
  CHECK(changes[0].segment_id == "browsers");
  CHECK(changes[0].profile_id == "p1");
  CHECK(changes[0].version == 1);
  CHECK(changes[0].reason == "event");
  CHECK(changes[0].trigger_event_id == h.history.back().event.event_id);
  CHECK(changes[0].store_id == "store-0042");
  CHECK(changes[0].agent_id == "agent-0042-a");
  CHECK(changes[0].at == h.now());
  CHECK(changes[0].change_id.size() == 36);
  h.set_time(kT0 + 31 * kMin);
  h.engine().tick(h.now());
  changes = h.sink->take();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].kind == SegmentChangeKind::kExited);
  CHECK(changes[0].reason == "window_expired");
  CHECK(changes[0].trigger_event_id.empty());
  CHECK(h.metrics.value("aisle_collector_segments_changes_total", {{"kind", "entered"}}) == 1);
  CHECK(h.metrics.value("aisle_collector_segments_changes_total", {{"kind", "exited"}}) == 1);
}

TEST_CASE("late events are counted in a metric", "[collector][segments]") {
  SegmentOptions o;
  o.allowed_lateness = std::chrono::minutes(5);
  EngineHarness h(o);
  h.put("s", json::parse(R"({"condition":{"count":{"event":"a","window":"1h","op":">","value":0}}})"));
  h.set_time(kT0 + kHour);
  h.send(h.make("a", kT0 + kHour - 6 * kMin), "p1");
  CHECK(h.metrics.value("aisle_collector_segments_late_events_total") == 1);
  CHECK_FALSE(h.engine().is_member("s", "p1"));
}

TEST_CASE("events of types no segment depends on touch no profile state",
          "[collector][segments]") {
  EngineHarness h;
  h.put("s", json::parse(R"({"condition":{"count":{"event":"purchase","window":"1h","op":">","value":0}}})"));
  for (int i = 0; i < 10; ++i) h.event("p" + std::to_string(i), "page_view");
  CHECK(h.engine().profile_count() == 0);
  CHECK(h.metrics.value("aisle_collector_segments_events_ignored_total") == 10);
  CHECK(h.metrics.value("aisle_collector_segments_evaluations_total") == 0);
}

TEST_CASE("a merge mid-window combines both profiles' windows", "[collector][segments]") {
  EngineHarness h;
  h.put("s", json::parse(R"({"condition":{"count":{"event":"page_view","window":"30m","op":">=","value":4}}})"));
  h.put("one", json::parse(R"({"condition":{"count":{"event":"page_view","window":"30m","op":">=","value":1}}})"));
  h.event("p1", "page_view");
  h.event("p1", "page_view");
  h.set_time(kT0 + 10 * kMin);
  h.event("p2", "page_view");
  h.event("p2", "page_view");
  CHECK_FALSE(h.engine().is_member("s", "p1"));
  CHECK(h.engine().is_member("one", "p2"));
  h.sink->take();
  h.engine().on_merge(profiles::MergeRecord{"p1", "p2", "email_sha256:x", h.now()});
  CHECK(h.engine().is_member("s", "p1"));
  CHECK_FALSE(h.engine().is_member("one", "p2"));
  auto changes = h.sink->take();
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].profile_id == "p2");
  CHECK(changes[0].kind == SegmentChangeKind::kExited);
  CHECK(changes[0].reason == "merge");
  CHECK(changes[1].profile_id == "p1");
  CHECK(changes[1].segment_id == "s");
  CHECK(changes[1].reason == "merge");
  // p1's own events leave the window first (their bucket ends 30 s after kT0), p2's later.
  h.set_time(kT0 + 30 * kMin + 30 * kSec);
  h.engine().tick(h.now());
  CHECK_FALSE(h.engine().is_member("s", "p1"));
  CHECK(h.engine().is_member("one", "p1"));
  h.set_time(kT0 + 40 * kMin + 30 * kSec);
  h.engine().tick(h.now());
  CHECK_FALSE(h.engine().is_member("one", "p1"));
}

TEST_CASE("an erased profile leaves its segments and is forgotten", "[collector][segments]") {
  EngineHarness h;
  h.put("s", json::parse(R"({"condition":{"count":{"event":"a","window":"1h","op":">","value":0}}})"));
  h.event("p1", "a");
  h.event("p2", "a");
  h.sink->take();
  h.engine().on_erase(profiles::ErasedProfile{"p1", {}, {}, {"p2"}});
  auto changes = h.sink->take();
  REQUIRE(changes.size() == 2);
  for (const auto& c : changes) {
    CHECK(c.reason == "erasure");
    CHECK(c.kind == SegmentChangeKind::kExited);
  }
  CHECK(h.engine().profile_count() == 0);
  CHECK(h.engine().segments_of("p1").empty());
}

TEST_CASE("membership of other segments, and cycles are refused naming the cycle",
          "[collector][segments]") {
  EngineHarness h;
  h.put("buyers", json::parse(R"({"condition":{"count":{"event":"purchase","window":"30d","op":">","value":0}}})"));
  h.put("browsing_buyers", json::parse(R"({"condition":{"all":[{"segment":"buyers"},
      {"count":{"event":"page_view","window":"1h","op":">=","value":1}}]}})"));
  h.event("p1", "page_view");
  CHECK_FALSE(h.engine().is_member("browsing_buyers", "p1"));
  h.event("p1", "purchase");  // page_view is not the trigger: the dependent is re-evaluated
  CHECK(h.engine().is_member("buyers", "p1"));
  CHECK(h.engine().is_member("browsing_buyers", "p1"));

  auto cycle = h.engine().put("buyers", json::parse(R"({"condition":{"segment":"browsing_buyers"}})"));
  REQUIRE_FALSE(cycle.ok());
  CHECK(cycle.error().code == ErrorCode::kFailedPrecondition);
  CHECK_THAT(cycle.error().message,
             Catch::Contains("/condition/segment") &&
                 Catch::Contains("buyers -> browsing_buyers -> buyers"));
  auto self = h.engine().put("x", json::parse(R"({"condition":{"not":{"segment":"x"}}})"));
  REQUIRE_FALSE(self.ok());
  CHECK_THAT(self.error().message, Catch::Contains("/condition/not/segment") && Catch::Contains("x -> x"));
  auto unknown = h.engine().put("y", json::parse(R"({"condition":{"segment":"nope"}})"));
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message, Catch::Contains("segment 'nope' does not exist"));
  auto in_use = h.engine().retire("buyers");
  REQUIRE_FALSE(in_use.ok());
  CHECK_THAT(in_use.error().message, Catch::Contains("browsing_buyers refers to buyers"));
  CHECK(h.metrics.value("aisle_collector_segments_definitions_refused_total") == 3);
}

class FakeScores final : public ScoreProvider {
 public:
  std::vector<std::string> models() const override { return {"purchase_propensity"}; }
  void observe(const profiles::ProfiledEvent& e) override {
    auto it = e.event->properties.find("score");
    if (it != e.event->properties.end()) scores_[e.profile_id] = it->get<double>();
  }
  std::optional<double> score(std::string_view model, std::string_view profile) const override {
    if (model != "purchase_propensity") return std::nullopt;
    auto it = scores_.find(std::string(profile));
    if (it == scores_.end()) return std::nullopt;
    return it->second;
  }
  void on_merge(const profiles::MergeRecord&) override {}
  void forget(std::string_view profile) override { scores_.erase(std::string(profile)); }

 private:
  std::map<std::string, double> scores_;
};

TEST_CASE("score conditions use the provider, observed before evaluation", "[collector][segments]") {
  EngineHarness h({}, true, std::make_shared<FakeScores>());
  h.put("likely", json::parse(R"({"condition":{"score":{"model":"purchase_propensity","op":">","value":0.7}}})"));
  h.event("p1", "page_view", {{"score", 0.5}});
  CHECK_FALSE(h.engine().is_member("likely", "p1"));
  h.event("p1", "product_view", {{"score", 0.8}});
  CHECK(h.engine().is_member("likely", "p1"));
  auto unknown = h.engine().put("other", json::parse(R"({"condition":{"score":{"model":"churn","op":">","value":0.5}}})"));
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message, Catch::Contains("/condition/score") && Catch::Contains("churn"));
}

TEST_CASE("without a score provider score conditions are false and any model is accepted",
          "[collector][segments]") {
  EngineHarness h;
  h.put("likely", json::parse(R"({"condition":{"score":{"model":"anything","op":"<","value":2}}})"));
  h.event("p1", "page_view");
  CHECK_FALSE(h.engine().is_member("likely", "p1"));
}

}  // namespace
}  // namespace aisle::collector::segments
