#include "agent/recs/circuit_breaker.hpp"

namespace aisle::agent::recs {

CircuitBreaker::CircuitBreaker(std::uint32_t failure_threshold, std::chrono::milliseconds cooldown,
                               ClockPtr clock)
    : threshold_(failure_threshold == 0 ? 1 : failure_threshold),
      cooldown_(cooldown),
      clock_(std::move(clock)) {}

bool CircuitBreaker::allow() {
  std::lock_guard lock(mutex_);
  switch (state_) {
    case State::kClosed: return true;
    case State::kOpen:
      if (clock_->now_steady() < open_until_) return false;
      state_ = State::kHalfOpen;
      probe_in_flight_ = true;
      return true;
    case State::kHalfOpen:
      // A probe that never reported (its caller gave up) must not keep the breaker shut
      // forever: after another cool-down a new probe is allowed.
      if (probe_in_flight_ && clock_->now_steady() < open_until_ + cooldown_) return false;
      probe_in_flight_ = true;
      open_until_ = clock_->now_steady();
      return true;
  }
  return true;
}

void CircuitBreaker::record_success() {
  std::lock_guard lock(mutex_);
  state_ = State::kClosed;
  consecutive_failures_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::record_failure() {
  std::lock_guard lock(mutex_);
  probe_in_flight_ = false;
  if (state_ == State::kHalfOpen || ++consecutive_failures_ >= threshold_) {
    if (state_ != State::kOpen) ++times_opened_;
    state_ = State::kOpen;
    open_until_ = clock_->now_steady() + cooldown_;
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::uint64_t CircuitBreaker::times_opened() const {
  std::lock_guard lock(mutex_);
  return times_opened_;
}

const char* breaker_state_name(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed: return "closed";
    case CircuitBreaker::State::kOpen: return "open";
    case CircuitBreaker::State::kHalfOpen: return "half_open";
  }
  return "unknown";
}

}  // namespace aisle::agent::recs
