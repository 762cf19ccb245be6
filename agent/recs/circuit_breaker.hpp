// CircuitBreaker: keeps kiosk latency low while the WAN is down. After `failure_threshold`
// consecutive failures the breaker opens and allow() says no for `cooldown`, so requests go
// straight to the cache or the local model instead of each waiting for the timeout; then one
// caller gets a probe (half-open): its success closes the breaker, its failure opens it again.
//
// Thread-safe (one mutex; every call is a few instructions). Time from the injected Clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "common/clock.hpp"

namespace aisle::agent::recs {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker(std::uint32_t failure_threshold, std::chrono::milliseconds cooldown,
                 ClockPtr clock);

  // True when the caller may ask the upstream now. In the half-open state only the first
  // caller after the cool-down gets true (the probe) until it records its outcome.
  bool allow();
  void record_success();
  void record_failure();

  State state() const;
  std::uint64_t times_opened() const;

 private:
  const std::uint32_t threshold_;
  const std::chrono::milliseconds cooldown_;
  ClockPtr clock_;
  mutable std::mutex mutex_;
  State state_ = State::kClosed;
  std::uint32_t consecutive_failures_ = 0;
  std::chrono::steady_clock::time_point open_until_{};
  bool probe_in_flight_ = false;
  std::uint64_t times_opened_ = 0;
};

const char* breaker_state_name(CircuitBreaker::State state);

}  // namespace aisle::agent::recs
