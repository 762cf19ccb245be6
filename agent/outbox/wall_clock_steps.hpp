// WallClockSteps: notices when the wall clock is stepped (NTP setting the time, an operator's
// `date -s`, a gateway without a battery-backed clock booting in 1970 and syncing later) by
// comparing it with the monotonic clock, and remembers how far it jumped forward after which
// record, so age expiry does not count a step as age.
//
// Without it, a gateway that accepted events at a wrong early time and then synced would find
// every bulk and normal record "older than max_age" at the next maintenance and expire minutes-old
// data. With it, a record's age is taken as wall now - received_at - (forward steps after it).
// Backward steps need nothing: they make records look younger, which only delays an expiry.
//
// Not thread-safe: the outbox calls it under its database mutex. Steps are remembered for this
// process's life only (after a restart, records from before a step look as old as their stamps).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "common/clock.hpp"

namespace aisle::agent {

class WallClockSteps {
 public:
  // Differences between the two clocks up to this are drift or scheduling, not a step.
  static constexpr std::int64_t kToleranceMs = 2000;
  // Oldest entries are merged beyond this many remembered steps (merging over-credits the older
  // records, which only delays their expiry).
  static constexpr std::size_t kMaxSteps = 64;

  // Samples both clocks. `next_seq` is the seq the next record will get: a step seen now
  // happened after every record below it. Returns the step in ms (> 0 forward, < 0 back) when
  // one beyond the tolerance happened since the previous sample, else 0.
  std::int64_t observe(UnixMillis wall, std::chrono::steady_clock::time_point steady,
                       std::uint64_t next_seq) {
    std::int64_t step = 0;
    if (last_) {
      const std::int64_t wall_delta = wall - last_->first;
      const std::int64_t steady_delta =
          std::chrono::duration_cast<std::chrono::milliseconds>(steady - last_->second).count();
      if (const std::int64_t diff = wall_delta - steady_delta;
          diff > kToleranceMs || diff < -kToleranceMs) {
        step = diff;
      }
    }
    last_ = {wall, steady};
    if (step > 0) add_forward(next_seq, step);
    return step;
  }

  // Forward steps observed after record `seq` was stored (0 when none).
  std::int64_t forward_after(std::uint64_t seq) const {
    std::int64_t total = 0;
    for (auto it = steps_.rbegin(); it != steps_.rend() && it->first > seq; ++it) {
      total += it->second;
    }
    return total;
  }

 private:
  void add_forward(std::uint64_t next_seq, std::int64_t ms) {
    if (!steps_.empty() && steps_.back().first == next_seq) {
      steps_.back().second += ms;  // no record in between: one step
    } else {
      steps_.emplace_back(next_seq, ms);
    }
    if (steps_.size() > kMaxSteps) {
      steps_[1].second += steps_[0].second;
      steps_.erase(steps_.begin());
    }
  }

  std::optional<std::pair<UnixMillis, std::chrono::steady_clock::time_point>> last_;
  // (first seq stored after the step, forward ms), ascending seq.
  std::vector<std::pair<std::uint64_t, std::int64_t>> steps_;
};

}  // namespace aisle::agent
