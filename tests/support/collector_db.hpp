// Reads the collector's SQLite database (DIR/data/collector.db) read-only, straight from the
// file, for the tests' exactly-once checks: what is really stored, not what an API or a counter
// says. Works while the collector runs (WAL: a reader sees the last committed snapshot) and
// after it stopped or was killed. Tables: collector/store/sqlite_event_store_schema.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace aisle::test {

struct StoredEventRow {
  std::string event_id;  // canonical lowercase 8-4-4-4-12 (stored as 16 bytes)
  std::string type;
  std::string store_id;
  std::string agent_id;
  std::string channel;
};

struct QuarantineRow {
  std::int64_t id = 0;
  std::string reason;
  std::string errors;  // JSON array
  std::string raw;
  std::string store_id;
  std::string agent_id;
  std::string origin;
  std::int64_t replayed_at = 0;
};

struct CollectorDbSnapshot {
  std::vector<StoredEventRow> events;  // every row of `events`, in commit order
  std::vector<QuarantineRow> quarantine;
  std::int64_t events_counter = 0;  // counters['events'], kept in step by the store
  std::int64_t receipts = 0;        // committed agent batches
};

// One consistent snapshot (a single read transaction).
Result<CollectorDbSnapshot> read_collector_db(const std::string& path);

// Holds the database's write lock (BEGIN IMMEDIATE from another connection), as a backup tool
// or a stuck process would: the collector's commits fail with SQLITE_BUSY until release().
class CollectorDbWriteLock {
 public:
  CollectorDbWriteLock() = default;
  ~CollectorDbWriteLock() { release(); }
  CollectorDbWriteLock(const CollectorDbWriteLock&) = delete;
  CollectorDbWriteLock& operator=(const CollectorDbWriteLock&) = delete;

  // Waits up to 10 s for the lock (the collector may be committing).
  Status acquire(const std::string& path);
  void release();

 private:
  void* db_ = nullptr;  // sqlite3*
};

// The event ids of `rows` whose store_id is in `stores` (all when empty), one per row.
std::vector<std::string> event_ids(const std::vector<StoredEventRow>& rows,
                                   const std::vector<std::string>& stores = {});

}  // namespace aisle::test
