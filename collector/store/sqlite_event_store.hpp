// SqliteEventStore: the embedded EventStore — one SQLite database file in WAL mode.
//
// Connections: one writer (commit, mark_replayed and receipt pruning, serialized by a mutex) and
// a small pool of read connections for the queries, so HTTP reads run in parallel with ingestion
// and never wait for a commit's fsync. A background thread checkpoints the WAL into the database
// file, so commits do not pay for checkpoints. Tables, dedup, receipts and durability:
// docs/storage.md.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collector/store/event_store.hpp"
#include "collector/store/sqlite_db.hpp"
#include "common/clock.hpp"
#include "common/corrupt_store.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/uuid.hpp"

namespace aisle::collector {

struct SqliteEventStoreOptions {
  std::string path;  // the database file; created (with its -wal/-shm files) when missing
  // PRAGMA synchronous: FULL fsyncs the WAL at every commit (a commit survives power loss);
  // NORMAL only at checkpoints (a power loss may lose the last commits, never corrupts).
  bool synchronous_full = true;
  // How long a statement waits for a lock held by another process (e.g. an operator's sqlite3
  // shell) before failing with kUnavailable.
  std::int64_t busy_timeout_ms = 5000;
  // Receipts older than this are pruned, except the newest of each stream; 0 keeps them all.
  // Retransmissions of pruned batches are still recognised (docs/storage.md).
  std::int64_t receipts_retention_ms = 30LL * 24 * 60 * 60 * 1000;
  std::size_t read_connections = 2;  // the query pool; at least 1
  // Thresholds of the background checkpoint, in WAL frames (pages): a checkpoint starts once the
  // WAL holds this many frames.
  int checkpoint_frames = 4096;
  // A file found corrupt or truncated at open: moved aside to <path>.corrupt-<UTC stamp> and a
  // fresh store opened (default), or refused. kHeader by default: quick_check reads the whole
  // file. Counted in aisle_collector_store_corrupt_total{store="events"}.
  CorruptStorePolicy corruption{OnCorrupt::kMoveAside, StartupCheck::kHeader};
};

// Thread-safety: all methods may be called from any thread (see EventStore). commit() and
// mark_replayed() take the writer mutex; queries lease a read connection and block only while
// all of them are busy.
class SqliteEventStore final : public EventStore {
 public:
  // Opens or creates the database and brings its schema to the current version. A damaged file
  // is handled as options.corruption says (docs/storage.md). Fails with
  // kFailedPrecondition for a database written by a newer version (or not by Aisle), kDataLoss
  // for a file that is not a database, kIo for other failures.
  static Result<std::unique_ptr<SqliteEventStore>> open(SqliteEventStoreOptions options,
                                                        ClockPtr clock,
                                                        metrics::Registry& registry);
  ~SqliteEventStore() override;
  SqliteEventStore(const SqliteEventStore&) = delete;
  SqliteEventStore& operator=(const SqliteEventStore&) = delete;

  // Events keep their ingested_at when set (the ingest layer stamps it before validation), and
  // get the store clock's time when 0; the same for quarantined_at. The receipt's counts and
  // committed_at are the store's own. Invalid input (an event_id that is not a UUID, a receipt
  // without stream_id, batch_seq 0 or above 2^63-1) is kInvalidArgument and nothing is written.
  Result<CommitResult> commit(const CommitRequest& request) override;

  // Ordered by id; `limit` is capped at kMaxQueryLimit.
  Result<std::vector<QuarantineEntry>> list_quarantine(const QuarantineQuery& q) override;
  Result<std::optional<QuarantineEntry>> get_quarantine(std::int64_t id) override;
  // Sets replayed_at on entries not replayed yet (a second replay keeps the first time). All or
  // nothing: an unknown id fails the call with kNotFound.
  Status mark_replayed(const std::vector<std::int64_t>& ids, UnixMillis at) override;
  // Rows in the quarantine table, replayed ones included.
  Result<std::uint64_t> count_quarantine(const std::string& reason) override;

