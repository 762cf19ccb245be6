// SqliteOutbox: the Outbox on one SQLite database in WAL mode (docs/outbox.md).
//
// Concurrent append() calls are group-committed, LevelDB style: the first waiting caller becomes
// the leader, drains every queued request into one BEGIN IMMEDIATE..COMMIT (one fsync with
// durability kFull) and then wakes the others with their own outcomes. No extra thread.
//
// Thread-safety: as the Outbox interface says. One connection, serialized by an internal mutex;
// pending() and stats() read in-memory counters and never touch the database.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/outbox/outbox.hpp"
#include "agent/outbox/sqlite_db.hpp"
#include "agent/outbox/wall_clock_steps.hpp"
#include "common/clock.hpp"
#include "common/corrupt_store.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::agent {

enum class OutboxDurability : std::uint8_t {
  // synchronous=FULL: every group commit is fsynced; a commit survives power loss.
  kFull,
  // synchronous=NORMAL in WAL: survives a process crash (kill -9); the last commits before a
  // power loss or kernel panic may be lost. Several times cheaper per commit.
  kNormal,
};
const char* durability_name(OutboxDurability durability);  // "full" | "normal"
std::optional<OutboxDurability> parse_durability(std::string_view text);

struct SqliteOutboxOptions {
  std::string path;  // the database file; "-wal" and "-shm" files live beside it
  OutboxDurability durability = OutboxDurability::kFull;
  // Quota on accounted bytes (payload + row_overhead_bytes per row) over all records, formed
  // batches included. Over it, appends evict bulk then normal records, oldest first.
  std::uint64_t max_bytes = 256ull * 1024 * 1024;
  // Quota on rows; a hard limit for every class (critical included).
  std::uint64_t max_rows = 2'000'000;
  // maintain() expires non-critical records received longer ago than this.
  std::int64_t max_age_ms = 7LL * 24 * 3600 * 1000;
  // Critical records are still accepted above max_bytes, up to this; 0 means max_bytes + 10%.
  std::uint64_t hard_max_bytes = 0;
  // Accounted per row on top of the payload (event_id, columns, index entries, page slack).
  std::uint64_t row_overhead_bytes = 96;
  // Quarantine ('q') records are also kept in a local ring of this many rows (0: none).
  std::uint64_t local_quarantine_rows = 10'000;

  int busy_timeout_ms = 5000;
  // The WAL is truncated back to this size after checkpoints.
  std::uint64_t journal_size_limit_bytes = 64ull * 1024 * 1024;
  // A group commit takes queued requests up to this many payload bytes (the leader's own request
  // always); the rest form the next group. Bounds the latency a large group adds.
  std::uint64_t max_group_bytes = 16ull * 1024 * 1024;
  // Hard cap on the database file (PRAGMA max_page_count), 0 for none. Beyond it writes fail as on
  // a full disk (kResourceExhausted); the tests use it to simulate one.
  std::uint64_t max_file_bytes = 0;
  // Free space kept for critical records on the file system holding the outbox: while less is
  // free (statvfs, checked once per group commit), bulk and normal records are refused
  // (kRefusedDiskLow, a 507 naming the disk); critical ones are taken until the disk itself is
  // full. 0 disables the check.
  std::uint64_t min_free_disk_bytes = 64ull * 1024 * 1024;
  // A file found corrupt or truncated at open (docs/operations.md, Failure behaviour): moved
  // aside to <path>.corrupt-<UTC stamp> and a fresh outbox (a new stream) opened, or refused.
  // Counted in aisle_agent_store_corrupt_total{store="outbox"}.
  CorruptStorePolicy corruption;
};

class SqliteOutbox final : public Outbox {
 public:
  // Opens or creates the database, migrates an older schema and recomputes the counters from the
  // tables. A damaged file is handled as options.corruption says (moved aside by default, then
  // a fresh outbox). Errors: kInvalidArgument (options), kDataLoss (not a database, corrupt, and
  // on_corrupt is refuse or the file could not be moved),
  // kFailedPrecondition (schema newer than this build), kIo. Registers the outbox metrics in
  // `registry`, which must outlive the outbox (gauges keep reading a detached snapshot after).
  static Result<std::unique_ptr<SqliteOutbox>> open(SqliteOutboxOptions options, ClockPtr clock,
                                                    metrics::Registry& registry);
  ~SqliteOutbox() override;

  Result<AppendResult> append(std::vector<OutboxRecord> records) override;
  Result<std::optional<StoredBatch>> form_batch(const BatchLimits& limits) override;
  Result<std::vector<StoredBatch>> unacked_batches() override;
  Result<StoredBatch> load_batch(std::uint64_t batch_seq) override;
  Status ack_batch(std::uint64_t batch_seq) override;
  std::uint64_t next_batch_seq() override;
  PendingInfo pending() const override;
  OutboxStats stats() const override;
  std::string stream_id() const override { return stream_id_; }
  Status maintain() override;
  void set_append_listener(std::function<void()> listener) override;
  Result<ErasurePurge> purge_identities(const std::string& erasure_id,
                                        const std::vector<std::string>& identities) override;
  Result<std::optional<std::string>> erasure_receipt(const std::string& erasure_id) override;
  Status record_erasure_receipt(const std::string& erasure_id, const std::string& receipt) override;

