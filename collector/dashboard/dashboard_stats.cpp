#include "collector/dashboard/dashboard_stats.hpp"

#include <algorithm>

#include "common/time_format.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

constexpr const char* kLatencyName = "aisle_collector_ingest_latency_seconds";
constexpr const char* kLatencyHelp =
    "From occurred_at (producer clock) to committed at the collector";
constexpr const char* kOtherStore = "(other)";

std::vector<std::uint64_t> bucket_counts(const metrics::Histogram& h) {
  std::vector<std::uint64_t> out(h.upper_bounds().size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = h.bucket_count(i);
  return out;
}

// {reason="schema"} -> schema; the family has one label.
std::string label_value(const std::string& rendered) {
  const auto open = rendered.find('"');
  const auto close = rendered.rfind('"');
  if (open == std::string::npos || close <= open) return rendered;
  return rendered.substr(open + 1, close - open - 1);
}

json quantiles_json(const std::vector<double>& bounds, const std::vector<std::uint64_t>& before,
                    const std::vector<std::uint64_t>& after) {
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < after.size(); ++i) {
    count += after[i] - (i < before.size() ? before[i] : 0);
  }
  auto ms = [&](double q) { return window_quantile(bounds, before, after, q) * 1000.0; };
  return {{"count", count}, {"p50_ms", ms(0.5)}, {"p90_ms", ms(0.9)}, {"p99_ms", ms(0.99)}};
}

}  // namespace

double window_quantile(const std::vector<double>& upper_bounds,
                       const std::vector<std::uint64_t>& before,
                       const std::vector<std::uint64_t>& after, double q) {
  std::vector<std::uint64_t> delta(after.size());
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < after.size(); ++i) {
    const std::uint64_t b = i < before.size() ? before[i] : 0;
    delta[i] = after[i] >= b ? after[i] - b : 0;
    total += delta[i];
  }
  if (total == 0 || upper_bounds.empty()) return 0;
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (std::size_t i = 0; i < delta.size(); ++i) {
    const double next = seen + static_cast<double>(delta[i]);
    if (next >= rank && delta[i] > 0) {
      if (i >= upper_bounds.size()) return upper_bounds.back();  // +Inf bucket
      const double lower = i == 0 ? 0.0 : upper_bounds[i - 1];
      const double fraction = (rank - seen) / static_cast<double>(delta[i]);
      return lower + (upper_bounds[i] - lower) * std::clamp(fraction, 0.0, 1.0);
    }
    seen = next;
  }
  return upper_bounds.back();
}

DashboardStats::DashboardStats(DashboardOptions options, DashboardSources sources,
                               ClockPtr clock, metrics::Registry& metrics)
    : options_(options),
      sources_(std::move(sources)),
      clock_(std::move(clock)),
      metrics_(metrics),
      latency_received_(metrics.histogram(kLatencyName, kLatencyHelp,
                                          metrics::latency_buckets_seconds(),
                                          {{"from", "received"}})),
      latency_occurred_(metrics.histogram(kLatencyName, kLatencyHelp,
                                          metrics::latency_buckets_seconds(),
                                          {{"from", "occurred"}})) {
  if (options_.step.count() <= 0) options_.step = std::chrono::milliseconds(10000);
  options_.steps = std::max<std::size_t>(options_.steps, 2);
  options_.max_series = std::max<std::size_t>(options_.max_series, 1);
  // The first baseline: windows reaching back before it count from here.
  std::lock_guard lock(mutex_);
  advance(clock_->now_unix_ms() / options_.step.count());
}

DashboardStats::Sample DashboardStats::take_sample(std::int64_t step) const {
  Sample s;
  s.step = step;
  for (const auto& [labels, value] : metrics_.values("aisle_collector_quarantined_total")) {
    s.quarantined[label_value(labels)] += value;
  }
  s.latency_received = bucket_counts(latency_received_);
  s.latency_occurred = bucket_counts(latency_occurred_);
  if (sources_.segment_sizes) s.segments = sources_.segment_sizes();
  return s;
}

