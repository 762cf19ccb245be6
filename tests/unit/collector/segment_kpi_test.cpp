#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "collector/segments/kpi/segment_kpis.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

constexpr UnixMillis kT0 = 1'700'000'040'000;  // a whole minute
constexpr auto kSecond = std::chrono::milliseconds(1000);
constexpr auto kMinute = std::chrono::milliseconds(60'000);

SegmentChange change(SegmentChangeKind kind, const std::string& profile, UnixMillis at) {
  SegmentChange c;
  c.change_id = profile + std::to_string(at);
  c.kind = kind;
  c.profile_id = profile;
  c.segment_id = "vip";
  c.version = 1;
  c.at = at;
  c.reason = "event";
  return c;
}

Event event(const std::string& type, json properties = json::object()) {
  Event e;
  e.event_id = "e";
  e.type = type;
  e.schema = "aisle/" + type + "/jsonschema/1-0-0";
  e.source.store_id = "s";
  e.properties = std::move(properties);
  return e;
}

Event purchase(double total, const std::string& type = "sale") {
  return event("purchase", {{"order_id", "o"},
                            {"transaction_type", type},
                            {"total", total},
                            {"currency", "EUR"},
                            {"items", json::array()}});
}

struct Fixture {
  explicit Fixture(MembershipLookup lookup = {}) : kpis({}, clock, metrics, std::move(lookup)) {}
  void observe(const std::string& profile, const Event& e) { kpis.observe({&e, profile}); }
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  SegmentKpis kpis;
};

TEST_CASE("segment KPIs: size, entries and exits per minute and hour", "[collector][kpi]") {
  Fixture f;
  f.kpis.on_change(change(SegmentChangeKind::kEntered, "p1", kT0));
  f.kpis.on_change(change(SegmentChangeKind::kEntered, "p2", kT0 + 1000));
  f.kpis.on_change(change(SegmentChangeKind::kEntered, "p3", kT0 + 2000));
  f.kpis.on_change(change(SegmentChangeKind::kEntered, "p3", kT0 + 2000));  // duplicate delivery
  f.kpis.on_change(change(SegmentChangeKind::kExited, "p1", kT0 + 10'000));
  f.clock->advance(30 * kSecond);
  auto s = f.kpis.stats("vip");
  CHECK(s["size"] == 2);  // p2, p3
  CHECK(s["entries"]["last_minute"] == 4);
  CHECK(s["exits"]["last_minute"] == 1);
  CHECK(s["entries"]["last_hour"] == 4);
  f.clock->advance(2 * kMinute);
  s = f.kpis.stats("vip");
  CHECK(s["entries"]["last_minute"] == 0);
  CHECK(s["entries"]["last_hour"] == 4);
  CHECK(s["exits"]["last_hour"] == 1);
  f.clock->advance(60 * kMinute);
  s = f.kpis.stats("vip");
  CHECK(s["entries"]["last_hour"] == 0);
  CHECK(s["size"] == 2);  // membership does not expire with the rate windows
  CHECK(f.kpis.stats("unknown")["size"] == 0);
}

TEST_CASE("segment KPIs: conversion rate and average order value, members vs non-members",
          "[collector][kpi]") {
  Fixture f;
  f.kpis.on_change(change(SegmentChangeKind::kEntered, "p1", kT0));
  f.kpis.on_change(change(SegmentChangeKind::kEntered, "p2", kT0));
  f.kpis.on_change(change(SegmentChangeKind::kEntered, "p3", kT0));
  f.kpis.on_change(change(SegmentChangeKind::kExited, "p1", kT0));
  // Members p2, p3; p1, p4, p5 active non-members.
  f.observe("p2", event("product_view", {{"sku", "A"}}));
  f.observe("p2", purchase(100));
  f.observe("p3", event("product_view", {{"sku", "A"}}));
  f.observe("p1", purchase(40));
  f.observe("p1", purchase(60));
  f.observe("p4", event("page_view", {{"url", "/"}}));
  f.observe("p5", event("product_view", {{"sku", "B"}}));
  f.observe("p5", purchase(500, "return"));  // a refund is not an order
  f.observe("", purchase(999));              // unattributed: not counted

  const auto s = f.kpis.stats("vip");
  const auto& m = s["members"];
  CHECK(m["active_profiles"] == 2);
  CHECK(m["converted_profiles"] == 1);
  CHECK(m["conversion_rate"] == 0.5);
  CHECK(m["orders"] == 1);
  CHECK(m["average_order_value"]["EUR"] == 100.0);
  const auto& n = s["non_members"];
  CHECK(n["active_profiles"] == 3);
  CHECK(n["converted_profiles"] == 1);
  CHECK(n["conversion_rate"].get<double>() == Approx(1.0 / 3.0));
  CHECK(n["orders"] == 2);
  CHECK(n["average_order_value"]["EUR"] == 50.0);
  CHECK(s["window_seconds"] == 3600);

  // p4 merged into p2: one member fewer non-member, p2 still converted.
  f.kpis.on_merge(profiles::MergeRecord{"p2", "p4", "user_id:u", kT0});
  CHECK(f.kpis.stats("vip")["non_members"]["active_profiles"] == 2);
  // Erasure forgets activity and membership.
  f.kpis.forget("p2");
  const auto after = f.kpis.stats("vip");
  CHECK(after["size"] == 1);
  CHECK(after["members"]["active_profiles"] == 1);
  CHECK(after["members"]["converted_profiles"] == 0);
  CHECK(after["members"]["average_order_value"].empty());

  // Past the conversion window nobody is active: the rates are unknown, not zero.
  f.clock->advance(61 * kMinute);
  f.observe("p9", event("page_view", {{"url", "/"}}));
  const auto later = f.kpis.stats("vip");
  CHECK(later["members"]["active_profiles"] == 0);
  CHECK(later["members"]["conversion_rate"].is_null());
  CHECK(later["non_members"]["active_profiles"] == 1);
  CHECK(f.metrics.value("aisle_collector_segment_kpi_active_profiles") == 1);
  CHECK(f.kpis.memory_bytes() > 0);
}

TEST_CASE("segment KPIs ask the membership lookup when one is given", "[collector][kpi]") {
  std::set<std::string> members = {"p1"};
  Fixture f([&members](std::string_view profile, std::string_view segment) {
    return segment == "vip" && members.count(std::string(profile)) > 0;
  });
  f.kpis.on_change(change(SegmentChangeKind::kEntered, "p1", kT0));
  f.kpis.on_change(change(SegmentChangeKind::kEntered, "p2", kT0));
  f.kpis.on_change(change(SegmentChangeKind::kExited, "p2", kT0));
  f.observe("p1", purchase(10));
  f.observe("p2", purchase(30));
  const auto s = f.kpis.stats("vip");
  CHECK(s["size"] == 1);  // entries - exits
  CHECK(s["members"]["active_profiles"] == 1);
  CHECK(s["members"]["average_order_value"]["EUR"] == 10.0);
  CHECK(s["non_members"]["average_order_value"]["EUR"] == 30.0);
}

TEST_CASE("segment KPIs are bounded in active profiles and segments", "[collector][kpi]") {
  auto clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  SegmentKpiOptions options;
  options.max_active_profiles = 2;
  options.max_segments = 1;
  SegmentKpis kpis(options, clock, metrics);
  for (int p = 0; p < 4; ++p) {
    Event e = event("page_view", {{"url", "/"}});
    kpis.observe({&e, "p" + std::to_string(p)});
  }
  CHECK(metrics.value("aisle_collector_segment_kpi_active_profiles") == 2);
  CHECK(metrics.value("aisle_collector_segment_kpi_evicted_total") == 2);
  kpis.on_change(change(SegmentChangeKind::kEntered, "p1", kT0));
  auto other = change(SegmentChangeKind::kEntered, "p1", kT0);
  other.segment_id = "other";
  kpis.on_change(other);
  CHECK(metrics.value("aisle_collector_segment_kpi_refused_total") == 1);
  CHECK(kpis.stats("other")["size"] == 0);
}

TEST_CASE("parse_segment_kpi_options", "[collector][kpi]") {
  auto o = parse_segment_kpi_options({{"conversion_window_ms", 86'400'000}});
  REQUIRE(o.ok());
  CHECK(o->conversion_window_ms == 86'400'000);
  CHECK(parse_segment_kpi_options({{"conversion_window_ms", 5}}).error().message ==
        "segments.kpis.conversion_window_ms: must be in [60000, 2592000000], got 5");
}

}  // namespace
}  // namespace aisle::collector::segments
