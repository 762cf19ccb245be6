// RetentionJob: deletes events older than the configured age, in the background
// (docs/operations.md, "Retention").
//
// Age is measured from ingested_at (the collector's clock at commit), not occurred_at: a device
// clock set years ahead would otherwise keep its events forever, one set to 1970 would lose them
// on arrival, and backfilled history would be deleted the moment it is loaded. ingested_at is
// also indexed, so each batch is an index range.
//
// A run deletes in transactions of at most `batch_rows` events with a pause between them, so the
// store's single writer is held for one short transaction at a time and ingest commits go
// between the batches. Runs start when the job starts and then every `interval`.
//
// Thread-safety: start() and stop() from one owning thread; run_once() from any thread (tests,
// tools), not concurrently with itself. stop() interrupts a waiting or pausing job at once and a
// running batch after its transaction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "collector/store/event_store.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::collector {

struct RetentionOptions {
  // Events ingested longer ago than this are deleted; 0 keeps events forever.
  std::int64_t max_age_ms = 0;
  // Quarantined input (raw bytes, possibly personal data) quarantined longer ago than this is
  // deleted; 0 keeps it forever. With both 0 no job runs.
  std::int64_t quarantine_max_age_ms = 0;
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  // Events per delete transaction: bounds how long one batch holds the store's writer.
  std::size_t batch_rows = 2000;
  // Pause between two batches of a run, so ingest commits are not starved.
  std::chrono::milliseconds pause{50};
};

class RetentionJob {
 public:
  RetentionJob(EventStore& store, RetentionOptions options, ClockPtr clock,
               metrics::Registry& registry);
  ~RetentionJob();
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  // Starts the background thread (no-op when max_age_ms is 0 or already started).
  void start();
  void stop();

  // One run: batches until no event is left older than now - max_age_ms, then the same for
  // quarantine entries (or until stop() was called). Returns the rows deleted (events and
  // quarantine entries); on a store error the run ends with it (the next run retries) and what
  // earlier batches deleted stays deleted.
  Result<std::uint64_t> run_once();

 private:
  struct Metrics {
    metrics::Counter& deleted;
    metrics::Counter& quarantine_deleted;
    metrics::Counter& batches;
    metrics::Counter& errors;
    metrics::Gauge& last_run;
    metrics::Gauge& last_run_deleted;
    metrics::Gauge& last_run_seconds;
  };
  void loop();
  using DeleteBatch = Result<std::uint64_t> (EventStore::*)(UnixMillis, std::size_t);
  // Deletes in batches until fewer than batch_rows go; adds to `deleted`.
  Status delete_older(DeleteBatch batch_delete, std::int64_t max_age_ms, metrics::Counter& counter,
                      std::uint64_t& deleted);
  // Waits up to `duration`; false when stop() was called.
  bool wait(std::chrono::milliseconds duration);

  EventStore& store_;
  RetentionOptions options_;
  ClockPtr clock_;
  Metrics metrics_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aisle::collector
