#include "collector/store/sqlite_event_store_schema.hpp"

#include <cstdio>
#include <string>

namespace aisle::collector {
namespace {

// kMigrations[v] upgrades version v to v + 1. Entries are never edited once released: a change
// is a new entry (and a golden database in tests/data/collector_store/ for the old version).
constexpr const char* kMigrations[] = {
    // v0 -> v1
    R"sql(
-- Accepted events. row_id is the commit order (the tie-breaker of "newest first"; an explicit
-- INTEGER PRIMARY KEY so VACUUM cannot renumber it). The dedup key event_id is the UUID as 16
-- bytes in a unique index: measured faster than a WITHOUT ROWID table keyed by event_id, by 2x
-- for random (v4) ids, since the 600-byte rows then stay out of the randomly-written b-tree.
CREATE TABLE events (
  row_id      INTEGER PRIMARY KEY,
  event_id    BLOB    NOT NULL UNIQUE,
  type        TEXT    NOT NULL,
  schema      TEXT    NOT NULL,
  store_id    TEXT    NOT NULL,
  agent_id    TEXT    NOT NULL,
  channel     TEXT    NOT NULL,
  occurred_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  ingested_at INTEGER NOT NULL,
  payload     TEXT    NOT NULL
);
CREATE INDEX events_by_store_ingested ON events (store_id, ingested_at);
CREATE INDEX events_by_ingested ON events (ingested_at);

-- Input that could not be accepted. AUTOINCREMENT: ids are never reused, so an after_id
-- paging cursor stays valid even if the newest rows are deleted.
CREATE TABLE quarantine (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  reason         TEXT    NOT NULL,
  errors         TEXT    NOT NULL,
  raw            BLOB    NOT NULL,
  store_id       TEXT    NOT NULL,
  agent_id       TEXT    NOT NULL,
  origin         TEXT    NOT NULL,
  received_at    INTEGER NOT NULL,
  quarantined_at INTEGER NOT NULL,
  replayed_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX quarantine_by_store ON quarantine (store_id, id);
CREATE INDEX quarantine_by_reason ON quarantine (reason, id);
CREATE INDEX quarantine_by_time ON quarantine (quarantined_at);

-- One row per committed agent batch: recognises retransmissions and answers them with the
-- first commit's counts. Pruned after the retention, except the newest of each stream.
CREATE TABLE receipts (
  stream_id    TEXT    NOT NULL,
  batch_seq    INTEGER NOT NULL,
  tenant       TEXT    NOT NULL,
  store_id     TEXT    NOT NULL,
  agent_id     TEXT    NOT NULL,
  first_seq    INTEGER NOT NULL,
  last_seq     INTEGER NOT NULL,
  stored       INTEGER NOT NULL,
  duplicates   INTEGER NOT NULL,
  quarantined  INTEGER NOT NULL,
  committed_at INTEGER NOT NULL,
  PRIMARY KEY (stream_id, batch_seq)
) WITHOUT ROWID;
CREATE INDEX receipts_by_committed ON receipts (committed_at);

-- Per-stream progress, maintained by every commit with a receipt, so it does not depend on the
-- receipts that retention prunes. contiguous_batch_seq: every batch 1..N is committed.
CREATE TABLE streams (
  stream_id            TEXT    NOT NULL PRIMARY KEY,
  store_id             TEXT    NOT NULL,
  agent_id             TEXT    NOT NULL,
  max_batch_seq        INTEGER NOT NULL,
  contiguous_batch_seq INTEGER NOT NULL,
  last_committed_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- Committed runs of batches above a stream's contiguous_batch_seq (batches committed out of
-- order, or after a gap): [first_seq, last_seq], disjoint and not adjacent. Usually empty.
CREATE TABLE stream_islands (
  stream_id TEXT    NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq  INTEGER NOT NULL,
  PRIMARY KEY (stream_id, first_seq)
) WITHOUT ROWID;

-- Counters kept in step with the tables by the transactions that change them (count(*) over
-- millions of events would scan an index).
CREATE TABLE counters (
  name  TEXT    NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('events', 0);
)sql",
};
constexpr int kMigrationCount = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
static_assert(kMigrationCount == kEventStoreSchemaVersion);

}  // namespace

Status migrate_event_store_schema(SqliteDb& db) {
  return migrate_schema(db, SchemaMigrations{kEventStoreApplicationId, kMigrations,
                                             kMigrationCount, "collector database", "database"});
}

}  // namespace aisle::collector
