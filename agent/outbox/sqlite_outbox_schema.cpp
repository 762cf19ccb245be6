#include "agent/outbox/sqlite_outbox_schema.hpp"

#include <algorithm>
#include <string>

#include "common/log.hpp"
#include "common/uuid.hpp"

namespace aisle::agent {
namespace {

const log::Logger logger("agent.outbox");

// Forward migrations: migration N turns a version N-1 database into version N. They run in order
// inside one transaction together with the user_version update, so a crash leaves the old
// version intact. Never edit a released migration; append a new one.
struct Migration {
  int to_version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE meta(
  key   TEXT PRIMARY KEY,
  value NOT NULL  -- no declared type: stored exactly as written
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES
  ('next_seq', 1), ('next_batch_seq', 1), ('last_batched_seq', 0);

-- seq is assigned by the outbox (meta.next_seq), not by AUTOINCREMENT: an ignored duplicate
-- must not burn a sequence number, which the collector would count as a dropped record. The
-- UNIQUE index on event_id is the only secondary index, and detects duplicates on insert.
CREATE TABLE records(
  seq         INTEGER PRIMARY KEY,
  event_id    TEXT    NOT NULL UNIQUE,
  kind        TEXT    NOT NULL CHECK (kind IN ('e', 'q')),
  priority    INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 2),
  received_at INTEGER NOT NULL,
  bytes       INTEGER NOT NULL,
  payload     BLOB    NOT NULL
);
-- Deliberately no index on priority or received_at: each index costs as much as the row insert
-- itself. Eviction and expiry scan by seq from per-class cursors kept in memory (docs/outbox.md).

CREATE TABLE batches(
  batch_seq  INTEGER PRIMARY KEY,
  first_seq  INTEGER NOT NULL,
  last_seq   INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);

-- The last local_quarantine_rows quarantine records, kept for operators after forwarding.
CREATE TABLE quarantine_local(
  id          INTEGER PRIMARY KEY,
  seq         INTEGER NOT NULL,
  event_id    TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  payload     BLOB    NOT NULL
);
)sql"},
};

static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kOutboxSchemaVersion,
              "one migration per schema version");

Status apply_pragmas(SqliteDb& db, const OutboxConnectionSettings& settings) {
  db.set_busy_timeout(settings.busy_timeout_ms);
  std::string sql = "PRAGMA synchronous=";
  sql += settings.synchronous_full ? "FULL" : "NORMAL";
  sql += ";PRAGMA journal_size_limit=" + std::to_string(settings.journal_size_limit_bytes);
  sql += ";PRAGMA wal_autocheckpoint=" + std::to_string(settings.wal_autocheckpoint_pages);
  sql += ";PRAGMA cache_size=-" + std::to_string(settings.cache_kib);
  sql += ";PRAGMA temp_store=MEMORY";
  if (auto s = db.exec(sql); !s.ok()) return s;
  if (settings.max_file_bytes > 0) {
    auto page_size = db.query_int64("PRAGMA page_size");
    if (!page_size.ok()) return page_size.error();
    const std::int64_t pages = std::max<std::int64_t>(1, settings.max_file_bytes / *page_size);
    return db.exec("PRAGMA max_page_count=" + std::to_string(pages));
  }
  return ok_status();
}

}  // namespace

Result<SchemaOutcome> prepare_outbox_schema(SqliteDb& db, const OutboxConnectionSettings& settings,
                                            const ClockPtr& clock) {
  db.set_busy_timeout(settings.busy_timeout_ms);
  // The first read of the file: a file that is not a database fails here with kDataLoss.
  auto version = db.query_int64("PRAGMA user_version");
  if (!version.ok()) return version.error();
  SchemaOutcome outcome;
  outcome.from_version = static_cast<int>(*version);
  if (*version > kOutboxSchemaVersion) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "outbox database " + db.path() + " has schema version " +
                          std::to_string(*version) + ", newer than version " +
                          std::to_string(kOutboxSchemaVersion) +
                          " supported by this build (was it written by a newer agent?)");
  }
  if (*version == 0) {
    auto objects = db.query_int64("SELECT count(*) FROM sqlite_schema");
    if (!objects.ok()) return objects.error();
    if (*objects != 0) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "database " + db.path() + " has tables but no outbox schema version");
    }
    outcome.created = true;
    // Must precede the first table: it cannot be changed later without a full VACUUM.
    if (auto s = db.exec("PRAGMA auto_vacuum=INCREMENTAL"); !s.ok()) return s.error();
  }
  auto mode = db.query_text("PRAGMA journal_mode=WAL");
  if (!mode.ok()) return mode.error();
  if (*mode != "wal") {
    return make_error(
        ErrorCode::kFailedPrecondition,
        "outbox database " + db.path() + ": cannot enable WAL (journal_mode=" + *mode + ")");
  }
  if (auto s = apply_pragmas(db, settings); !s.ok()) return s.error();
  auto vacuum_mode = db.query_int64("PRAGMA auto_vacuum");
  if (!vacuum_mode.ok()) return vacuum_mode.error();
  outcome.incremental_vacuum = *vacuum_mode == 2;

  if (*version == kOutboxSchemaVersion) return outcome;

  if (auto s = db.exec("BEGIN IMMEDIATE"); !s.ok()) return s.error();
  auto fail = [&db](Error error) {
    db.rollback_quietly();
    return error;
  };
  for (const Migration& migration : kMigrations) {
    if (migration.to_version <= *version) continue;
    if (auto s = db.exec(migration.sql); !s.ok()) return fail(s.error());
    const std::string bump = "PRAGMA user_version=" + std::to_string(migration.to_version);
    if (auto s = db.exec(bump); !s.ok()) return fail(s.error());
  }
  if (outcome.created) {
    // A new database is a new stream: the collector restarts its batch_seq tracking for it.
    const std::string stream_id = UuidV7Generator(clock).next().to_string();
    const std::string now = std::to_string(clock->now_unix_ms());
    const std::string sql = "INSERT INTO meta(key, value) VALUES ('stream_id', '" + stream_id +
                            "'), ('created_at', " + now + ")";
    if (auto s = db.exec(sql); !s.ok()) return fail(s.error());
  }
  if (auto s = db.exec("COMMIT"); !s.ok()) return fail(s.error());
  if (!outcome.created) {
    logger.info("outbox schema migrated", {{"path", db.path()},
                                           {"from_version", outcome.from_version},
                                           {"to_version", kOutboxSchemaVersion}});
  }
  return outcome;
}

}  // namespace aisle::agent
