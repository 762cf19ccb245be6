// Forwarder: reads the outbox in order, forms batches, publishes them, and deletes them only
// when the collector acknowledges its commit (docs/protocol.md).
//
// One thread. Several batches in flight (window); a batch not acknowledged within ack_timeout,
// or in flight when the connection broke, is sent again with the same batch_seq (the collector
// recognises it). Reconnects use full-jitter exponential backoff.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/agent_config.hpp"
#include "agent/forwarder/uplink.hpp"
#include "agent/outbox/outbox.hpp"
#include "common/backoff.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/wire/batch.hpp"
#include "common/wire/topics.hpp"

namespace aisle::agent {

struct ForwarderStatus {
  bool connected = false;
  std::size_t in_flight = 0;
  std::uint64_t batches_acked = 0;
  std::uint64_t events_acked = 0;
  std::optional<UnixMillis> last_ack_at;
  std::string last_error;
};

class Forwarder {
 public:
  Forwarder(Outbox& outbox, Uplink& uplink, ForwarderOptions options, wire::AgentAddress address,
            ClockPtr clock, metrics::Registry& metrics);
  ~Forwarder();

  void start();
  // Stops forming batches, waits up to `grace` for the acks of batches in flight, disconnects and
  // joins. Unacknowledged batches stay in the outbox and are re-sent after the next start.
  void stop(std::chrono::milliseconds grace);
  // Wakes the thread (the outbox's append listener calls this).
  void notify();

  // One iteration without waiting; returns how long the loop may sleep. Public for
  // deterministic tests driving the forwarder with a ManualClock.
  std::chrono::milliseconds step();

  ForwarderStatus status() const;

 private:
  struct InFlight {
    wire::BatchHeader header;
    wire::CompressedBody body;
    std::uint32_t attempts = 0;
    bool sent_on_this_connection = false;
    std::chrono::steady_clock::time_point last_sent{};
    std::chrono::steady_clock::time_point first_sent{};
  };

  void run();
  bool ensure_connected(std::chrono::steady_clock::time_point now,
                        std::chrono::milliseconds& sleep);
  void handle_acks();
  bool load_unacked();
  bool send(InFlight& batch, std::chrono::steady_clock::time_point now);
  bool fill_window(std::chrono::steady_clock::time_point now, std::chrono::milliseconds& sleep);
  void mark_disconnected(const std::string& cause);
  Result<InFlight> prepare(StoredBatch&& stored);

  Outbox& outbox_;
  Uplink& uplink_;
  ForwarderOptions options_;
  wire::AgentAddress address_;
  ClockPtr clock_;
  std::string stream_id_;
  Backoff backoff_;

  mutable std::mutex mutex_;  // guards the fields below shared with other threads
  std::condition_variable wake_;
  std::deque<std::string> acks_;
  bool stop_requested_ = false;
  bool draining_ = false;
  bool notified_ = false;
  bool connection_lost_ = false;
  std::string lost_cause_;
  ForwarderStatus status_;

  // Forwarder-thread state.
  std::map<std::uint64_t, InFlight> in_flight_;  // by batch_seq
  bool loaded_unacked_ = false;
  bool connected_ = false;
  std::chrono::steady_clock::time_point next_connect_at_{};
  std::thread thread_;

  metrics::Counter& batches_sent_;
  metrics::Counter& batches_resent_;
  metrics::Counter& batches_acked_;
  metrics::Counter& batches_rejected_;
  metrics::Counter& events_acked_;
  metrics::Counter& publish_failures_;
  metrics::Counter& connects_;
  metrics::Counter& connect_failures_;
  metrics::Histogram& ack_latency_;
  metrics::Histogram& batch_events_;
};

}  // namespace aisle::agent
