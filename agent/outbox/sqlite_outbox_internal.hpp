// Private parts of SqliteOutbox shared by its source files (sqlite_outbox.cpp: open, append,
// transactions; sqlite_outbox_batches.cpp: batches, stats; sqlite_outbox_quota.cpp: eviction,
// expiry, maintain). Not for other components.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>

#include "agent/outbox/sqlite_db.hpp"
#include "agent/outbox/sqlite_outbox.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

namespace aisle::agent {

inline const log::Logger& outbox_logger() {
  static const log::Logger logger("agent.outbox");
  return logger;
}

inline int priority_index(Priority priority) {
  return static_cast<int>(priority);
}

// Database + WAL size on disk; 0 for a missing file.
inline std::uint64_t database_file_bytes(const std::string& path) {
  struct stat st {};
  std::uint64_t total = 0;
  if (::stat(path.c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_size);
  if (::stat((path + "-wal").c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_size);
  return total;
}

// Bytes an unprivileged writer may still use on the file system holding `path` (statvfs
// f_bavail; the agent may run as root, but root's reserved blocks are the system's, not ours);
// nullopt when it cannot be measured (the check is then skipped).
inline std::optional<std::uint64_t> free_disk_bytes(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(vfs.f_bavail) * static_cast<std::uint64_t>(vfs.f_frsize);
}

// State the metric gauges read at scrape time. Held by shared_ptr so a gauge registered by an
// outbox that has been destroyed reads a frozen snapshot instead of freed memory.
struct SqliteOutbox::Shared {
  mutable std::mutex mutex;  // writers also hold db_mutex_; readers take only this
  Totals totals;
  // Free bytes of the outbox's file system at the last group commit (-1: not measured yet).
  std::atomic<double> disk_free_bytes{-1};
  std::string path;
  ClockPtr clock;
};

struct SqliteOutbox::Statements {
  SqliteStatement begin;  // BEGIN IMMEDIATE: take the write lock up front, no upgrade deadlock
  SqliteStatement commit;
  SqliteStatement insert_record;
  SqliteStatement event_exists;
  SqliteStatement insert_quarantine;
  SqliteStatement trim_quarantine;
  SqliteStatement class_candidates;
  SqliteStatement delete_record;
  SqliteStatement set_meta;
  SqliteStatement first_received_after;
  SqliteStatement pending_records;
  SqliteStatement insert_batch;
  SqliteStatement select_batch;
  SqliteStatement select_batches;
  SqliteStatement range_records;
  SqliteStatement delete_range;
  SqliteStatement delete_batch;
};

struct SqliteOutbox::Metrics {
  metrics::Counter* appended[3];
  metrics::Counter* refused[3];
  metrics::Counter* evicted_quota[3];  // [kCritical] unused: critical is never evicted
  metrics::Counter* evicted_age[3];
  metrics::Counter* duplicates;
  metrics::Counter* commits;
  metrics::Counter* commit_failures;
  metrics::Histogram* commit_seconds;
  metrics::Histogram* group_calls;
  metrics::Counter* erased[2];  // [0] events, [1] quarantine records (erasure requests)
};

// Deleted records of one transaction, for the counters and one aggregated log line.
struct EvictionTally {
  std::uint64_t rows[3] = {0, 0, 0};
  std::uint64_t bytes[3] = {0, 0, 0};  // accounted
  std::uint64_t first_seq = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t last_seq = 0;

  void add(Priority priority, std::uint64_t seq, std::uint64_t accounted) {
    rows[priority_index(priority)] += 1;
    bytes[priority_index(priority)] += accounted;
    if (seq < first_seq) first_seq = seq;
    if (seq > last_seq) last_seq = seq;
  }
  std::uint64_t total_rows() const { return rows[0] + rows[1] + rows[2]; }
  std::uint64_t total_bytes() const { return bytes[0] + bytes[1] + bytes[2]; }
};

// The working copy of the counters during a write transaction: published only after COMMIT, so
// a rolled-back transaction leaves them untouched.
struct SqliteOutbox::Txn {
  Totals totals;
  std::uint64_t next_seq = 0;
  std::uint64_t next_batch_seq = 0;
  std::uint64_t last_batched_seq = 0;
  std::uint64_t class_cursor[3] = {0, 0, 0};  // see SqliteOutbox::class_cursor_
  bool oldest_dirty = false;                  // a deletion may have removed the lowest seq
  bool pending_oldest_dirty = false;          // ... or the lowest pending seq
  std::uint64_t appended[3] = {0, 0, 0};
  std::uint64_t refused[3] = {0, 0, 0};
  std::uint64_t duplicates = 0;
  bool wrote_quarantine = false;
  // The file system had less than min_free_disk_bytes free when the transaction began.
  bool disk_low = false;
  std::optional<std::uint64_t> disk_free_bytes;  // as measured then (nullopt: not checked)
  std::uint64_t refused_disk_low = 0;
  EvictionTally evicted;
};

}  // namespace aisle::agent
