// SignalWaiter: synchronous signal handling for daemons. The constructor blocks SIGTERM, SIGINT
// and SIGHUP in the calling thread — construct it in main() before starting any thread, so every
// thread inherits the mask — and wait() returns them one at a time in the main loop. No async
// signal handlers, so shutdown and reload run as ordinary code.
#pragma once

#include <chrono>

namespace aisle {

enum class SignalEvent { kNone, kTerminate, kReload };

class SignalWaiter {
 public:
  SignalWaiter();
  // Waits up to `timeout`; kNone when nothing arrived (time for periodic work).
  SignalEvent wait(std::chrono::milliseconds timeout);
};

}  // namespace aisle