  // Newest first: by ingested_at descending, then by commit order descending. `limit` is capped
  // at kMaxQueryLimit. Filtering by type alone scans (there is no index on type).
  Result<std::vector<StoredEvent>> list_events(const EventQuery& q) override;
  Result<std::vector<StoredEvent>> scan_events(std::int64_t after_row, UnixMillis ingested_since,
                                               std::size_t limit, std::int64_t& next_row) override;
  // Nullopt when absent, also for a malformed event id (no such event can exist).
  Result<std::optional<StoredEvent>> get_event(const std::string& event_id) override;
  // O(1): a row count maintained by commit().
  Result<std::uint64_t> count_events() override;
  // Both deletions keep the events counter (and its gauge) in step and wake the checkpointer
  // like commit() does. Freed pages are reused by later inserts; the file does not shrink.
  Result<std::uint64_t> delete_events(const std::vector<std::string>& event_ids) override;
  // Walks the ingested_at index: cost proportional to max_rows, not to the table.
  Result<std::uint64_t> delete_events_before(UnixMillis cutoff, std::size_t max_rows) override;
  // Walks quarantine_by_time. Ids are AUTOINCREMENT: paging cursors stay valid.
  Result<std::uint64_t> delete_quarantine_before(UnixMillis cutoff, std::size_t max_rows) override;

  // One entry per stream ever committed, from the streams table (unaffected by pruning).
  Result<std::vector<StreamProgress>> load_stream_progress() override;

  // Deletes up to `max_rows` receipts older than the retention (never the newest of a stream)
  // and returns how many went. commit() calls it about hourly; exposed for tests and tools.
  Result<std::uint64_t> prune_receipts(std::size_t max_rows = kPruneBatchRows);

  static constexpr std::size_t kMaxQueryLimit = 1000;
  static constexpr std::size_t kPruneBatchRows = 10'000;

 private:
  // One attempt of open() (no corruption handling).
  static Result<std::unique_ptr<SqliteEventStore>> open_once(SqliteEventStoreOptions options,
                                                             ClockPtr clock,
                                                             metrics::Registry& registry);
  struct Metrics {
    metrics::Histogram& commit_seconds;
    metrics::Counter& commits_ok;
    metrics::Counter& commits_failed;
    metrics::Gauge& events_rows;
    metrics::Counter& receipts_pruned;
    metrics::Counter& maintenance_errors;
  };

  SqliteEventStore(SqliteEventStoreOptions options, ClockPtr clock, SqliteDb writer,
                   std::vector<SqliteDb> readers, SqliteDb checkpointer, Metrics metrics);

  // The transaction body of commit(); the caller holds writer_mutex_ and handles rollback.
  Status commit_locked(const CommitRequest& request, const std::vector<Uuid>& ids, UnixMillis now,
                       CommitResult& result);
  Result<std::uint64_t> prune_receipts_locked(std::size_t max_rows);
  void maybe_prune_locked();
  // After a write transaction: wakes the checkpoint thread once the WAL is large enough.
  void maybe_checkpoint_locked();
  // Subtracts deleted rows from the events counter inside the open transaction.
  Status subtract_event_rows_locked(std::uint64_t deleted);
  enum class Table { kEvents, kQuarantine };
  // Runs `delete_rows` (returning how many rows it deleted) in one write transaction; for events
  // it keeps the row counter, its gauge and the checkpoint trigger in step.
  Result<std::uint64_t> delete_in_transaction(
      Table table, const std::function<Result<std::uint64_t>()>& delete_rows);
  Result<std::uint64_t> delete_oldest_locked(const std::string& sql, UnixMillis cutoff,
                                             std::size_t max_rows);

  void checkpoint_loop();

  SqliteEventStoreOptions options_;
  ClockPtr clock_;
  Metrics metrics_;

  std::mutex writer_mutex_;  // guards the members down to the read pool
  SqliteDb writer_;
  std::chrono::steady_clock::time_point next_prune_at_{};
  std::int64_t events_rows_ = 0;
  int wal_frames_ = 0;  // WAL size after the last commit (set by the writer's WAL hook)

  SqliteReadPool readers_;

  // Background checkpoints on their own connection (PASSIVE: never blocks commits or reads).
  SqliteDb checkpointer_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wanted_;
  bool checkpoint_pending_ = false;
  bool stopping_ = false;
  std::thread checkpoint_thread_;
};

}  // namespace aisle::collector
