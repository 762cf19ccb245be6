// SegmentKpis: real-time figures per segment (docs/propensity.md, "Segment KPIs"), served by
// GET /v1/segments/{id}/stats: current size, entries and exits in the last minute and hour, and
// for members vs non-members among the profiles active in the conversion window: conversion rate
// (profiles with a sale / active profiles) and average order value per currency.
//
// Inputs: segment changes (SegmentChangeSink, from the segment engine's thread) and profiled
// events (observe(), from the identity-resolution thread). stats() runs on API threads. One mutex;
// stats() copies what it needs and calls the membership lookup outside it, so a lookup that takes
// the engine's lock cannot deadlock with an engine that calls on_change() under that lock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collector/profiles/profile_listener.hpp"
#include "collector/segments/segment_change.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::collector::segments {

// Configuration section `segments.kpis`.
struct SegmentKpiOptions {
  std::int64_t conversion_window_ms = 3'600'000;  // "active" and "converted" look this far back
  std::size_t max_active_profiles = 200'000;      // oldest activity forgotten beyond it
  std::size_t max_segments = 10'000;              // changes of further segments are not counted
  std::size_t max_purchases_per_profile = 16;     // sales remembered per active profile
  // Without a membership lookup, members are tracked here from the changes; at most this many
  // memberships in all (further entries are counted in size but not in the member split).
  std::size_t max_tracked_memberships = 2'000'000;
};
Result<SegmentKpiOptions> parse_segment_kpi_options(const nlohmann::json& section);

// Is the profile currently a member of the segment? (the segment engine's view)
using MembershipLookup =
    std::function<bool(std::string_view profile_id, std::string_view segment_id)>;

class SegmentKpis final : public SegmentChangeSink {
 public:
  // `lookup` may be empty: membership is then tracked from the changes this sink receives.
  SegmentKpis(SegmentKpiOptions options, ClockPtr clock, metrics::Registry& metrics,
              MembershipLookup lookup = {});

  void on_change(const SegmentChange& change) override;
  // Records activity and sales (purchase events with transaction_type "sale" and a `total`).
  void observe(const profiles::ProfiledEvent& event);
  void on_merge(const profiles::MergeRecord& merge);
  void forget(std::string_view profile_id);

  // The KPIs of one segment (every figure 0 for a segment never seen):
  // {"segment_id","size","entries":{"last_minute","last_hour"},"exits":{...},
  //  "window_seconds", "members":{"active_profiles","converted_profiles","conversion_rate",
  //  "orders","average_order_value":{"EUR":..}}, "non_members":{...}}
  nlohmann::json stats(const std::string& segment_id) const;

  std::size_t memory_bytes() const;

 private:
  // Counts per second for the last 60 s and per minute for the last 60 min, as rings keyed by
  // the absolute second / minute, so stale buckets are recognised without a timer.
  struct RateWindow {
    std::array<std::uint32_t, 60> seconds{};
    std::array<std::int64_t, 60> second_of{};
    std::array<std::uint32_t, 60> minutes{};
    std::array<std::int64_t, 60> minute_of{};
    void add(UnixMillis at);
    std::uint64_t last_minute(UnixMillis now) const;
    std::uint64_t last_hour(UnixMillis now) const;
  };
  struct Segment {
    std::int64_t entries_minus_exits = 0;
    RateWindow entries;
    RateWindow exits;
    std::unordered_set<std::string> members;  // only without a lookup
  };
  struct Sale {
    UnixMillis at = 0;
    double total = 0;
    std::string currency;
  };
  struct Activity {
    UnixMillis last_active = 0;
    std::vector<Sale> sales;  // at most max_purchases_per_profile, oldest dropped
    std::list<std::string>::iterator order;
  };

  void expire(UnixMillis now);

  SegmentKpiOptions options_;
  ClockPtr clock_;
  MembershipLookup lookup_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Segment> segments_;
  std::unordered_map<std::string, Activity> active_;
  std::list<std::string> active_order_;  // front: most recently active
  std::size_t tracked_memberships_ = 0;

  metrics::Gauge& active_gauge_;
  metrics::Counter& changes_total_;
  metrics::Counter& refused_total_;
  metrics::Counter& evicted_total_;
};

}  // namespace aisle::collector::segments
