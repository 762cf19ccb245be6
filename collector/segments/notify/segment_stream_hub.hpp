// SegmentStreamHub: the source of the Server-Sent Events stream GET /v1/segments/stream
// (collector/api/segment_stream_api.hpp; docs/segment-triggers.md, "Server-Sent Events").
//
// As a ChangeChannel (the fanout's stream worker) it numbers each change (the SSE id), keeps the
// last ring_capacity of them for Last-Event-ID resume, and copies each into the bounded queue of
// every subscription whose segment filter matches. A subscription whose queue is full (a client
// that does not read fast enough) is dropped: its stream ends, it is counted, and the client
// reconnects with Last-Event-ID to resume from the ring.
//
// Ids are numbers that grow across restarts (the first id of a run is its start time in ms
// times 1000), so an id from before a restart is recognised as too old and answered with a reset.
//
// Thread-safe: deliver() on the fanout worker, subscribe() and the subscriptions' waits on HTTP
// worker threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collector/segments/notify/change_fanout.hpp"
#include "collector/segments/notify/notify_options.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"

namespace aisle::collector::segments {

struct StreamEvent {
  std::uint64_t seq = 0;
  std::string segment_id;
  std::string type;  // "segment_entered" / "segment_exited"
  std::string data;  // the change's JSON (one line)
};
using StreamEventPtr = std::shared_ptr<const StreamEvent>;

// "event: <type>\nid: <seq>\ndata: <json>\n\n"
std::string format_sse(const StreamEvent& event);

class StreamSubscription {
 public:
  StreamSubscription(std::set<std::string> segments, std::size_t capacity)
      : segments_(std::move(segments)), capacity_(capacity) {}

  // The events queued so far, waiting up to `timeout` for the first. Empty on timeout or drop.
  std::vector<StreamEventPtr> wait(std::chrono::milliseconds timeout);
  // True once the hub dropped this subscription (its queue overflowed).
  bool dropped() const;
  bool wants(const std::string& segment_id) const {
    return segments_.empty() || segments_.count(segment_id) > 0;
  }

 private:
  friend class SegmentStreamHub;
  // False (and the subscription dropped) when the queue is full.
  bool push(const StreamEventPtr& event);

  const std::set<std::string> segments_;  // empty = all
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<StreamEventPtr> queue_;
  bool dropped_ = false;
};

class SegmentStreamHub final : public ChangeChannel {
 public:
  SegmentStreamHub(StreamOptions options, metrics::Registry& metrics,
                   ClockPtr clock = SystemClock::instance());

  void deliver(std::vector<SegmentChange>& changes) override;

  struct Subscribed {
    std::shared_ptr<StreamSubscription> subscription;  // holds the client's place
    // The client's Last-Event-ID is older than the ring (or from another run): it may have
    // missed changes, and should reload state; `resume_id` is where the stream continues.
    bool reset = false;
    std::uint64_t resume_id = 0;
  };
  // kResourceExhausted when max_clients subscriptions are alive. With last_event_id, the
  // subscription starts with the ring's events after it (those of its segments).
  Result<Subscribed> subscribe(std::set<std::string> segments,
                               std::optional<std::uint64_t> last_event_id);

  const StreamOptions& options() const { return options_; }
  std::uint64_t last_seq() const;
  std::size_t clients() const;

 private:
  void prune_locked() const;

  StreamOptions options_;
  mutable std::mutex mutex_;
  std::uint64_t last_seq_;
  std::deque<StreamEventPtr> ring_;
  mutable std::vector<std::weak_ptr<StreamSubscription>> subscriptions_;
  metrics::Counter& events_;
  metrics::Counter& dropped_clients_;
  metrics::Counter& refused_clients_;
  metrics::Counter& resets_;
};

}  // namespace aisle::collector::segments
