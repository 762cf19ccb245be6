// ExposureLog: which recommendation answers (rec_id) were shown where and by which strategy, so
// click / cart_add / purchase events carrying a rec_id are attributed to a placement, a strategy
// and an experiment arm. Bounded: the oldest rec_ids are forgotten past `max_exposures`, and an
// outcome later than `window` after the answer is not attributed. Each outcome counts at most
// once per rec_id, so click-through and conversion rates are proportions of answers.
//
// Thread-safety: all methods from any thread (one mutex).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "collector/recs/serving/experiments.hpp"
#include "collector/recs/serving/recs_options.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"

namespace aisle::collector::recs {

enum class Outcome { kClick, kCart, kConversion };

struct Exposure {
  std::string placement;
  std::string strategy;
  std::string mode;                       // "personalized" | "popular"
  std::optional<Assignment> assignment;   // the experiment arm, when one ran
  UnixMillis at = 0;
  bool clicked = false;
  bool carted = false;
  bool converted = false;
};

struct AttributionCounts {
  std::uint64_t impressions = 0;  // answers served
  std::uint64_t clicks = 0;       // answers with at least one click
  std::uint64_t carts = 0;        // ... with at least one cart_add
  std::uint64_t conversions = 0;  // ... with at least one purchased line
};

class ExposureLog {
 public:
  ExposureLog(AttributionOptions options, metrics::Registry& metrics);

  void record(const std::string& rec_id, Exposure exposure);
  // Marks the outcome on the exposure; returns it when this is the first such outcome of the
  // rec_id inside the window (the caller feeds experiments), nullopt otherwise (unknown rec_id,
  // forgotten, too late, already counted).
  std::optional<Exposure> mark(const std::string& rec_id, Outcome outcome, UnixMillis at);

  // (placement, strategy) -> counts since start.
  std::map<std::pair<std::string, std::string>, AttributionCounts> stats() const;
  std::size_t size() const;

 private:
  struct Series {
    AttributionCounts counts;
    metrics::Counter* impressions = nullptr;
    metrics::Counter* clicks = nullptr;
    metrics::Counter* carts = nullptr;
    metrics::Counter* conversions = nullptr;
  };
  Series& series(const std::string& placement, const std::string& strategy);  // under mutex_

  AttributionOptions options_;
  metrics::Registry& metrics_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Exposure> exposures_;
  std::deque<std::string> order_;  // rec_ids oldest first
  std::map<std::pair<std::string, std::string>, Series> series_;
  metrics::Counter& unattributed_;
};

}  // namespace aisle::collector::recs
