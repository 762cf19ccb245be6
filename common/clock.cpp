#include "common/clock.hpp"

namespace aisle {

UnixMillis SystemClock::now_unix_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::steady_clock::time_point SystemClock::now_steady() const {
  return std::chrono::steady_clock::now();
}

ClockPtr SystemClock::instance() {
  static ClockPtr clock = std::make_shared<SystemClock>();
  return clock;
}

}  // namespace aisle
