// SqliteOutbox: quota eviction, age expiry and maintain() (docs/outbox.md, "Quota").
#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <thread>

#include "agent/outbox/sqlite_outbox.hpp"
#include "agent/outbox/sqlite_outbox_internal.hpp"

namespace aisle::agent {
namespace {

// Eviction and expiry candidates are read this many at a time.
constexpr int kCandidatePrefetch = 512;

// Age expiry deletes at most this many records per transaction, releasing the database between
// chunks so appends are not stalled behind a long maintenance run.
constexpr std::uint64_t kExpireChunkRows = 20'000;
// Free pages are returned to the file system in steps of this many pages, with the database
// lock released in between, so ingest and the forwarder are not stalled behind one long vacuum.
constexpr std::int64_t kVacuumChunkPages = 1024;
// Reclaiming moves the live pages that sit beyond the new end of the file. It runs only when at
// least this much is free, and when the live data is at most 1/kReclaimFreeToLiveRatio of the
// free space: while a large backlog drains, the live records are the newest, at the end of the
// file, and vacuuming then would rewrite them again and again for space that is reused anyway.
constexpr std::int64_t kReclaimMinFreeBytes = 1 << 20;
constexpr std::int64_t kReclaimFreeToLiveRatio = 4;
constexpr std::int64_t kSlowMaintenanceMs = 100;
constexpr std::chrono::milliseconds kVacuumPause{25};
constexpr int kVacuumMaxSteps = 128;

}  // namespace

// --- quota ---

// Quota rules (docs/outbox.md): bulk may evict bulk; normal and critical may evict bulk, then
// normal; oldest first; critical is never evicted. Nothing is evicted for a record that would not
// fit even after evicting everything it may evict. Critical records may use the margin up to
// hard_max_bytes once nothing is left to evict. max_rows is hard for every class.
Result<bool> SqliteOutbox::make_room(Priority priority, std::uint64_t accounted, Txn& txn) {
  Totals& t = txn.totals;
  const Priority victims[] = {Priority::kBulk, Priority::kNormal};
  const std::size_t victim_count = priority == Priority::kBulk ? 1 : 2;
  std::uint64_t evictable_rows = 0;
  std::uint64_t evictable_bytes = 0;
  for (std::size_t v = 0; v < victim_count; ++v) {
    evictable_rows += t.rows[priority_index(victims[v])];
    evictable_bytes += t.bytes[priority_index(victims[v])];
  }
  const std::uint64_t byte_limit =
      priority == Priority::kCritical ? options_.hard_max_bytes : options_.max_bytes;
  if (t.total_rows() - evictable_rows + 1 > options_.max_rows ||
      t.total_bytes() - evictable_bytes + accounted > byte_limit) {
    return false;
  }
  for (std::size_t v = 0; v < victim_count; ++v) {
    const Priority victim = victims[v];
    while (t.rows[priority_index(victim)] > 0 &&
           (t.total_rows() + 1 > options_.max_rows ||
            t.total_bytes() + accounted > options_.max_bytes)) {
      if (auto s = evict_oldest(victim, txn); !s.ok()) return s.error();
    }
  }
  return true;
}

Status SqliteOutbox::evict_oldest(Priority victim_class, Txn& txn) {
  auto victim = next_candidate(victim_class, txn);
  if (!victim.ok()) return victim.error();
  if (!*victim) {
    return make_error(ErrorCode::kInternal, std::string("outbox counters list ") +
                                                priority_name(victim_class) +
                                                " records but none is left to evict");
  }
  return delete_record(victim_class, **victim, txn);
}

// Candidates come from a scan by seq starting at the class cursor (nothing of the class is below
// it), so each row is passed over at most once per class between restarts, without an index.
Result<std::optional<SqliteOutbox::Candidate>> SqliteOutbox::next_candidate(Priority victim_class,
                                                                            Txn& txn) {
  const int c = priority_index(victim_class);
  std::vector<Candidate>& list = candidates_[c];
  if (candidate_pos_[c] >= list.size()) {
    list.clear();
    candidate_pos_[c] = 0;
    auto& query = stmts_->class_candidates;
    ResetGuard guard(query);
    query.bind_int64(1, c);
    query.bind_int64(2, static_cast<std::int64_t>(txn.class_cursor[c]));
    query.bind_int64(3, kCandidatePrefetch);
    for (;;) {
      auto row = query.step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      list.push_back(Candidate{static_cast<std::uint64_t>(query.column_int64(0)),
                               static_cast<std::uint64_t>(query.column_int64(1)),
                               query.column_int64(2)});
    }
    if (list.empty()) {
      txn.class_cursor[c] = txn.next_seq;  // none of the class at all
      return std::optional<Candidate>();
    }
    txn.class_cursor[c] = list.front().seq;
  }
  return std::optional<Candidate>(list[candidate_pos_[c]++]);
}

Status SqliteOutbox::delete_record(Priority victim_class, const Candidate& victim, Txn& txn) {
  auto& del = stmts_->delete_record;
  del.bind_int64(1, static_cast<std::int64_t>(victim.seq));
  if (auto s = del.run(); !s.ok()) return s;
  const int c = priority_index(victim_class);
  const std::uint64_t accounted = victim.bytes + options_.row_overhead_bytes;
  Totals& t = txn.totals;
  t.rows[c] -= 1;
  t.bytes[c] -= accounted;
  if (victim.seq > txn.last_batched_seq) {
    t.pending_rows -= 1;
    t.pending_bytes -= victim.bytes;
    txn.pending_oldest_dirty = true;
  }
  txn.oldest_dirty = true;
  txn.class_cursor[c] = victim.seq + 1;  // victims are deleted oldest first
  txn.evicted.add(victim_class, victim.seq, accounted);
  return ok_status();
}

void SqliteOutbox::log_and_count_evictions(const Txn& txn, const char* reason) {
  const EvictionTally& e = txn.evicted;
  if (e.total_rows() == 0) return;
  const bool age = std::string_view(reason) == "age";
  for (Priority p : {Priority::kNormal, Priority::kBulk}) {
    const int i = priority_index(p);
    if (e.rows[i] == 0) continue;
    (age ? metrics_->evicted_age[i] : metrics_->evicted_quota[i])
        ->inc(static_cast<double>(e.rows[i]));
  }
  outbox_logger().warn("outbox evicted records before acknowledgement",
                       {{"reason", reason},
                        {"normal", e.rows[priority_index(Priority::kNormal)]},
                        {"bulk", e.rows[priority_index(Priority::kBulk)]},
                        {"bytes", e.total_bytes()},
                        {"first_seq", e.first_seq},
                        {"last_seq", e.last_seq}});
}

// --- maintenance ---

// Deletes up to max_rows non-critical records received before `cutoff`, oldest first per class,
// in one transaction. Per class it stops at the first record (by seq) that is young enough:
// received_at follows seq except across wall-clock jumps, and stopping early only delays an
// expiry, never expires a young record.
Result<std::uint64_t> SqliteOutbox::expire_chunk(UnixMillis cutoff, std::uint64_t max_rows) {
  Txn txn;
  if (auto s = begin_txn(txn); !s.ok()) return s.error();
  auto fail = [this](Error error) {
    db_.rollback_quietly();
    return error;
  };
  std::uint64_t deleted = 0;
  for (Priority victim_class : {Priority::kBulk, Priority::kNormal}) {
    if (txn.totals.rows[priority_index(victim_class)] == 0) continue;  // no scan for nothing
    while (deleted < max_rows) {
      auto victim = next_candidate(victim_class, txn);
      if (!victim.ok()) return fail(victim.error());
      // A forward step of the wall clock after the record was stored is not age.
      if (!*victim ||
          (*victim)->received_at + clock_steps_.forward_after((*victim)->seq) >= cutoff) {
        break;
      }
      if (auto s = delete_record(victim_class, **victim, txn); !s.ok()) return fail(s.error());
      ++deleted;
    }
  }
  if (deleted == 0) {
    db_.rollback_quietly();
    // Nothing changed, so where the scan stopped is still valid: the next run starts there.
    for (int c = 0; c < 3; ++c) class_cursor_[c] = txn.class_cursor[c];
    return deleted;
  }
  if (auto s = commit_txn(txn); !s.ok()) return fail(s.error());
  publish(txn);
  log_and_count_evictions(txn, "age");
  return deleted;
}

Status SqliteOutbox::reclaim_free_pages() {
  {
    std::lock_guard db_lock(db_mutex_);
    auto page_size = db_.query_int64("PRAGMA page_size");
    if (!page_size.ok()) return page_size.error();
    auto pages = db_.query_int64("PRAGMA page_count");
    if (!pages.ok()) return pages.error();
    auto free_pages = db_.query_int64("PRAGMA freelist_count");
    if (!free_pages.ok()) return free_pages.error();
    const std::int64_t free_bytes = *free_pages * *page_size;
    const std::int64_t live_bytes = (*pages - *free_pages) * *page_size;
    if (free_bytes < kReclaimMinFreeBytes || live_bytes * kReclaimFreeToLiveRatio > free_bytes) {
      return ok_status();
    }
  }
  // At most kVacuumMaxSteps per run (512 MiB), so one run stays well inside the systemd watchdog;
  // the next maintenance run goes on where this one stopped.
  for (int step = 0; step < kVacuumMaxSteps; ++step) {
    // Paced: each step fsyncs the file, and back-to-back steps starve the appends' own fsyncs.
    if (step > 0) std::this_thread::sleep_for(kVacuumPause);
    std::lock_guard db_lock(db_mutex_);
    auto free_pages = db_.query_int64("PRAGMA freelist_count");
    if (!free_pages.ok()) return free_pages.error();
    if (*free_pages == 0) return ok_status();
    const std::int64_t chunk = std::min(*free_pages, kVacuumChunkPages);
    if (auto s = db_.exec("PRAGMA incremental_vacuum(" + std::to_string(chunk) + ")"); !s.ok()) {
      return s;
    }
    // In WAL mode the file only shrinks at a checkpoint. One checkpoint per step keeps each lock
    // hold short: measured after a 300k drain, a single final checkpoint truncating 660 MB held
    // the lock for 1.1 s, and every POST waited for it.
    if (auto s = db_.exec("PRAGMA wal_checkpoint(PASSIVE)"); !s.ok()) return s;
  }
  return ok_status();
}

Status SqliteOutbox::maintain() {
  // Durations are wall time (not the injected clock): they tell operators how long ingest may
  // have waited for the lock.
  using WallClock = std::chrono::steady_clock;
  const auto ms_since = [](WallClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(WallClock::now() - t).count();
  };
  const auto started = WallClock::now();
  {
    std::lock_guard db_lock(db_mutex_);
    observe_clock(next_seq_);
  }
  const UnixMillis cutoff = clock_->now_unix_ms() - options_.max_age_ms;
  for (;;) {
    std::lock_guard db_lock(db_mutex_);
    auto deleted = expire_chunk(cutoff, kExpireChunkRows);
    if (!deleted.ok()) return deleted.error();
    if (*deleted < kExpireChunkRows) break;
  }
  const std::uint64_t before = database_file_bytes(options_.path);
  const auto reclaim_started = WallClock::now();
  if (auto s = reclaim_free_pages(); !s.ok()) return s;
  const std::int64_t reclaim_ms = ms_since(reclaim_started);
  std::lock_guard db_lock(db_mutex_);
  // Copies the WAL back into the database, truncates it to its used pages and the WAL to zero.
  const auto checkpoint_started = WallClock::now();
  auto checkpoint = db_.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  if (!checkpoint.ok()) return checkpoint.error();
  auto row = checkpoint->step();
  if (!row.ok()) return row.error();
  if (*row && checkpoint->column_int64(0) != 0) {
    // Another connection (an operator's sqlite3 shell) holds a read lock; retried next time.
    outbox_logger().info("outbox checkpoint could not complete: database busy",
                         {{"path", options_.path}});
  }
  const std::int64_t checkpoint_ms = ms_since(checkpoint_started);
  const std::int64_t total_ms = ms_since(started);
  const std::uint64_t after = database_file_bytes(options_.path);
  const std::initializer_list<log::Field> fields = {
      {"file_bytes_before", before}, {"file_bytes_after", after},
      {"reclaim_ms", reclaim_ms}, {"checkpoint_ms", checkpoint_ms},
      {"total_ms", total_ms}};
  // A slow run held the outbox lock in steps long enough for ingest to notice.
  if (total_ms >= kSlowMaintenanceMs) {
    outbox_logger().info("outbox maintenance was slow", fields);
  } else {
    outbox_logger().debug("outbox maintained", fields);
  }
  return ok_status();
}

}  // namespace aisle::agent
