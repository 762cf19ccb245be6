// ChangeFanout: the SegmentChangeSink the segment engine calls; hands each change to every
// notification channel (agent downlink, webhooks, the SSE stream) through one bounded queue per
// channel, each drained by the channel's own worker thread.
//
// The engine never waits for a channel: on_change() copies the change into each queue and
// returns. A full queue drops the change for that channel only; the drop is counted
// (aisle_collector_segment_notify_dropped_total{channel}) and logged (the first, then every
// 1000th), because a channel that cannot keep up must not slow down segment evaluation.
//
// Lifecycle: add_channel() before start(); stop() lets each worker deliver what is already queued
// (so a clean shutdown loses nothing that was accepted) and joins. Channels must outlive the
// fanout's stop().
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collector/segments/segment_change.hpp"
#include "common/metrics.hpp"

namespace aisle::collector::segments {

// One consumer behind the fanout.
class ChangeChannel {
 public:
  virtual ~ChangeChannel() = default;
  // The changes queued since the previous call, in the engine's order (at most max_batch).
  // Runs on this channel's worker thread only; may block (network, disk): only this channel's
  // queue backs up.
  virtual void deliver(std::vector<SegmentChange>& changes) = 0;
};

struct ChannelOptions {
  std::string name;  // label of the channel's metrics ("downlink", "webhooks", "stream")
  std::size_t queue_capacity = 10000;  // changes waiting; beyond, new ones are dropped
  std::size_t max_batch = 256;         // changes handed to one deliver() call
  // After the first change arrives, wait this long for more before delivering, so several
  // changes share a message (the downlink batches per agent). 0 delivers at once.
  std::chrono::milliseconds linger{0};
};

class ChangeFanout final : public SegmentChangeSink {
 public:
  explicit ChangeFanout(metrics::Registry& metrics);
  ~ChangeFanout() override;
  ChangeFanout(const ChangeFanout&) = delete;
  ChangeFanout& operator=(const ChangeFanout&) = delete;

  // Before start(). The channel is not owned.
  void add_channel(ChannelOptions options, ChangeChannel& channel);
  void start();
  // Delivers what is queued, then joins the workers. Idempotent.
  void stop();

  // Any thread (the engine's); never blocks on a channel.
  void on_change(const SegmentChange& change) override;

  // Changes dropped for a channel so far (tests, status).
  std::uint64_t dropped(const std::string& channel) const;

 private:
  struct Lane;
  void run(Lane& lane);

  metrics::Registry& metrics_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  bool started_ = false;
};

}  // namespace aisle::collector::segments