void DashboardStats::advance(std::int64_t step) {
  if (step <= current_step_) return;
  const std::int64_t steps = static_cast<std::int64_t>(options_.steps);
  // Clear the ring slots of the steps now starting (all of them after a long idle time).
  const std::int64_t first = std::max(current_step_ + 1, step - steps + 1);
  for (auto& [key, series] : series_) {
    for (std::int64_t s = first; s <= step; ++s) series.points[static_cast<std::size_t>(s % steps)] = 0;
  }
  current_step_ = step;
  samples_.push_back(take_sample(step));
  // Keep samples covering the window plus one (the baseline of the oldest point).
  while (samples_.size() > options_.steps + 1) samples_.erase(samples_.begin());
}

DashboardStats::Series& DashboardStats::series_for(const std::string& store,
                                                   const std::string& source) {
  std::string key = store + '\x1f' + source;
  auto it = series_.find(key);
  if (it != series_.end()) return it->second;
  std::string effective_store = store;
  if (series_.size() >= options_.max_series) {
    effective_store = kOtherStore;
    key = effective_store + '\x1f' + source;
    it = series_.find(key);
    if (it != series_.end()) return it->second;
  }
  Series s;
  s.store = effective_store;
  s.source = source;
  s.points.assign(options_.steps, 0);
  return series_.emplace(key, std::move(s)).first->second;
}

void DashboardStats::on_events(const std::vector<profiles::ProfiledEvent>& events) {
  const std::int64_t step = clock_->now_unix_ms() / options_.step.count();
  std::lock_guard lock(mutex_);
  advance(step);
  const std::size_t slot = static_cast<std::size_t>(step % static_cast<std::int64_t>(options_.steps));
  for (const auto& profiled : events) {
    const Event& e = *profiled.event;
    const std::string store = e.source.store_id.empty() ? "web" : e.source.store_id;
    Series& s = series_for(store, channel_name(e.source.channel));
    ++s.total;
    ++s.points[slot];
  }
}

// Merges and erasures change no series: profile counts come from the profile service's gauges.
void DashboardStats::on_merge(const profiles::MergeRecord&) {}

void DashboardStats::on_erase(const profiles::ErasedProfile&) {}

std::vector<std::uint64_t> DashboardStats::ordered(const std::vector<std::uint64_t>& ring) const {
  const std::int64_t steps = static_cast<std::int64_t>(options_.steps);
  std::vector<std::uint64_t> out;
  out.reserve(options_.steps);
  for (std::int64_t s = current_step_ - steps + 1; s <= current_step_; ++s) {
    out.push_back(s < 0 ? 0 : ring[static_cast<std::size_t>(s % steps)]);
  }
  return out;
}

const DashboardStats::Sample* DashboardStats::sample_at_or_before(std::int64_t step) const {
  const Sample* found = nullptr;
  for (const auto& s : samples_) {
    if (s.step <= step) found = &s;
  }
  return found ? found : (samples_.empty() ? nullptr : &samples_.front());
}

