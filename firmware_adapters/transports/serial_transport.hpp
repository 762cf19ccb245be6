// SerialTransport: a TTY (USB-serial people counters, RFID readers), line framed. The port is set
// from config with termios (baud, data bits, parity, stop bits, flow control, raw or canonical
// input). When the device disappears (USB unplug: POLLHUP, EIO, the node is gone) the pending
// line is delivered, the loss is logged and counted, and the device is reopened with full-jitter
// backoff until it is back; a device missing at start is waited for the same way.
//
// One thread owns the descriptor; stop() wakes it through an eventfd and joins.
#pragma once

#include <termios.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "firmware_adapters/transport.hpp"
#include "firmware_adapters/transports/io.hpp"

namespace aisle::adapters {

enum class Parity { kNone, kEven, kOdd };
enum class FlowControl { kNone, kRtsCts, kXonXoff };

struct SerialOptions {
  std::string device;  // "/dev/ttyUSB0", or a stable /dev/serial/by-id/... link
  int baud = 9600;     // one of the standard termios rates (1200 .. 4000000)
  int data_bits = 8;   // 5..8
  Parity parity = Parity::kNone;
  int stop_bits = 1;  // 1 or 2
  FlowControl flow_control = FlowControl::kNone;
  // true: no line discipline at all (cfmakeraw); false: the kernel's canonical input (CR->NL).
  bool raw = true;
  std::size_t max_line_bytes = 4096;
  std::chrono::milliseconds reopen_backoff_base{200};
  std::chrono::milliseconds reopen_backoff_max{10000};
};

// True for the baud rates termios can set.
bool is_supported_baud(int baud);
// Applies the options to a termios read from the device (before tcsetattr). Separate so tests
// can check what a pseudo-terminal does not keep (Linux ptys force CS8 and clear PARENB).
void configure_termios(termios& tio, const SerialOptions& options);

class SerialTransport final : public Transport {
 public:
  SerialTransport(SerialOptions options, const Clock& clock);
  ~SerialTransport() override;

  Status start(FrameSink sink) override;
  void stop() override;
  std::string describe() const override;
  TransportStats stats() const override { return stats_.snapshot(); }

 private:
  void run();
  // Opens and configures the device; an error message when it cannot.
  Result<io::UniqueFd> open_device() const;
  // Reads until the device is lost or stop() is called; true when stopping.
  bool read_until_lost(int fd);

  SerialOptions options_;
  const Clock& clock_;
  FrameSink sink_;
  io::Wakeup wakeup_;
  std::thread thread_;
  io::StatsBox stats_;
};

}  // namespace aisle::adapters
