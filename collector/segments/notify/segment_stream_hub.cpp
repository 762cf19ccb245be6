#include "collector/segments/notify/segment_stream_hub.hpp"

#include <algorithm>

#include "collector/segments/notify/change_message.hpp"
#include "common/log.hpp"

namespace aisle::collector::segments {
namespace {

const log::Logger kLog("collector.segment_stream");

}  // namespace

std::string format_sse(const StreamEvent& event) {
  std::string out;
  out.reserve(event.data.size() + 64);
  out += "event: ";
  out += event.type;
  out += "\nid: ";
  out += std::to_string(event.seq);
  out += "\ndata: ";
  out += event.data;  // JSON from nlohmann's dump: no raw newlines
  out += "\n\n";
  return out;
}

std::vector<StreamEventPtr> StreamSubscription::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return dropped_ || !queue_.empty(); });
  std::vector<StreamEventPtr> out;
  if (dropped_) return out;
  out.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

bool StreamSubscription::dropped() const {
  const std::lock_guard lock(mutex_);
  return dropped_;
}

bool StreamSubscription::push(const StreamEventPtr& event) {
  {
    const std::lock_guard lock(mutex_);
    if (dropped_) return false;
    if (queue_.size() >= capacity_) {
      dropped_ = true;
      queue_.clear();
    } else {
      queue_.push_back(event);
    }
  }
  ready_.notify_one();
  const std::lock_guard lock(mutex_);
  return !dropped_;
}

SegmentStreamHub::SegmentStreamHub(StreamOptions options, metrics::Registry& metrics,
                                   ClockPtr clock)
    : options_(std::move(options)),
      last_seq_(static_cast<std::uint64_t>(std::max<UnixMillis>(0, clock->now_unix_ms())) * 1000),
      events_(metrics.counter("aisle_collector_segment_stream_events_total",
                              "Segment changes published on the SSE stream")),
      dropped_clients_(metrics.counter(
          "aisle_collector_segment_stream_clients_dropped_total",
          "SSE clients disconnected because they did not keep up (queue full)")),
      refused_clients_(metrics.counter("aisle_collector_segment_stream_clients_refused_total",
                                       "SSE clients refused because max_clients were connected")),
      resets_(metrics.counter("aisle_collector_segment_stream_resets_total",
                              "SSE resumes whose Last-Event-ID was older than the ring")) {
  if (options_.ring_capacity == 0) options_.ring_capacity = 1;
  if (options_.client_queue == 0) options_.client_queue = 1;
  metrics.gauge_callback("aisle_collector_segment_stream_clients", "Connected SSE clients", {},
                         [this] { return static_cast<double>(clients()); });
}

void SegmentStreamHub::prune_locked() const {
  subscriptions_.erase(
      std::remove_if(subscriptions_.begin(), subscriptions_.end(),
                     [](const std::weak_ptr<StreamSubscription>& w) { return w.expired(); }),
      subscriptions_.end());
}

void SegmentStreamHub::deliver(std::vector<SegmentChange>& changes) {
  std::vector<StreamEventPtr> events;
  events.reserve(changes.size());
  std::vector<std::shared_ptr<StreamSubscription>> live;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& change : changes) {
      auto event = std::make_shared<StreamEvent>();
      event->seq = ++last_seq_;
      event->segment_id = change.segment_id;
      event->type = change.kind == SegmentChangeKind::kEntered ? "segment_entered"
                                                                : "segment_exited";
      event->data = change_json(change);
      ring_.push_back(event);
      if (ring_.size() > options_.ring_capacity) ring_.pop_front();
      events.push_back(std::move(event));
    }
    prune_locked();
    // Pushed under the hub lock, so a subscribe() in between sees either the ring with these
    // events or the live copies, never neither.
    for (auto& weak : subscriptions_) {
      auto sub = weak.lock();
      if (!sub) continue;
      bool ok = true;
      for (const auto& event : events) {
        if (sub->wants(event->segment_id) && !(ok = sub->push(event))) break;
      }
      if (!ok) {
        dropped_clients_.inc();
        kLog.warn("SSE client too slow; disconnected (it may resume with Last-Event-ID)",
                  {{"queue", options_.client_queue}});
        weak.reset();
      }
    }
    prune_locked();
  }
  events_.inc(static_cast<double>(events.size()));
}

Result<SegmentStreamHub::Subscribed> SegmentStreamHub::subscribe(
    std::set<std::string> segments, std::optional<std::uint64_t> last_event_id) {
  const std::lock_guard lock(mutex_);
  prune_locked();
  if (subscriptions_.size() >= options_.max_clients) {
    refused_clients_.inc();
    return make_error(ErrorCode::kResourceExhausted,
                      "too many SSE clients (segments.stream.max_clients = " +
                          std::to_string(options_.max_clients) + ")");
  }
  Subscribed out;
  out.subscription =
      std::make_shared<StreamSubscription>(std::move(segments), options_.client_queue);
  out.resume_id = last_seq_;
  if (last_event_id) {
    const std::uint64_t oldest = ring_.empty() ? last_seq_ + 1 : ring_.front()->seq;
    if (*last_event_id + 1 < oldest || *last_event_id > last_seq_) {
      out.reset = true;
      resets_.inc();
    } else {
      for (const auto& event : ring_) {
        if (event->seq > *last_event_id && out.subscription->wants(event->segment_id)) {
          out.subscription->queue_.push_back(event);  // not shared yet: no lock needed
        }
      }
    }
  }
  subscriptions_.push_back(out.subscription);
  return out;
}

std::uint64_t SegmentStreamHub::last_seq() const {
  const std::lock_guard lock(mutex_);
  return last_seq_;
}

std::size_t SegmentStreamHub::clients() const {
  const std::lock_guard lock(mutex_);
  prune_locked();
  return subscriptions_.size();
}

}  // namespace aisle::collector::segments
