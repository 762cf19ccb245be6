// Producers for compare_bench: the store's devices sending events to their gateway, either to
// Aisle's agent (HTTP POST /v1/events, accepted = 202) or to a local Mosquitto (Paho, QoS 1,
// accepted = PUBACK from the local broker, which is what a do-it-yourself integration treats as
// "taken").
//
// drive() runs `threads` senders over one StoreTraffic, chunk by chunk, paced to `rate` events/s
// (0: as fast as the gateway takes them). Each event is sent once: a chunk the gateway refuses or
// does not answer (it was killed) is not retried, and its events simply do not count as accepted.
// Losses are therefore only ever counted among events the gateway acknowledged.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/compare/store_traffic.hpp"

namespace aisle::bench::compare {

// Sends one chunk; owned and called by one producer thread.
class ChunkSender {
 public:
  virtual ~ChunkSender() = default;
  // Sends traffic.texts[first, first + count) and sets accepted[i] = 1 for each event the gateway
  // acknowledged. Blocks until every event is acknowledged or given up on.
  virtual void send(const StoreTraffic& traffic, std::size_t first, std::size_t count,
                    std::vector<std::uint8_t>& accepted) = 0;
};
using SenderFactory = std::function<std::unique_ptr<ChunkSender>(int thread)>;

struct DriveOptions {
  int threads = 4;
  std::size_t chunk = 100;  // events per POST / per window of QoS 1 publishes
  double rate = 0;          // events/s over all threads; 0 = unpaced
};

struct DriveResult {
  std::vector<std::uint8_t> accepted;  // per event: 1 = acknowledged by the gateway
  std::size_t accepted_count = 0;
  double seconds = 0;  // first send to last answer
};

// Runs the producers to the end of the traffic. `sent` counts events handed to a sender so far
// (the caller watches it to inject faults mid-stream).
DriveResult drive(const StoreTraffic& traffic, const SenderFactory& factory,
                  const DriveOptions& options, std::atomic<std::size_t>& sent);

// Aisle: NDJSON POSTs of one chunk to the agent at http://host:port/v1/events.
SenderFactory http_senders(const std::string& host, int port);

// DIY: QoS 1 publishes of one event per message to `topic` on the local broker at `uri`
// (tcp://127.0.0.1:<port>), one Paho client per thread, clean session, automatic reconnect.
// A publish that is not acknowledged within `ack_timeout` is given up on.
SenderFactory mqtt_senders(const std::string& uri, const std::string& topic,
                           std::chrono::milliseconds ack_timeout);

}  // namespace aisle::bench::compare
