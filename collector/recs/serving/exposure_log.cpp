#include "collector/recs/serving/exposure_log.hpp"

namespace aisle::collector::recs {
namespace {

// Metric series are bounded: placements and strategies come from requests, so past this many
// (placement, strategy) pairs new ones are counted under "other".
constexpr std::size_t kMaxSeries = 256;

}  // namespace

ExposureLog::ExposureLog(AttributionOptions options, metrics::Registry& metrics)
    : options_(options),
      metrics_(metrics),
      unattributed_(metrics.counter("aisle_collector_recs_unattributed_total",
                                    "Events with a rec_id that matched no remembered answer "
                                    "(unknown, forgotten or outside the attribution window)")) {}

ExposureLog::Series& ExposureLog::series(const std::string& placement,
                                         const std::string& strategy) {
  auto key = std::make_pair(placement, strategy);
  auto it = series_.find(key);
  if (it != series_.end()) return it->second;
  if (series_.size() >= kMaxSeries) key = {"other", "other"};
  Series& s = series_[key];
  if (s.impressions == nullptr) {
    const metrics::Labels labels = {{"placement", key.first}, {"strategy", key.second}};
    s.impressions = &metrics_.counter("aisle_collector_recs_impressions_total",
                                      "Recommendation answers served", labels);
    s.clicks = &metrics_.counter("aisle_collector_recs_clicks_total",
                                 "Answers with at least one attributed click", labels);
    s.carts = &metrics_.counter("aisle_collector_recs_cart_adds_total",
                                "Answers with at least one attributed cart_add", labels);
    s.conversions = &metrics_.counter("aisle_collector_recs_conversions_total",
                                      "Answers with at least one attributed purchased line",
                                      labels);
  }
  return s;
}

void ExposureLog::record(const std::string& rec_id, Exposure exposure) {
  std::lock_guard lock(mutex_);
  Series& s = series(exposure.placement, exposure.strategy);
  ++s.counts.impressions;
  s.impressions->inc();
  if (exposures_.emplace(rec_id, std::move(exposure)).second) order_.push_back(rec_id);
  while (order_.size() > options_.max_exposures) {
    exposures_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<Exposure> ExposureLog::mark(const std::string& rec_id, Outcome outcome,
                                          UnixMillis at) {
  std::lock_guard lock(mutex_);
  auto it = exposures_.find(rec_id);
  if (it == exposures_.end() || at - it->second.at > options_.window.count()) {
    unattributed_.inc();
    return std::nullopt;
  }
  Exposure& e = it->second;
  bool* flag = outcome == Outcome::kClick ? &e.clicked
               : outcome == Outcome::kCart ? &e.carted
                                           : &e.converted;
  if (*flag) return std::nullopt;
  *flag = true;
  Series& s = series(e.placement, e.strategy);
  switch (outcome) {
    case Outcome::kClick:
      ++s.counts.clicks;
      s.clicks->inc();
      break;
    case Outcome::kCart:
      ++s.counts.carts;
      s.carts->inc();
      break;
    case Outcome::kConversion:
      ++s.counts.conversions;
      s.conversions->inc();
      break;
  }
  return e;
}

std::map<std::pair<std::string, std::string>, AttributionCounts> ExposureLog::stats() const {
  std::lock_guard lock(mutex_);
  std::map<std::pair<std::string, std::string>, AttributionCounts> out;
  for (const auto& [key, s] : series_) out[key] = s.counts;
  return out;
}

std::size_t ExposureLog::size() const {
  std::lock_guard lock(mutex_);
  return exposures_.size();
}

}  // namespace aisle::collector::recs
