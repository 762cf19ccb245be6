#include "firmware_adapters/adapter_runner.hpp"

#include <algorithm>
#include <utility>

#include "common/log.hpp"

namespace aisle::adapters {
namespace {

const log::Logger kLog("adapters.runner");

// Real time the worker sleeps at most between looks at the (injected) clock, so ticks and lingers
// come due also under a ManualClock.
constexpr std::chrono::milliseconds kMaxWait{100};

}  // namespace

AdapterRunner::AdapterRunner(std::string name, TransportPtr transport, DecoderPtr decoder,
                             AdapterSink& sink, const Clock& clock, metrics::Registry& metrics,
                             RunnerOptions options)
    : name_(std::move(name)),
      transport_(std::move(transport)),
      decoder_(std::move(decoder)),
      sink_(sink),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      frames_(metrics.counter("aisle_agent_adapter_frames_total",
                              "Frames a firmware adapter's transport delivered",
                              {{"adapter", name_}})),
      events_(metrics.counter("aisle_agent_adapter_events_total",
                              "Events a firmware adapter's decoder emitted", {{"adapter", name_}})),
      reconnects_(metrics.counter("aisle_agent_adapter_transport_reconnects_total",
                                  "Device reopened or broker reconnected after a loss",
                                  {{"adapter", name_}})),
      connected_(metrics.gauge("aisle_agent_adapter_connected",
                               "1 while the adapter's transport is listening / its device open",
                               {{"adapter", name_}})),
      queue_frames_(metrics.gauge("aisle_agent_adapter_queue_frames",
                                  "Frames taken from the transport and not yet decoded",
                                  {{"adapter", name_}})) {}

AdapterRunner::~AdapterRunner() {
  stop();
}

metrics::Counter& AdapterRunner::decode_error_counter(const std::string& reason) {
  auto it = decode_errors_by_reason_.find(reason);
  if (it != decode_errors_by_reason_.end()) return *it->second;
  auto& counter = metrics_.counter("aisle_agent_adapter_decode_errors_total",
                                   "Frames (or parts of frames) an adapter could not decode",
                                   {{"adapter", name_}, {"reason", reason}});
  decode_errors_by_reason_.emplace(reason, &counter);
  return counter;
}

metrics::Counter& AdapterRunner::lost_counter(const std::string& reason) {
  auto it = lost_by_reason_.find(reason);
  if (it != lost_by_reason_.end()) return *it->second;
  auto& counter = metrics_.counter("aisle_agent_adapter_events_lost_total",
                                   "Decoded events ingest refused (outbox full) or could not store",
                                   {{"adapter", name_}, {"reason", reason}});
  lost_by_reason_.emplace(reason, &counter);
  return counter;
}

Status AdapterRunner::start() {
  if (state_ != 0) return make_error(ErrorCode::kFailedPrecondition, "already started");
  next_tick_ = clock_.now_steady() + options_.tick_interval;
  worker_ = std::thread([this] { run(); });
  state_ = 1;
  if (auto status = transport_->start([this](Frame&& frame) { push(std::move(frame)); }); !status) {
    stop();
    return make_error(status.error().code, transport_->describe() + ": " + status.error().message);
  }
  kLog.info("adapter started", {{"adapter", name_}, {"transport", transport_->describe()}});
  return ok_status();
}

void AdapterRunner::stop() {
  if (state_ != 1) return;
  transport_->stop();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  frames_ready_.notify_all();
  if (worker_.joinable()) worker_.join();
  state_ = 2;
  connected_.set(0);
  kLog.info("adapter stopped", {{"adapter", name_},
                                {"frames", static_cast<std::uint64_t>(frames_.value())},
                                {"events", static_cast<std::uint64_t>(events_.value())}});
}

void AdapterRunner::push(Frame&& frame) {
  std::unique_lock lock(mutex_);
  space_ready_.wait(lock,
                    [this] { return queue_.size() < options_.queue_max_frames || worker_done_; });
  queue_.push_back(std::move(frame));
  queue_frames_.set(static_cast<double>(queue_.size()));
  const bool first = queue_.size() == 1;
  lock.unlock();
  if (first) frames_ready_.notify_one();
}

void AdapterRunner::run() {
  std::deque<Frame> taken;
  while (true) {
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      auto wait = kMaxWait;
      if (!batch_.empty()) {
        const auto due = batch_started_ + options_.batch_linger - clock_.now_steady();
        wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(due),
                          std::chrono::milliseconds(0), kMaxWait);
      }
      frames_ready_.wait_for(lock, wait, [this] { return !queue_.empty() || stopping_; });
      taken.swap(queue_);
      stopping = stopping_;
      queue_frames_.set(0);
    }
    space_ready_.notify_all();
    for (const Frame& frame : taken) process(frame);
    taken.clear();

