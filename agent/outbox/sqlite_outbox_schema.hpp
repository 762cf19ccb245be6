// The outbox database schema: connection pragmas, the version check and the forward migrations
// (docs/outbox.md). Used by SqliteOutbox::open() only; separate so the schema history reads as
// one list.
#pragma once

#include <cstdint>
#include <string>

#include "agent/outbox/sqlite_db.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::agent {

// The schema this build writes (PRAGMA user_version). Older files are migrated forward on open;
// newer ones are refused.
inline constexpr int kOutboxSchemaVersion = 1;

struct OutboxConnectionSettings {
  bool synchronous_full = true;  // FULL: fsync per commit; NORMAL: WAL fsynced at checkpoints
  int busy_timeout_ms = 5000;
  std::int64_t journal_size_limit_bytes = 64 * 1024 * 1024;
  std::int64_t wal_autocheckpoint_pages = 8192;
  std::int64_t cache_kib = 16 * 1024;
  std::int64_t max_file_bytes = 0;  // PRAGMA max_page_count from this; 0: no limit
};

struct SchemaOutcome {
  bool created = false;            // a new database: a new stream_id was generated
  int from_version = 0;            // the version found on disk (0 when created)
  bool incremental_vacuum = true;  // false for a file created without auto_vacuum=INCREMENTAL
};

// Applies the pragmas, then creates the schema in a new database or migrates an older one, in one
// transaction. Errors: kDataLoss (not a database / corrupt), kFailedPrecondition (a newer schema
// version, or a database that is not an outbox), kIo.
Result<SchemaOutcome> prepare_outbox_schema(SqliteDb& db, const OutboxConnectionSettings& settings,
                                            const ClockPtr& clock);

}  // namespace aisle::agent
