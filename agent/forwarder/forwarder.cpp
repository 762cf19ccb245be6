#include "agent/forwarder/forwarder.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace aisle::agent {
namespace {

const log::Logger kLog("agent.forwarder");
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kIdleSleep{1000};

}  // namespace

Forwarder::Forwarder(Outbox& outbox, Uplink& uplink, ForwarderOptions options,
                     wire::AgentAddress address, ClockPtr clock, metrics::Registry& metrics)
    : outbox_(outbox),
      uplink_(uplink),
      options_(options),
      address_(std::move(address)),
      clock_(std::move(clock)),
      stream_id_(outbox.stream_id()),
      backoff_(options.backoff_base, options.backoff_max),
      batches_sent_(metrics.counter("aisle_agent_batches_sent_total",
                                    "Batches published for the first time")),
      batches_resent_(metrics.counter("aisle_agent_batches_retried_total",
                                      "Batches published again (ack timeout or reconnect)")),
      batches_acked_(metrics.counter("aisle_agent_batches_acked_total",
                                     "Batches the collector acknowledged as committed")),
      batches_rejected_(metrics.counter(
          "aisle_agent_batches_rejected_total",
          "Batches the collector could not process and quarantined whole")),
      events_acked_(metrics.counter("aisle_agent_events_forwarded_total",
                                    "Records committed at the collector and deleted here")),
      publish_failures_(metrics.counter("aisle_agent_publish_failures_total",
                                        "Publishes that failed (connection down)")),
      connects_(metrics.counter("aisle_agent_mqtt_connects_total", "Successful MQTT connects")),
      connect_failures_(metrics.counter("aisle_agent_mqtt_connect_failures_total",
                                        "Failed MQTT connect attempts")),
      ack_latency_(metrics.histogram("aisle_agent_batch_ack_seconds",
                                     "From first publish of a batch to the collector's ack",
                                     metrics::latency_buckets_seconds())),
      batch_events_(metrics.histogram("aisle_agent_batch_events", "Records per batch formed",
                                      metrics::count_buckets())) {
  metrics.gauge_callback("aisle_agent_batches_in_flight", "Batches awaiting the collector's ack",
                         {}, [this] { return static_cast<double>(status().in_flight); });
  metrics.gauge_callback("aisle_agent_mqtt_connected", "1 when connected to the broker", {},
                         [this] { return status().connected ? 1.0 : 0.0; });
  uplink_.on_ack([this](std::string payload) {
    {
      std::lock_guard lock(mutex_);
      acks_.push_back(std::move(payload));
    }
    wake_.notify_one();
  });
  uplink_.on_connection_lost([this](std::string cause) {
    {
      std::lock_guard lock(mutex_);
      connection_lost_ = true;
      lost_cause_ = std::move(cause);
    }
    wake_.notify_one();
  });
}

Forwarder::~Forwarder() { stop(milliseconds(0)); }

