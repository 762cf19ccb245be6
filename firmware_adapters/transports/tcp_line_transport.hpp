// TcpLineTransport: a TCP server devices connect to (people counters, POS lanes); every line a
// connection sends is one frame. Several connections at once, each with its own line numbering.
//
// start() binds synchronously (a busy port is an error at startup), then one thread polls the
// listening socket, every connection and the stop wakeup. stop() closes everything, delivers a
// pending unterminated line of each connection, and joins.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "firmware_adapters/transport.hpp"
#include "firmware_adapters/transports/io.hpp"

namespace aisle::adapters {

struct TcpLineOptions {
  std::string listen = "127.0.0.1:7001";  // "host:port"; port 0 picks a free one (tests)
  std::size_t max_line_bytes = 4096;
  std::size_t max_connections = 32;  // further connections are accepted and closed at once
  // A connection silent this long is closed (0: never); half-open peers of unplugged devices.
  std::chrono::milliseconds idle_timeout{0};
};

class TcpLineTransport final : public Transport {
 public:
  TcpLineTransport(TcpLineOptions options, const Clock& clock);
  ~TcpLineTransport() override;

  Status start(FrameSink sink) override;
  void stop() override;
  std::string describe() const override;
  TransportStats stats() const override { return stats_.snapshot(); }
  // The bound port (after start).
  int port() const { return port_.load(); }

 private:
  void run();

  TcpLineOptions options_;
  const Clock& clock_;
  FrameSink sink_;
  io::UniqueFd listener_;
  io::Wakeup wakeup_;
  std::thread thread_;
  std::atomic<int> port_{0};
  std::string host_;
  io::StatsBox stats_;
};

}  // namespace aisle::adapters
