// BatchPipeline: agent batches from the broker to committed rows and acks.
//
//   MQTT thread --submit()--> [queue] --> decode/validate threads --> [queue] --> commit thread
//                                                                                -> ack publish
// Two stages so validation of batch n+1 overlaps the commit (fsync) of batch n; JSON parsing is
// the costly part, so several threads decode. Batches may then commit out of order: dedup is by
// receipt and event_id, and the stream tracker orders batch numbers itself. Both queues are
// bounded: when the store falls behind, submit() blocks the MQTT thread (backpressure end to
// end; nothing is dropped). An ack is published only after the commit.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "collector/ingest/batch_processor.hpp"
#include "collector/ingest/bounded_queue.hpp"
#include "collector/ingest/commit_hooks.hpp"
#include "collector/ingest/stream_tracker.hpp"
#include "collector/store/event_store.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/mqtt/mqtt_client.hpp"

namespace aisle::collector {

// Publishes an ack to an agent's acks topic; non-blocking. The real one wraps MqttClient.
using AckPublisher = std::function<Status(const std::string& topic, const std::string& payload)>;

class BatchPipeline {
 public:
  BatchPipeline(const BatchProcessor& processor, EventStore& store, StreamTracker& tracker,
                AckPublisher publish_ack, ClockPtr clock, metrics::Registry& metrics,
                std::size_t queue_capacity, std::size_t workers = 1);
  ~BatchPipeline();

  void start();
  // Closes the input, lets queued batches finish (up to `grace`), joins.
  void stop(std::chrono::milliseconds grace);

  // From the MQTT thread. Blocks while the pipeline is full.
  void submit(mqtt::Message&& message);

  std::size_t queued() const { return incoming_.size() + to_commit_.size(); }

  // Privacy policy and profiles around each commit; set before start(). Null: none.
  void set_commit_hooks(CommitHooks* hooks) { hooks_ = hooks; }

 private:
  struct Incoming {
    mqtt::Message message;
    UnixMillis arrived_at = 0;
  };
  struct ToCommit {
    ProcessedBatch batch;
    UnixMillis arrived_at = 0;
    std::size_t payload_bytes = 0;
  };
  void process_loop();
  void commit_loop();
  void commit_one(ToCommit& item);

  const BatchProcessor& processor_;
  EventStore& store_;
  StreamTracker& tracker_;
  AckPublisher publish_ack_;
  ClockPtr clock_;
  metrics::Registry& metrics_;
  BoundedQueue<Incoming> incoming_;
  BoundedQueue<ToCommit> to_commit_;
  std::size_t workers_;
  std::vector<std::thread> process_threads_;
  std::thread commit_thread_;
  std::atomic<bool> processing_done_{false};
  CommitHooks* hooks_ = nullptr;

  metrics::Counter& events_stored_;
  metrics::Counter& events_duplicate_;
  metrics::Counter& batches_committed_;
  metrics::Counter& batches_duplicate_;
  metrics::Counter& batches_rejected_;
  metrics::Counter& commit_failures_;
  metrics::Counter& acks_failed_;
  metrics::Histogram& latency_occurred_;
  metrics::Histogram& latency_received_;
  metrics::Histogram& batch_seconds_;
};

}  // namespace aisle::collector
