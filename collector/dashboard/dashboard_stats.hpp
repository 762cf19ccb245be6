// DashboardStats: the numbers behind the collector's dashboard (/ui, docs/dashboard.md), kept as
// short time series in memory: stored events per store and source, quarantine by reason,
// end-to-end latency percentiles, segment sizes. It listens to profiled events (every newly
// stored event passes through it, on the identity-resolution thread) and samples the metrics
// registry and the other services at every step boundary it crosses — lazily, when events
// arrive or the dashboard asks, so an idle collector spends nothing on it.
//
// Memory is bounded: `steps` points per series, at most `max_series` store/source pairs (the
// rest are summed into store "(other)") and `max_segments` segment series.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/ingest/stream_tracker.hpp"
#include "collector/profiles/profile_listener.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

struct DashboardOptions {
  std::chrono::milliseconds step{10000};
  std::size_t steps = 90;  // 15 minutes at 10 s
  std::size_t max_series = 256;
  std::size_t max_segments = 20;
  std::size_t recent_erasures = 10;
};

// Where the panels that other services own get their data; any may be empty (panel hidden).
struct DashboardSources {
  std::function<std::vector<AgentState>()> agents;
  // {"<segment id>": size, ...}
  std::function<std::map<std::string, std::uint64_t>()> segment_sizes;
  // The recommendation service's stats (CTR by placement and strategy), shown as it is.
  std::function<nlohmann::json()> recommendation_stats;
  // Newest first: [{"erasure_id","profile_id","state","requested_at",...}]
  std::function<nlohmann::json(std::size_t limit)> recent_erasures;
};

class DashboardStats final : public profiles::ProfileListener {
 public:
  DashboardStats(DashboardOptions options, DashboardSources sources, ClockPtr clock,
                 metrics::Registry& metrics);

  void on_events(const std::vector<profiles::ProfiledEvent>& events) override;
  void on_merge(const profiles::MergeRecord& merge) override;
  void on_erase(const profiles::ErasedProfile& erased) override;

  // Everything the dashboard shows (the JSON of GET /v1/dashboard).
  nlohmann::json snapshot();

 private:
  // Per step boundary: cumulative values sampled from the registry and services.
  struct Sample {
    std::int64_t step = 0;
    std::map<std::string, double> quarantined;  // by reason
    std::vector<std::uint64_t> latency_received;  // histogram buckets (not cumulative)
    std::vector<std::uint64_t> latency_occurred;
    std::map<std::string, std::uint64_t> segments;
  };
  struct Series {
    std::string store;
    std::string source;
    std::uint64_t total = 0;
    std::vector<std::uint64_t> points;  // ring, indexed by step % steps
  };

  void advance(std::int64_t step);  // under mutex_
  Sample take_sample(std::int64_t step) const;
  Series& series_for(const std::string& store, const std::string& source);
  // Oldest first, the value at each of the last `steps` steps (0 for steps not seen).
  std::vector<std::uint64_t> ordered(const std::vector<std::uint64_t>& ring) const;
  const Sample* sample_at_or_before(std::int64_t step) const;

  DashboardOptions options_;
  DashboardSources sources_;
  ClockPtr clock_;
  metrics::Registry& metrics_;
  metrics::Histogram& latency_received_;
  metrics::Histogram& latency_occurred_;

  mutable std::mutex mutex_;
  std::int64_t current_step_ = -1;
  std::map<std::string, Series> series_;  // key "store\x1fsource"
  std::vector<Sample> samples_;            // ring of steps + 1 samples, oldest first
};

// Quantile (0..1) of the observations between two cumulative snapshots of a histogram's
// buckets, interpolated inside the bucket as Prometheus' histogram_quantile does. Values in the
// +Inf bucket report the largest finite bound. 0 when there are none.
double window_quantile(const std::vector<double>& upper_bounds,
                       const std::vector<std::uint64_t>& before,
                       const std::vector<std::uint64_t>& after, double q);

}  // namespace aisle::collector
