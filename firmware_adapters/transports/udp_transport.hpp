// UdpTransport: one datagram = one frame (BLE gateways and counters that push UDP). A datagram
// larger than max_datagram_bytes is delivered cut and marked truncated.
//
// start() binds synchronously; one thread polls the socket and the stop wakeup.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "firmware_adapters/transport.hpp"
#include "firmware_adapters/transports/io.hpp"

namespace aisle::adapters {

struct UdpOptions {
  std::string listen = "127.0.0.1:7002";  // "host:port"; port 0 picks a free one (tests)
  std::size_t max_datagram_bytes = 65507;
  std::size_t receive_buffer_bytes = 0;  // SO_RCVBUF (0: system default) for bursts
};

class UdpTransport final : public Transport {
 public:
  UdpTransport(UdpOptions options, const Clock& clock);
  ~UdpTransport() override;

  Status start(FrameSink sink) override;
  void stop() override;
  std::string describe() const override;
  TransportStats stats() const override { return stats_.snapshot(); }
  int port() const { return port_.load(); }

 private:
  void run();

  UdpOptions options_;
  const Clock& clock_;
  FrameSink sink_;
  io::UniqueFd socket_;
  io::Wakeup wakeup_;
  std::thread thread_;
  std::atomic<int> port_{0};
  std::string host_;
  io::StatsBox stats_;
};

}  // namespace aisle::adapters
