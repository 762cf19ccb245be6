// Clock: the injected source of time, so batching, backoff, windows and timeouts are tested
// without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace aisle {

// Milliseconds since the Unix epoch, UTC (wall-clock; may jump).
using UnixMillis = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps that leave the process (received_at, ingested_at).
  virtual UnixMillis now_unix_ms() const = 0;
  // Monotonic time, for durations, timeouts and ages measured inside the process.
  virtual std::chrono::steady_clock::time_point now_steady() const = 0;
};
using ClockPtr = std::shared_ptr<Clock>;

// The real clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  UnixMillis now_unix_ms() const override;
  std::chrono::steady_clock::time_point now_steady() const override;
  static ClockPtr instance();
};

// A clock that only moves when told to. Thread-safe; used by tests and simulations.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMillis start_unix_ms = 1'700'000'000'000) : unix_ms_(start_unix_ms) {}
  UnixMillis now_unix_ms() const override { return unix_ms_.load(); }
  std::chrono::steady_clock::time_point now_steady() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(steady_ms_.load()));
  }
  void advance(std::chrono::milliseconds by) {
    unix_ms_ += by.count();
    steady_ms_ += by.count();
  }
  // Moves only the wall clock (a clock jump); the monotonic clock is unaffected.
  void set_unix_ms(UnixMillis ms) { unix_ms_ = ms; }

 private:
  std::atomic<UnixMillis> unix_ms_;
  std::atomic<std::int64_t> steady_ms_{0};
};

}  // namespace aisle