json DashboardStats::snapshot() {
  const UnixMillis now = clock_->now_unix_ms();
  const std::int64_t step = now / options_.step.count();
  std::lock_guard lock(mutex_);
  advance(step);
  // What is true now; the ring holds the values at the start of each step (the baselines).
  const Sample latest = take_sample(step);
  const std::int64_t per_minute =
      std::max<std::int64_t>(1, 60000 / options_.step.count());
  const Sample* minute_ago = sample_at_or_before(step - per_minute);

  json out;
  out["now"] = format_rfc3339_ms(now);
  out["step_seconds"] = static_cast<double>(options_.step.count()) / 1000.0;
  out["steps"] = options_.steps;

  // Ingest: per store and source, and the total per step.
  json series = json::array();
  std::vector<std::uint64_t> total_points(options_.steps, 0);
  std::uint64_t total = 0;
  for (const auto& [key, s] : series_) {
    const auto points = ordered(s.points);
    std::uint64_t last_minute = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
      total_points[i] += points[i];
      if (i + static_cast<std::size_t>(per_minute) >= points.size()) last_minute += points[i];
    }
    total += s.total;
    series.push_back({{"store", s.store},
                      {"source", s.source},
                      {"total", s.total},
                      {"per_second", static_cast<double>(last_minute) / 60.0},
                      {"points", points}});
  }
  out["ingest"] = {{"total", total}, {"series", std::move(series)}, {"points", total_points}};

  // Quarantine by reason: totals, the last minute and per-step increments.
  json reasons = json::array();
  for (const auto& [reason, value] : latest.quarantined) {
    json points = json::array();
    double previous = -1;
    for (std::int64_t s = step - static_cast<std::int64_t>(options_.steps) + 1; s <= step; ++s) {
      const Sample* at = s == step ? &latest : sample_at_or_before(s);
      double v = 0;
      if (at) {
        auto it = at->quarantined.find(reason);
        v = it == at->quarantined.end() ? 0 : it->second;
      }
      points.push_back(previous < 0 ? 0.0 : std::max(0.0, v - previous));
      previous = v;
    }
    double before = 0;
    if (minute_ago) {
      auto it = minute_ago->quarantined.find(reason);
      before = it == minute_ago->quarantined.end() ? 0 : it->second;
    }
    reasons.push_back({{"reason", reason},
                       {"total", value},
                       {"last_minute", std::max(0.0, value - before)},
                       {"points", std::move(points)}});
  }
  out["quarantine"] = {{"reasons", std::move(reasons)}};

  // Latency over the last minute, and p99 per step.
  const auto& bounds = latency_received_.upper_bounds();
  const std::vector<std::uint64_t> empty;
  json latency;
  latency["received"] = quantiles_json(bounds, minute_ago ? minute_ago->latency_received : empty,
                                       bucket_counts(latency_received_));
  latency["occurred"] = quantiles_json(bounds, minute_ago ? minute_ago->latency_occurred : empty,
                                       bucket_counts(latency_occurred_));
  json p99 = json::array();
  for (std::size_t i = 1; i < samples_.size(); ++i) {
    p99.push_back({{"step", samples_[i].step},
                   {"p99_ms", window_quantile(bounds, samples_[i - 1].latency_received,
                                              samples_[i].latency_received, 0.99) *
                                  1000.0}});
  }
  latency["received_p99_points"] = std::move(p99);
  out["latency"] = std::move(latency);

  if (sources_.agents) {
    json agents = json::array();
    for (const auto& a : sources_.agents()) {
      agents.push_back({{"store_id", a.store_id},
                        {"agent_id", a.agent_id},
                        {"last_seen", a.last_seen ? format_rfc3339_ms(a.last_seen) : ""},
                        {"last_seen_seconds_ago",
                         a.last_seen ? static_cast<double>(now - a.last_seen) / 1000.0 : -1.0},
                        {"backlog", a.backlog},
                        {"clock_skew_ms", a.clock_skew_ms},
                        {"lag_ms", a.lag_ms},
                        {"events", a.events},
                        {"gaps", a.gaps}});
    }
    out["agents"] = std::move(agents);
  }

  if (sources_.segment_sizes) {
    // The largest segments now, each with its size at every step.
    std::vector<std::pair<std::string, std::uint64_t>> largest(latest.segments.begin(),
                                                               latest.segments.end());
    std::sort(largest.begin(), largest.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    if (largest.size() > options_.max_segments) largest.resize(options_.max_segments);
    json segments = json::array();
    for (const auto& [id, size] : largest) {
      json points = json::array();
      for (std::int64_t s = step - static_cast<std::int64_t>(options_.steps) + 1; s <= step;
           ++s) {
        const Sample* at = s == step ? &latest : sample_at_or_before(s);
        std::uint64_t v = 0;
        if (at && at->step <= s) {
          auto it = at->segments.find(id);
          if (it != at->segments.end()) v = it->second;
        }
        points.push_back(v);
      }
      segments.push_back({{"segment_id", id}, {"size", size}, {"points", std::move(points)}});
    }
    out["segments"] = {{"count", latest.segments.size()}, {"series", std::move(segments)}};
  }
  if (sources_.recommendation_stats) out["recommendations"] = sources_.recommendation_stats();
  if (sources_.recent_erasures) out["erasures"] = sources_.recent_erasures(options_.recent_erasures);
  out["profiles"] = {
      {"profiles", metrics_.value("aisle_collector_profile_profiles")},
      {"identifiers", metrics_.value("aisle_collector_profile_identifiers")},
      {"merges", metrics_.value("aisle_collector_profile_merges_total")}};
  return out;
}

}  // namespace aisle::collector
