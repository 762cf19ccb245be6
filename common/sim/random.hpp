// The simulator's random numbers: a seeded std::mt19937_64 with its own distributions, because
// the standard library's distributions are implementation-defined and the same seed must give the
// same store day with any standard library.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace aisle::sim {

class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}

  std::uint64_t next() { return engine_(); }
  // [0, 1)
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // [low, high]
  std::int64_t integer(std::int64_t low, std::int64_t high) {
    return low + static_cast<std::int64_t>(engine_() % static_cast<std::uint64_t>(high - low + 1));
  }
  bool chance(double p) { return uniform() < p; }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
  // An index drawn with probability proportional to weights[i] (all >= 0, sum > 0).
  std::size_t weighted(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = uniform() * total;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.empty() ? 0 : weights.size() - 1;
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace aisle::sim