void Forwarder::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Forwarder::notify() {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void Forwarder::stop(milliseconds grace) {
  if (!thread_.joinable()) return;
  const auto deadline = steady_clock::now() + grace;
  {
    std::lock_guard lock(mutex_);
    draining_ = true;
  }
  wake_.notify_one();
  // Let in-flight batches be acknowledged, so a restart does not resend them needlessly.
  while (steady_clock::now() < deadline) {
    if (status().in_flight == 0) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_one();
  thread_.join();
  uplink_.disconnect();
}

ForwarderStatus Forwarder::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void Forwarder::run() {
  while (true) {
    const milliseconds sleep = step();
    std::unique_lock lock(mutex_);
    if (stop_requested_) break;
    wake_.wait_for(lock, sleep, [this] {
      return stop_requested_ || notified_ || connection_lost_ || !acks_.empty();
    });
    notified_ = false;
    if (stop_requested_) break;
  }
}

void Forwarder::mark_disconnected(const std::string& cause) {
  if (connected_) kLog.warn("connection to broker lost", {{"cause", cause}});
  connected_ = false;
  for (auto& [seq, batch] : in_flight_) batch.sent_on_this_connection = false;
  next_connect_at_ = steady_clock::time_point(clock_->now_steady()) + backoff_.next();
  std::lock_guard lock(mutex_);
  status_.connected = false;
  status_.last_error = cause;
}

bool Forwarder::ensure_connected(steady_clock::time_point now, milliseconds& sleep) {
  bool lost = false;
  std::string cause;
  {
    std::lock_guard lock(mutex_);
    if (connection_lost_) {
      connection_lost_ = false;
      lost = true;
      cause = lost_cause_;
    }
  }
  if (lost || (connected_ && !uplink_.connected())) {
    mark_disconnected(cause.empty() ? "connection lost" : cause);
  }
  if (connected_) return true;
  if (now < next_connect_at_) {
    sleep = std::min(sleep, std::chrono::duration_cast<milliseconds>(next_connect_at_ - now) +
                                milliseconds(1));
    return false;
  }
  if (auto status = uplink_.connect(); !status) {
    connect_failures_.inc();
    const milliseconds delay = backoff_.next();
    next_connect_at_ = now + delay;
    kLog.warn("cannot connect to broker; will retry",
              {{"error", status.error().message}, {"retry_in_ms", delay.count()}});
    std::lock_guard lock(mutex_);
    status_.last_error = status.error().message;
    sleep = std::min(sleep, delay + milliseconds(1));
    return false;
  }
  connects_.inc();
  backoff_.reset();
  connected_ = true;
  for (auto& [seq, batch] : in_flight_) batch.sent_on_this_connection = false;
  std::lock_guard lock(mutex_);
  status_.connected = true;
  status_.last_error.clear();
  return true;
}

void Forwarder::handle_acks() {
  std::deque<std::string> acks;
  {
    std::lock_guard lock(mutex_);
    acks.swap(acks_);
  }
  for (const auto& payload : acks) {
    auto ack = wire::decode_ack(payload);
    if (!ack) {
      kLog.warn("ignoring malformed ack", {{"error", ack.error().message}});
      continue;
    }
    if (ack->stream_id != stream_id_) {
      // An ack for an earlier life of this outbox (database recreated): nothing to delete.
      kLog.debug("ack for another stream", {{"stream_id", ack->stream_id}});
      continue;
    }
    if (auto status = outbox_.ack_batch(ack->batch_seq); !status) {
      // Keep the batch in flight: it will be resent and acked again.
      kLog.error("cannot delete acknowledged batch",
                 {{"batch_seq", ack->batch_seq}, {"error", status.error().message}});
      continue;
    }
    auto it = in_flight_.find(ack->batch_seq);
    if (it == in_flight_.end()) continue;  // a late duplicate ack
    const double seconds =
        std::chrono::duration<double>(clock_->now_steady() - it->second.first_sent).count();
    ack_latency_.observe(std::max(0.0, seconds));
    if (ack->status == "rejected") {
      batches_rejected_.inc();
      kLog.error("collector rejected a batch and quarantined it whole",
                 {{"batch_seq", ack->batch_seq}, {"reason", ack->reason}});
    }
    batches_acked_.inc();
    events_acked_.inc(it->second.header.count);
    {
      std::lock_guard lock(mutex_);
      ++status_.batches_acked;
      status_.events_acked += it->second.header.count;
      status_.last_ack_at = clock_->now_unix_ms();
    }
    in_flight_.erase(it);
  }
}

Result<Forwarder::InFlight> Forwarder::prepare(StoredBatch&& stored) {
  wire::EncodeOptions encode;
  encode.zstd_level = options_.zstd_level;
  auto body = wire::compress_body(stored.records, encode);
  if (!body) return body.error();
  InFlight batch;
  batch.header.tenant = address_.tenant;
  batch.header.store_id = address_.store_id;
  batch.header.agent_id = address_.agent_id;
  batch.header.stream_id = stream_id_;
  batch.header.batch_seq = stored.batch_seq;
  batch.header.first_seq = stored.first_seq;
  batch.header.last_seq = stored.last_seq;
  batch.header.dropped = stored.dropped;
  batch.header.created_at = stored.created_at;
  batch.header.window = options_.window;
  batch.header.count = body->count;
  batch.header.raw_bytes = body->raw_bytes;
  batch.body = std::move(*body);
  return batch;
}

bool Forwarder::load_unacked() {
  auto batches = outbox_.unacked_batches();
  if (!batches) {
    kLog.error("cannot read unacknowledged batches", {{"error", batches.error().message}});
    return false;
  }
  for (auto& stored : *batches) {
    const std::uint64_t seq = stored.batch_seq;
    auto batch = prepare(std::move(stored));
    if (!batch) {
      kLog.error("cannot encode batch", {{"batch_seq", seq}, {"error", batch.error().message}});
      return false;
    }
    in_flight_.emplace(seq, std::move(*batch));
  }
  if (!in_flight_.empty()) {
    kLog.info("resending batches left from a previous run", {{"batches", in_flight_.size()}});
  }
  return true;
}

bool Forwarder::send(InFlight& batch, steady_clock::time_point now) {
  batch.header.attempt = batch.attempts + 1;
  batch.header.sent_at = clock_->now_unix_ms();
  std::uint64_t in_batches = 0;
  for (const auto& [seq, flight] : in_flight_) in_batches += flight.header.count;
  batch.header.backlog = outbox_.pending().rows + in_batches;
  const std::string payload = wire::assemble_payload(batch.header, batch.body);
  if (auto status = uplink_.publish_batch(payload); !status) {
    publish_failures_.inc();
    mark_disconnected(status.error().message);
    return false;
  }
  if (batch.attempts == 0) {
    batches_sent_.inc();
    batch.first_sent = now;
  } else {
    batches_resent_.inc();
  }
  ++batch.attempts;
  batch.sent_on_this_connection = true;
  batch.last_sent = now;
  return true;
}

bool Forwarder::fill_window(steady_clock::time_point now, milliseconds& sleep) {
  while (in_flight_.size() < options_.window) {
    // The window slides over batch numbers, not just a count of unacked batches: batch n + window
    // is formed only once batch n was acknowledged. One batch stuck (its commit failed at the
    // collector) then holds the window instead of letting later batches overtake it, and the
    // collector's gap detection (docs/protocol.md) stays exact.
    if (!in_flight_.empty() &&
        outbox_.next_batch_seq() >= in_flight_.begin()->first + options_.window) {
      return true;
    }
    const PendingInfo pending = outbox_.pending();
    if (pending.rows == 0) return true;
    const bool full = pending.rows >= options_.batch_max_events ||
                      pending.bytes >= options_.batch_max_bytes;
    if (!full && pending.oldest_received_at) {
      const std::int64_t age = clock_->now_unix_ms() - *pending.oldest_received_at;
      // A wall clock that stepped back makes the age negative: send rather than wait.
      if (age >= 0 && age < options_.linger.count()) {
        sleep = std::min(sleep, milliseconds(options_.linger.count() - age + 1));
        return true;
      }
    }
    auto stored = outbox_.form_batch(BatchLimits{options_.batch_max_events,
                                                 options_.batch_max_bytes});
    if (!stored) {
      kLog.error("cannot form batch", {{"error", stored.error().message}});
      sleep = std::min(sleep, milliseconds(1000));
      return false;
    }
    if (!*stored) return true;
    batch_events_.observe(static_cast<double>((*stored)->records.size()));
    const std::uint64_t seq = (*stored)->batch_seq;
    auto batch = prepare(std::move(**stored));
    if (!batch) {
      kLog.error("cannot encode batch", {{"batch_seq", seq}, {"error", batch.error().message}});
      return false;
    }
    auto [it, inserted] = in_flight_.emplace(seq, std::move(*batch));
    if (!send(it->second, now)) return false;
  }
  return true;
}

milliseconds Forwarder::step() {
  milliseconds sleep = kIdleSleep;
  const auto now = steady_clock::time_point(clock_->now_steady());
  bool draining;
  {
    std::lock_guard lock(mutex_);
    draining = draining_;
  }
  if (!loaded_unacked_) {
    loaded_unacked_ = load_unacked();
    if (!loaded_unacked_) return milliseconds(1000);
  }
  handle_acks();
  if (!ensure_connected(now, sleep)) return sleep;

  // Resend what this connection has not carried yet, and what waited too long for its ack.
  for (auto& [seq, batch] : in_flight_) {
    const bool timed_out =
        batch.sent_on_this_connection && now - batch.last_sent >= options_.ack_timeout;
    if (!batch.sent_on_this_connection || timed_out) {
      if (timed_out) {
        kLog.warn("no ack for batch; sending again",
                  {{"batch_seq", seq}, {"attempt", batch.attempts + 1}});
      }
      if (!send(batch, now)) return std::min(sleep, milliseconds(1));
    }
    const auto due = batch.last_sent + options_.ack_timeout;
    sleep = std::min(sleep, std::chrono::duration_cast<milliseconds>(due - now) + milliseconds(1));
  }
  if (!draining) fill_window(now, sleep);
  {
    std::lock_guard lock(mutex_);
    status_.in_flight = in_flight_.size();
  }
  return std::max(sleep, milliseconds(0));
}

}  // namespace aisle::agent
