// Exponential time decay without touching every stored value on every update ("forward decay",
// Cormode et al. 2009): a weight observed at time t is stored multiplied by 2^((t - origin) /
// half_life). Every stored value then carries the same unknown factor, so ratios and rankings
// are exact. When the factor grows large the owner rebases: it multiplies all stored values by
// rebase_factor() and moves the origin (rare: once per ~500 half-lives).
#pragma once

#include <cmath>
#include <cstdint>

#include "common/clock.hpp"

namespace aisle::collector::recs {

class ForwardDecay {
 public:
  // half_life_ms <= 0 disables decay (every factor is 1).
  // `max_exponent` bounds the stored inflation (2^max_exponent): 500 for doubles, ~100 for floats.
  explicit ForwardDecay(std::int64_t half_life_ms, double max_exponent = 500)
      : half_life_ms_(half_life_ms), max_exponent_(max_exponent) {}

  // The multiplier for a weight observed at `at`. Events older than the origin get factors < 1.
  double factor(UnixMillis at) {
    if (half_life_ms_ <= 0) return 1.0;
    if (!has_origin_) {
      origin_ = at;
      has_origin_ = true;
    }
    return std::exp2(static_cast<double>(at - origin_) / static_cast<double>(half_life_ms_));
  }
  // True when stored values should be rebased before the factor for `at` is used.
  bool needs_rebase(UnixMillis at) const {
    return half_life_ms_ > 0 && has_origin_ &&
           static_cast<double>(at - origin_) / static_cast<double>(half_life_ms_) > max_exponent_;
  }
  // Moves the origin to `at`; returns what every stored value must be multiplied by.
  double rebase(UnixMillis at) {
    const double multiplier =
        std::exp2(-static_cast<double>(at - origin_) / static_cast<double>(half_life_ms_));
    origin_ = at;
    return multiplier;
  }

 private:
  std::int64_t half_life_ms_;
  double max_exponent_;
  UnixMillis origin_ = 0;
  bool has_origin_ = false;
};

}  // namespace aisle::collector::recs
