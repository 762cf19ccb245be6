// Full-jitter exponential backoff (AWS architecture blog; Fluent Bit's backoff_full_jitter):
// delay = uniform(0, min(cap, base * 2^attempt)). Spreads hundreds of stores reconnecting after
// an outage instead of having them arrive in lockstep.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace aisle {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap,
          std::uint64_t seed = std::random_device{}())
      : base_(base), cap_(cap), random_(seed) {}

  // The delay before the next attempt; grows the exponent.
  std::chrono::milliseconds next() {
    const std::int64_t ceiling = ceiling_ms();
    if (attempt_ < 62) ++attempt_;
    std::uniform_int_distribution<std::int64_t> pick(0, ceiling);
    return std::chrono::milliseconds(pick(random_));
  }
  void reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }
  // The upper bound of the delay next() would draw from.
  std::int64_t ceiling_ms() const {
    const std::int64_t base = base_.count();
    if (attempt_ >= 40) return cap_.count();
    const std::int64_t grown = base << attempt_;
    return grown > cap_.count() || grown < base ? cap_.count() : grown;
  }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  std::mt19937_64 random_;
  int attempt_ = 0;
};

}  // namespace aisle
