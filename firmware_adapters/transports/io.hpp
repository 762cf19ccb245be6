// Small POSIX helpers the transports share: an owned file descriptor, a wakeup (eventfd) that
// interrupts poll(2) when stop() is called, and a thread-safe TransportStats holder.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "firmware_adapters/transport.hpp"

namespace aisle::adapters::io {

// Owns a file descriptor; closes it on destruction or reset().
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// An eventfd that stop() signals; the transport thread polls it beside its I/O descriptors.
// notify() is async-signal-safe and callable from any thread; the flag stays set (level).
class Wakeup {
 public:
  Wakeup();
  int fd() const { return fd_.get(); }
  void notify();
  bool notified() const;
  // Waits until notified or `timeout` passed; true when notified (the transport should stop).
  bool wait(std::chrono::milliseconds timeout) const;

 private:
  UniqueFd fd_;
};

// "strerror(errno)" with the call that failed: "open /dev/ttyUSB0: No such file or directory".
std::string errno_message(std::string_view what, int error);

// Parses "host:port" (port 0..65535) into an IPv4 socket address; false when malformed or the
// host is not an IPv4 literal / resolvable name.
bool parse_ipv4_endpoint(std::string_view text, struct sockaddr_in& out);
// "10.0.0.5:4431"
std::string endpoint_string(const struct sockaddr_in& address);

// The host and port a bound socket listens on (the port the kernel chose for port 0).
struct BoundEndpoint {
  std::string host;
  int port = 0;
};
BoundEndpoint bound_endpoint(int fd);

// TransportStats behind a mutex; the transport thread updates, any thread reads.
class StatsBox {
 public:
  TransportStats snapshot() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  template <typename F>
  void update(F&& f) {
    std::lock_guard lock(mutex_);
    f(stats_);
  }
  void count_frame(bool truncated) {
    update([truncated](TransportStats& s) {
      ++s.frames;
      if (truncated) ++s.oversize;
    });
  }

 private:
  mutable std::mutex mutex_;
  TransportStats stats_;
};

}  // namespace aisle::adapters::io
