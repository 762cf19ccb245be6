// ProcessGuard: owns a spawned child for the length of a test and stops it (SIGTERM, then SIGKILL
// after the grace time) however the test ends, so a failed REQUIRE never leaves a daemon behind.
#pragma once

#include <sys/types.h>

#include <chrono>

#include "common/process.hpp"
#include "common/result.hpp"

namespace aisle::test {

class ProcessGuard {
 public:
  ProcessGuard() = default;
  explicit ProcessGuard(pid_t pid,
                        std::chrono::milliseconds grace = std::chrono::milliseconds(3000))
      : pid_(pid), grace_(grace) {}
  ~ProcessGuard() { (void)stop(); }

  ProcessGuard(ProcessGuard&& other) noexcept : pid_(other.pid_), grace_(other.grace_) {
    other.pid_ = -1;
  }
  ProcessGuard& operator=(ProcessGuard&& other) noexcept {
    if (this != &other) {
      (void)stop();
      pid_ = other.pid_;
      grace_ = other.grace_;
      other.pid_ = -1;
    }
    return *this;
  }
  ProcessGuard(const ProcessGuard&) = delete;
  ProcessGuard& operator=(const ProcessGuard&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && is_running(pid_); }

  // Stops the process now (idempotent).
  Status stop() {
    if (pid_ <= 0) return ok_status();
    Status status = terminate(pid_, grace_);
    pid_ = -1;
    return status;
  }
  // Gives up ownership without stopping.
  pid_t release() {
    const pid_t pid = pid_;
    pid_ = -1;
    return pid;
  }

 private:
  pid_t pid_ = -1;
  std::chrono::milliseconds grace_{3000};
};

// Spawns and guards in one step; throws std::runtime_error when the program cannot start (test
// setup only).
ProcessGuard spawn_guarded(const SpawnOptions& options,
                           std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

}  // namespace aisle::test
