#include "common/signal_waiter.hpp"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

namespace aisle {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

SignalWaiter::SignalWaiter() {
  const sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A closed peer (kiosk hanging up mid-response) must not kill the daemon.
  signal(SIGPIPE, SIG_IGN);
}

SignalEvent SignalWaiter::wait(std::chrono::milliseconds timeout) {
  const sigset_t set = handled_signals();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>(timeout.count() % 1000) * 1'000'000;
  const int signal_number = sigtimedwait(&set, nullptr, &ts);
  if (signal_number == SIGHUP) return SignalEvent::kReload;
  if (signal_number == SIGTERM || signal_number == SIGINT) return SignalEvent::kTerminate;
  return SignalEvent::kNone;
}

}  // namespace aisle
