// Transport: delivers raw frames from a device (serial TTY, TCP line server, UDP datagrams, a
// local MQTT topic, the tail of a file that rotates) to a FrameSink.
//
// Lifecycle: start() opens what it needs and spawns the transport's own thread; frames arrive on
// that thread, in order per stream. stop() is idempotent, interrupts blocking reads promptly (well
// under a second) and joins. A transport never decodes and never drops silently: an oversized line
// is delivered truncated with a counted error, a lost device is retried with backoff and logged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "firmware_adapters/decoder.hpp"

namespace aisle::adapters {

// Called on the transport's thread; must not block for long (the runner hands frames to ingest).
using FrameSink = std::function<void(Frame&&)>;

// What a transport has seen so far; read from any thread (values are snapshots).
struct TransportStats {
  std::uint64_t frames = 0;       // frames handed to the sink
  std::uint64_t oversize = 0;     // frames delivered truncated (Frame::truncated)
  std::uint64_t reconnects = 0;   // device reopened / broker reconnected after a loss
  std::uint64_t connections = 0;  // accepted peer connections (tcp), 0 elsewhere
  bool connected = false;         // listening / device open / file open / broker connected
  std::string last_error;         // the last I/O problem, for /v1/status ("" when none)
};

class Transport {
 public:
  virtual ~Transport() = default;
  [[nodiscard]] virtual Status start(FrameSink sink) = 0;
  virtual void stop() = 0;
  // "tcp:127.0.0.1:7001", "serial:/dev/ttyUSB0@9600,8N1"… for logs and /v1/status.
  virtual std::string describe() const = 0;
  // Thread-safe snapshot of the counters above.
  virtual TransportStats stats() const = 0;
};
using TransportPtr = std::unique_ptr<Transport>;

// Builds a transport from the `transport` object of an adapter's config ({"type": "tcp", ...}).
// Unknown keys and bad values are errors naming the key.
Result<TransportPtr> make_transport(const nlohmann::json& config, const Clock& clock);

}  // namespace aisle::adapters
