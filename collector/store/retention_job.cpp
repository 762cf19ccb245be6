#include "collector/store/retention_job.hpp"

#include <algorithm>
#include <utility>

#include "common/log.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector.retention");

}  // namespace

RetentionJob::RetentionJob(EventStore& store, RetentionOptions options, ClockPtr clock,
                           metrics::Registry& registry)
    : store_(store),
      options_(options),
      clock_(clock ? std::move(clock) : SystemClock::instance()),
      metrics_{
          registry.counter("aisle_collector_retention_deleted_total",
                           "Events deleted by retention"),
          registry.counter("aisle_collector_retention_quarantine_deleted_total",
                           "Quarantine entries deleted by retention"),
          registry.counter("aisle_collector_retention_batches_total",
                           "Retention delete transactions (events and quarantine)"),
          registry.counter("aisle_collector_retention_errors_total",
                           "Retention runs ended by a store error (retried at the next run)"),
          registry.gauge("aisle_collector_retention_last_run_timestamp_seconds",
                         "Unix time when the last retention run ended (0: none yet)"),
          registry.gauge("aisle_collector_retention_last_run_deleted",
                         "Events and quarantine entries deleted by the last retention run"),
          registry.gauge("aisle_collector_retention_last_run_seconds",
                         "Duration of the last retention run"),
      } {
  options_.batch_rows = std::max<std::size_t>(options_.batch_rows, 1);
}

RetentionJob::~RetentionJob() {
  stop();
}

void RetentionJob::start() {
  if ((options_.max_age_ms <= 0 && options_.quarantine_max_age_ms <= 0) || thread_.joinable()) {
    return;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { loop(); });
  kLog.info("retention started", {{"max_age_ms", options_.max_age_ms},
                                  {"quarantine_max_age_ms", options_.quarantine_max_age_ms},
                                  {"interval_ms", options_.interval.count()},
                                  {"batch_rows", options_.batch_rows}});
}

void RetentionJob::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RetentionJob::wait(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, duration, [this] { return stopping_; });
}

void RetentionJob::loop() {
  do {
    // Errors are logged and counted by run_once; the next run retries.
    (void)run_once();
  } while (wait(options_.interval));
}

Status RetentionJob::delete_older(DeleteBatch batch_delete, std::int64_t max_age_ms,
                                  metrics::Counter& counter, std::uint64_t& deleted) {
  if (max_age_ms <= 0) return ok_status();
  const UnixMillis cutoff = clock_->now_unix_ms() - max_age_ms;
  for (;;) {
    auto batch = (store_.*batch_delete)(cutoff, options_.batch_rows);
    if (!batch.ok()) return batch.error();
    deleted += *batch;
    metrics_.batches.inc();
    counter.inc(static_cast<double>(*batch));
    if (*batch < options_.batch_rows) return ok_status();
    if (!wait(options_.pause)) return ok_status();  // stopping: the rest waits for the next start
  }
}

Result<std::uint64_t> RetentionJob::run_once() {
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t events = 0;
  std::uint64_t quarantine = 0;
  Status status = delete_older(&EventStore::delete_events_before, options_.max_age_ms,
                               metrics_.deleted, events);
  if (status && wait(std::chrono::milliseconds(0))) {  // not when stopping
    status = delete_older(&EventStore::delete_quarantine_before, options_.quarantine_max_age_ms,
                          metrics_.quarantine_deleted, quarantine);
  }
  const std::uint64_t deleted = events + quarantine;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.last_run.set(static_cast<double>(clock_->now_unix_ms()) / 1000.0);
  metrics_.last_run_deleted.set(static_cast<double>(deleted));
  metrics_.last_run_seconds.set(seconds);
  if (!status.ok()) {
    metrics_.errors.inc();
    kLog.warn("retention run failed; retried at the next run",
              {{"error", status.error().message}, {"events", events}, {"quarantine", quarantine}});
    return status.error();
  }
  if (deleted > 0) {
    kLog.info("retention deleted old rows",
              {{"events", events}, {"quarantine", quarantine}, {"seconds", seconds}});
  }
  return deleted;
}

}  // namespace aisle::collector