  // Records examined per purge transaction; the lock is released between chunks.
  static constexpr std::uint64_t kPurgeChunkRows = 20'000;

  const SqliteOutboxOptions& options() const { return options_; }

  // The in-memory counters behind pending(), stats() and the gauges: updated after each commit,
  // recomputed from the tables at open. (A type of the interface for the internal structs; callers
  // read pending() and stats().)
  struct Totals {
    std::uint64_t rows[3] = {0, 0, 0};                     // by Priority
    std::uint64_t bytes[3] = {0, 0, 0};                    // accounted bytes, by Priority
    std::uint64_t pending_rows = 0;                        // seq > last_batched_seq
    std::uint64_t pending_bytes = 0;                       // payload bytes of those
    std::optional<UnixMillis> oldest_received_at;          // of the lowest seq
    std::optional<UnixMillis> pending_oldest_received_at;  // of the lowest pending seq
    std::uint64_t batches = 0;                             // formed, unacknowledged

    std::uint64_t total_rows() const { return rows[0] + rows[1] + rows[2]; }
    std::uint64_t total_bytes() const { return bytes[0] + bytes[1] + bytes[2]; }
  };

 private:
  // One attempt of open() (no corruption handling).
  static Result<std::unique_ptr<SqliteOutbox>> open_once(const SqliteOutboxOptions& options,
                                                         const ClockPtr& clock,
                                                         metrics::Registry& registry);

  struct Shared;      // totals + what the gauge callbacks need
  struct Statements;  // the prepared statement cache
  struct Metrics;
  struct Txn;         // working state of one write transaction
  struct Candidate {  // an eviction candidate
    std::uint64_t seq;
    std::uint64_t bytes;  // payload
    UnixMillis received_at;
  };
  // One append() call waiting in the writer queue (lives on the caller's stack).
  struct Writer {
    std::vector<OutboxRecord>* records = nullptr;
    std::uint64_t payload_bytes = 0;
    AppendResult result;
    std::optional<Error> error;
    bool done = false;
    std::condition_variable cv;
  };

  SqliteOutbox(SqliteOutboxOptions options, ClockPtr clock, SqliteDb db,
               metrics::Registry& registry);
  Status prepare_statements();
  Status load_state();
  void register_gauges(metrics::Registry& registry);

  // Runs one group transaction (caller holds db_mutex_). On error nothing is stored.
  Status commit_group(const std::vector<Writer*>& group);
  Result<AppendOutcome> append_one(const OutboxRecord& record, Txn& txn);
  // Evicts what the record needs under the quota; false when it must be refused.
  Result<bool> make_room(Priority priority, std::uint64_t accounted, Txn& txn);
  Status evict_oldest(Priority victim_class, Txn& txn);
  // Next eviction candidate of a class (oldest first), from a per-transaction prefetch.
  Result<std::optional<Candidate>> next_candidate(Priority victim_class, Txn& txn);
  Status delete_record(Priority victim_class, const Candidate& victim, Txn& txn);
  Status refresh_oldest(Txn& txn);
  Status begin_txn(Txn& txn);
  Status commit_txn(Txn& txn);
  void publish(const Txn& txn);
  void log_and_count_evictions(const Txn& txn, const char* reason);
  Result<std::uint64_t> expire_chunk(UnixMillis cutoff, std::uint64_t max_rows);
  // Returns free pages to the file system when that is worth its cost (see the constants in
  // sqlite_outbox_quota.cpp), in chunks with the lock released in between.
  Status reclaim_free_pages();
  Result<StoredBatch> read_batch_records(StoredBatch batch);
  // One chunk of purge_identities (sqlite_outbox_erase.cpp); caller holds db_mutex_.
  struct IdentityMatcher;
  Result<std::uint64_t> purge_chunk(const std::string& erasure_id, const IdentityMatcher& matcher,
                                    std::uint64_t after_seq, ErasurePurge& totals);
  Result<std::uint64_t> purge_local_quarantine(const std::string& erasure_id,
                                               const IdentityMatcher& matcher,
                                               ErasurePurge& totals);

  SqliteOutboxOptions options_;
  ClockPtr clock_;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<Metrics> metrics_;
  std::string stream_id_;

  // Writer queue (group commit). The front writer is the leader.
  std::mutex queue_mutex_;
  std::deque<Writer*> writers_;
  std::vector<Writer*> group_;  // the current leader's group, reused

  // Everything below is guarded by db_mutex_.
  std::mutex db_mutex_;
  SqliteDb db_;
  std::unique_ptr<Statements> stmts_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t next_batch_seq_ = 1;
  std::uint64_t last_batched_seq_ = 0;
  // Per class: no record of the class has a seq below this (committed state; 0 after open).
  std::uint64_t class_cursor_[3] = {0, 0, 0};
  std::vector<Candidate> candidates_[3];  // eviction prefetch per class, reset per transaction
  std::size_t candidate_pos_[3] = {0, 0, 0};
  // Wall-clock steps seen at appends and maintenance, so age expiry does not count them as age.
  WallClockSteps clock_steps_;
  // Samples the clocks into clock_steps_ (caller holds db_mutex_); logs a step.
  void observe_clock(std::uint64_t next_seq);

  std::mutex listener_mutex_;
  std::shared_ptr<const std::function<void()>> listener_;
};

}  // namespace aisle::agent
