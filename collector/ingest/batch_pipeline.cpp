#include "collector/ingest/batch_pipeline.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "common/wire/topics.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector.ingest");
constexpr std::size_t kCommitQueueCapacity = 4;
constexpr int kCommitAttempts = 5;

}  // namespace

BatchPipeline::BatchPipeline(const BatchProcessor& processor, EventStore& store,
                             StreamTracker& tracker, AckPublisher publish_ack, ClockPtr clock,
                             metrics::Registry& metrics, std::size_t queue_capacity,
                             std::size_t workers)
    : processor_(processor),
      store_(store),
      tracker_(tracker),
      publish_ack_(std::move(publish_ack)),
      clock_(std::move(clock)),
      metrics_(metrics),
      incoming_(queue_capacity),
      to_commit_(kCommitQueueCapacity),
      workers_(std::max<std::size_t>(1, workers)),
      events_stored_(metrics.counter("aisle_collector_events_stored_total",
                                     "Events committed to the store")),
      events_duplicate_(metrics.counter("aisle_collector_duplicates_total",
                                        "Events already stored (same event_id)")),
      batches_committed_(metrics.counter("aisle_collector_batches_total",
                                         "Agent batches by outcome", {{"outcome", "committed"}})),
      batches_duplicate_(metrics.counter("aisle_collector_batches_total",
                                         "Agent batches by outcome", {{"outcome", "duplicate"}})),
      batches_rejected_(metrics.counter("aisle_collector_batches_total",
                                        "Agent batches by outcome", {{"outcome", "rejected"}})),
      commit_failures_(metrics.counter("aisle_collector_commit_failures_total",
                                       "Batches whose commit failed (not acked; agents resend)")),
      acks_failed_(metrics.counter("aisle_collector_acks_failed_total",
                                   "Acks that could not be published (agents resend)")),
      latency_occurred_(metrics.histogram(
          "aisle_collector_ingest_latency_seconds",
          "From occurred_at (producer clock) to committed at the collector",
          metrics::latency_buckets_seconds(), {{"from", "occurred"}})),
      latency_received_(metrics.histogram(
          "aisle_collector_ingest_latency_seconds",
          "From occurred_at (producer clock) to committed at the collector",
          metrics::latency_buckets_seconds(), {{"from", "received"}})),
      batch_seconds_(metrics.histogram("aisle_collector_batch_processing_seconds",
                                       "From arrival of a batch to its commit",
                                       metrics::latency_buckets_seconds())) {
  metrics.gauge_callback("aisle_collector_ingest_queue_batches",
                         "Batches waiting in the ingest pipeline", {},
                         [this] { return static_cast<double>(queued()); });
}

BatchPipeline::~BatchPipeline() { stop(std::chrono::milliseconds(0)); }

void BatchPipeline::start() {
  for (std::size_t i = 0; i < workers_; ++i) {
    process_threads_.emplace_back([this] { process_loop(); });
  }
  commit_thread_ = std::thread([this] { commit_loop(); });
}

void BatchPipeline::stop(std::chrono::milliseconds grace) {
  if (process_threads_.empty()) return;
  incoming_.close();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (queued() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& t : process_threads_) t.join();
  process_threads_.clear();
  to_commit_.close();
  commit_thread_.join();
}

void BatchPipeline::submit(mqtt::Message&& message) {
  Incoming item{std::move(message), clock_->now_unix_ms()};
  if (!incoming_.push(std::move(item))) {
    kLog.warn("batch arrived while stopping; the agent will resend it");
  }
}

void BatchPipeline::process_loop() {
  while (true) {
    auto item = incoming_.pop(std::chrono::milliseconds(200));
    if (!item) {
      if (incoming_.closed()) break;
      continue;
    }
    ToCommit out;
    out.arrived_at = item->arrived_at;
    out.payload_bytes = item->message.payload.size();
    out.batch = processor_.process(item->message.topic, item->message.payload, item->arrived_at);
    to_commit_.push(std::move(out));
  }
}

void BatchPipeline::commit_loop() {
  while (true) {
    auto item = to_commit_.pop(std::chrono::milliseconds(200));
    if (!item) {
      if (to_commit_.closed()) break;
      continue;
    }
    commit_one(*item);
  }
}

