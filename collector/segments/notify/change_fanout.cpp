#include "collector/segments/notify/change_fanout.hpp"

#include "common/log.hpp"

namespace aisle::collector::segments {
namespace {

const log::Logger kLog("collector.segment_notify");

}  // namespace

struct ChangeFanout::Lane {
  ChannelOptions options;
  ChangeChannel& channel;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<SegmentChange> queue;
  bool stopping = false;
  std::thread worker;
  std::atomic<std::uint64_t> dropped{0};
  metrics::Counter& queued_total;
  metrics::Counter& dropped_total;
  metrics::Gauge& depth;

  Lane(ChannelOptions o, ChangeChannel& c, metrics::Registry& m)
      : options(std::move(o)),
        channel(c),
        queued_total(m.counter("aisle_collector_segment_notify_queued_total",
                               "Segment changes queued for a notification channel",
                               {{"channel", options.name}})),
        dropped_total(m.counter(
            "aisle_collector_segment_notify_dropped_total",
            "Segment changes dropped because a channel's queue was full",
            {{"channel", options.name}})),
        depth(m.gauge("aisle_collector_segment_notify_queue_depth",
                      "Segment changes waiting in a channel's queue",
                      {{"channel", options.name}})) {}
};

ChangeFanout::ChangeFanout(metrics::Registry& metrics) : metrics_(metrics) {}

ChangeFanout::~ChangeFanout() { stop(); }

void ChangeFanout::add_channel(ChannelOptions options, ChangeChannel& channel) {
  if (options.queue_capacity == 0) options.queue_capacity = 1;
  if (options.max_batch == 0) options.max_batch = 1;
  lanes_.push_back(std::make_unique<Lane>(std::move(options), channel, metrics_));
}

void ChangeFanout::start() {
  if (started_) return;
  started_ = true;
  for (auto& lane : lanes_) {
    lane->worker = std::thread([this, l = lane.get()] { run(*l); });
  }
}

void ChangeFanout::stop() {
  for (auto& lane : lanes_) {
    {
      const std::lock_guard lock(lane->mutex);
      lane->stopping = true;
    }
    lane->wake.notify_all();
  }
  for (auto& lane : lanes_) {
    if (lane->worker.joinable()) lane->worker.join();
  }
}

void ChangeFanout::on_change(const SegmentChange& change) {
  for (auto& lane : lanes_) {
    bool dropped = false;
    {
      const std::lock_guard lock(lane->mutex);
      if (lane->queue.size() >= lane->options.queue_capacity) {
        dropped = true;
      } else {
        lane->queue.push_back(change);
      }
    }
    if (dropped) {
      const auto n = ++lane->dropped;
      lane->dropped_total.inc();
      if (n % 1000 == 1) {
        kLog.warn("notification queue full; segment change dropped for this channel",
                  {{"channel", lane->options.name}, {"change_id", change.change_id},
                   {"dropped_so_far", n}, {"capacity", lane->options.queue_capacity}});
      }
      continue;
    }
    lane->queued_total.inc();
    lane->depth.inc();
    lane->wake.notify_one();
  }
}

std::uint64_t ChangeFanout::dropped(const std::string& channel) const {
  std::uint64_t total = 0;
  for (const auto& lane : lanes_) {
    if (lane->options.name == channel) total += lane->dropped.load();
  }
  return total;
}

void ChangeFanout::run(Lane& lane) {
  std::vector<SegmentChange> batch;
  while (true) {
    {
      std::unique_lock lock(lane.mutex);
      lane.wake.wait(lock, [&] { return lane.stopping || !lane.queue.empty(); });
      if (lane.queue.empty()) return;  // stopping and drained
      if (lane.options.linger.count() > 0 && !lane.stopping &&
          lane.queue.size() < lane.options.max_batch) {
        // Let a burst gather: the changes of one evaluation usually arrive together.
        lane.wake.wait_for(lock, lane.options.linger, [&] {
          return lane.stopping || lane.queue.size() >= lane.options.max_batch;
        });
      }
      const std::size_t n = std::min(lane.queue.size(), lane.options.max_batch);
      batch.clear();
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(lane.queue.front()));
        lane.queue.pop_front();
      }
    }
    lane.depth.dec(static_cast<double>(batch.size()));
    lane.channel.deliver(batch);
  }
}

}  // namespace aisle::collector::segments