    const auto now = clock_.now_steady();
    if (now >= next_tick_) {
      next_tick_ = now + options_.tick_interval;
      out_.clear();
      decoder_->tick(clock_.now_unix_ms(), out_);
      handle(nullptr, out_);
      sync_transport_stats();
    }
    if (!batch_.empty() && (stopping || now - batch_started_ >= options_.batch_linger)) flush();
    if (stopping) {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) {
        worker_done_ = true;
        break;
      }
    }
  }
  space_ready_.notify_all();
  sync_transport_stats();
}

void AdapterRunner::process(const Frame& frame) {
  frames_.inc();
  out_.clear();
  if (frame.truncated) {
    out_.errors.push_back({"oversize", "frame cut at the transport's size limit (" +
                                           std::to_string(frame.bytes.size()) + " bytes kept)"});
  } else {
    decoder_->decode(frame, out_);
  }
  handle(&frame, out_);
}

void AdapterRunner::handle(const Frame* frame, DecodeOutput& out) {
  for (const DecodeError& error : out.errors) decode_error_counter(error.reason).inc();
  decode_errors_total_ += out.errors.size();
  if (!out.errors.empty()) {
    // A tick's errors have no frame; they are counted and logged only.
    Frame none;
    none.received_at = clock_.now_unix_ms();
    none.origin = "tick";
    const Frame& kept = frame ? *frame : none;
    // At warn at most every 10 s (a misconfigured device sends nothing but errors); the rest at
    // debug. Every error is counted and every frame kept.
    const auto now = clock_.now_steady();
    const bool loud = now >= next_error_log_;
    if (loud) next_error_log_ = now + std::chrono::seconds(10);
    if (loud || kLog.enabled(log::Level::kDebug)) {
      const std::initializer_list<log::Field> fields = {
          {"adapter", name_},
          {"origin", kept.origin},
          {"line", kept.line},
          {"reason", out.errors[0].reason},
          {"error", out.errors[0].message},
          {"errors_total", decode_errors_total_.load()}};
      if (loud) {
        kLog.warn("undecodable frame", fields);
      } else {
        kLog.debug("undecodable frame", fields);
      }
    }
    if (frame) {
      if (auto status = sink_.keep_undecodable(name_, *frame, out.errors); !status) {
        kLog.warn("cannot keep an undecodable frame",
                  {{"adapter", name_}, {"error", status.error().message}});
      }
    }
  }
  if (out.events.empty()) return;
  events_.inc(static_cast<double>(out.events.size()));
  if (batch_.empty()) batch_started_ = clock_.now_steady();
  for (Event& event : out.events) {
    batch_.push_back(std::move(event));
    if (batch_.size() >= options_.batch_max_events) flush();
  }
}

void AdapterRunner::flush() {
  if (batch_.empty()) return;
  const std::size_t count = batch_.size();
  // No retry of a failed commit here: it failed for lack of disk or an I/O error, which the next
  // group meets as well; the loss is counted and logged instead of stalling the device.
  const DeliveryReport report = sink_.deliver(name_, std::move(batch_));
  batch_.clear();
  std::uint64_t lost = 0;
  const char* reason = nullptr;
  if (report.storage_error) {
    lost = count;
    reason = "storage";
  } else if (report.refused_full > 0) {
    lost = report.refused_full;
    reason = "outbox_full";
  }
  if (lost == 0) return;
  lost_counter(reason).inc(static_cast<double>(lost));
  events_lost_total_ += lost;
  const auto now = clock_.now_steady();
  if (now >= next_loss_log_) {
    next_loss_log_ = now + std::chrono::seconds(10);
    kLog.warn("adapter events lost", {{"adapter", name_},
                                      {"reason", reason},
                                      {"events", lost},
                                      {"lost_total", events_lost_total_.load()}});
  }
}

void AdapterRunner::sync_transport_stats() {
  const TransportStats stats = transport_->stats();
  if (stats.reconnects > reconnects_seen_) {
    reconnects_.inc(static_cast<double>(stats.reconnects - reconnects_seen_));
    reconnects_seen_ = stats.reconnects;
  }
  connected_.set(stats.connected ? 1 : 0);
}

AdapterStatus AdapterRunner::status() const {
  const TransportStats stats = transport_->stats();
  AdapterStatus s;
  s.name = name_;
  s.transport = transport_->describe();
  const int state = state_.load();
  s.state = state == 0 ? "idle" : state == 2 ? "stopped" : stats.connected ? "running" : "waiting";
  s.frames = static_cast<std::uint64_t>(frames_.value());
  s.decode_errors = decode_errors_total_.load();
  s.events = static_cast<std::uint64_t>(events_.value());
  s.events_lost = events_lost_total_.load();
  s.reconnects = stats.reconnects;
  s.last_error = stats.last_error;
  return s;
}

}  // namespace aisle::adapters