void BatchPipeline::commit_one(ToCommit& item) {
  ProcessedBatch& batch = item.batch;
  if (hooks_ && !batch.rejected_whole) hooks_->before_commit(batch.request, batch.events);
  const std::size_t event_count = batch.request.events.size();
  UnixMillis oldest_received = 0;
  for (const auto& e : batch.request.events) {
    if (oldest_received == 0 || e.received_at < oldest_received) oldest_received = e.received_at;
  }
  std::vector<UnixMillis> received_at;
  received_at.reserve(event_count);
  for (const auto& e : batch.request.events) received_at.push_back(e.received_at);
  const std::size_t quarantined = batch.request.quarantine.size();
  std::vector<std::string> reasons;
  for (const auto& q : batch.request.quarantine) reasons.push_back(q.reason);

  // A commit that fails for a transient reason (busy, I/O) is retried briefly; if it still
  // fails the batch is not acked and the agent resends it after its ack timeout.
  Result<CommitResult> result = make_error(ErrorCode::kInternal, "not attempted");
  for (int attempt = 1; attempt <= kCommitAttempts; ++attempt) {
    result = store_.commit(batch.request);
    if (result || result.error().code == ErrorCode::kInvalidArgument) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
  }
  if (!result) {
    commit_failures_.inc();
    kLog.error("commit failed; batch not acknowledged",
               {{"error", result.error().message},
                {"store_id", batch.reply_to ? batch.reply_to->store_id : ""},
                {"batch_seq", batch.header ? batch.header->batch_seq : 0}});
    return;
  }
  const UnixMillis committed_at = clock_->now_unix_ms();
  const CommitResult& committed = *result;
  if (committed.batch_already_committed) {
    batches_duplicate_.inc();
  } else {
    events_stored_.inc(committed.stored);
    events_duplicate_.inc(committed.duplicates);
    for (const auto& reason : reasons) {
      metrics_
          .counter("aisle_collector_quarantined_total", "Input quarantined, by reason",
                   {{"reason", reason}})
          .inc();
    }
    for (std::size_t i = 0; i < event_count; ++i) {
      if (!committed.duplicate_flags.empty() && committed.duplicate_flags[i]) continue;
      latency_occurred_.observe(
          std::max<double>(0, (committed_at - batch.events[i].occurred_at) / 1e3));
      latency_received_.observe(std::max<double>(0, (committed_at - received_at[i]) / 1e3));
    }
    if (hooks_ && !batch.rejected_whole) hooks_->after_commit(batch.request, batch.events, committed);
    if (batch.rejected_whole) {
      batches_rejected_.inc();
      kLog.warn("batch quarantined whole", {{"reason", batch.reject_reason},
                                             {"store_id", batch.reply_to ? batch.reply_to->store_id
                                                                         : ""}});
    } else {
      batches_committed_.inc();
    }
  }
  batch_seconds_.observe(std::max<double>(0, (committed_at - item.arrived_at) / 1e3));
  if (!batch.header || !batch.reply_to) return;  // nothing to acknowledge to
  if (!batch.rejected_whole) {
    tracker_.observe(*batch.header, item.arrived_at, committed_at, oldest_received,
                     static_cast<std::uint32_t>(event_count));
  }
  wire::Ack ack;
  ack.stream_id = batch.header->stream_id;
  ack.batch_seq = batch.header->batch_seq;
  ack.status = batch.rejected_whole ? "rejected" : "committed";
  ack.stored = committed.stored;
  ack.duplicates = committed.duplicates;
  ack.quarantined = static_cast<std::uint32_t>(committed.batch_already_committed ? 0 : quarantined);
  ack.committed_at = committed_at;
  ack.reason = batch.reject_reason;
  if (auto status = publish_ack_(wire::acks_topic(*batch.reply_to), wire::encode_ack(ack));
      !status) {
    acks_failed_.inc();
    kLog.warn("cannot publish ack; the agent will resend the batch",
              {{"error", status.error().message}, {"batch_seq", ack.batch_seq}});
  }
}

}  // namespace aisle::collector
