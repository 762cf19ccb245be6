// SqliteDb / SqliteStatement / SqliteReadPool: a thin RAII layer over the sqlite3 C API, so that
// sqlite3 types and return codes stay inside collector/store/sqlite_*.cpp and every failure
// becomes an aisle::Error. (The agent has its own copy in agent/outbox/: the agent and the
// collector never include each other.)
//
// SqliteDb and SqliteStatement are not thread-safe: connections are opened in SQLite's
// multi-thread mode (no internal mutex) and the owner serializes each connection's use
// (SqliteEventStore: the writer mutex, or exclusive use of a connection leased from the pool).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/corrupt_store.hpp"
#include "common/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace aisle::collector {

// Maps an SQLite result code to an aisle error: SQLITE_FULL -> kResourceExhausted,
// SQLITE_BUSY/LOCKED -> kUnavailable, SQLITE_CORRUPT/NOTADB -> kDataLoss, everything else
// (I/O, open, SQL and misuse errors) -> kIo. `what` says which operation failed.
Error sqlite_error(int rc, std::string_view what, std::string_view detail = {});

// A prepared statement. Bound text/blob values are NOT copied (SQLITE_STATIC): they must outlive
// the step() calls. The store binds straight from the caller's request, which keeps commit cheap.
class SqliteStatement {
 public:
  SqliteStatement() = default;
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are 1-based, as in SQL.
  void bind_int64(int index, std::int64_t value);
  void bind_text(int index, std::string_view value);
  void bind_blob(int index, const void* data, std::size_t size);

  // True when a row is available, false when the statement is done.
  Result<bool> step();
  // Steps a statement that returns no rows to completion, then resets it.
  Status run();
  // Resets for the next execution and clears the bindings. A statement left unreset keeps its
  // read snapshot open (and would pin the WAL), so every use ends with a reset (ResetGuard).
  void reset();

  // Columns are 0-based. Views stay valid until the next step()/reset().
  std::int64_t column_int64(int index) const;
  std::string_view column_text(int index) const;
  std::string_view column_blob(int index) const;

  const char* sql() const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends (early returns included).
class ResetGuard {
 public:
  explicit ResetGuard(SqliteStatement& statement) : statement_(statement) {}
  ~ResetGuard() { statement_.reset(); }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;

 private:
  SqliteStatement& statement_;
};

class SqliteDb {
 public:
  SqliteDb();
  ~SqliteDb();
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Opens (creating when missing) the database file. Nothing is read yet: a file that is not a
  // database is only detected by the first statement (kDataLoss).
  static Result<SqliteDb> open(const std::string& path);

  // Runs one or more statements without results (schema, pragmas, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  // Prepares a statement owned by the caller.
  Result<SqliteStatement> prepare(std::string_view sql);
  // Prepares `sql` once per connection and returns the cached statement (the pointer stays
  // valid for the connection's life). The caller resets it after use (ResetGuard).
  Result<SqliteStatement*> cached(const std::string& sql);
  // Runs a statement returning a single integer (PRAGMA user_version, count(*)); 0 when no row.
  Result<std::int64_t> query_int64(std::string_view sql);
  // Runs a statement returning a single text value (PRAGMA journal_mode); "" when no row.
  Result<std::string> query_text(std::string_view sql);

  void set_busy_timeout(int milliseconds);
  // PRAGMA quick_check: reads every page and checks the b-tree structure (not index contents).
  // kDataLoss with SQLite's first findings when the file is damaged. O(file size).
  Status quick_check();
  // What StartupCheck asks for: kHeader reads the header (a file that is not a database fails)
  // and compares the page count with the file size (truncation); kQuick adds quick_check().
  Status startup_check(StartupCheck check);
  // Called after every commit of this connection with the number of frames in the WAL (a
  // sqlite3_wal_hook); replaces SQLite's automatic checkpoint, so the caller checkpoints.
  void set_wal_hook(std::function<void(int wal_frames)> hook);
  // PRAGMA wal_checkpoint(PASSIVE) without blocking readers or the writer: copies what it can.
  Status checkpoint_passive();

  // Rows changed by the most recent INSERT/UPDATE/DELETE.
  std::int64_t changes() const;
  // False outside an explicit transaction (autocommit), also after SQLite rolled one back on its
  // own after an I/O error.
  bool in_transaction() const;
  // Rolls back when a transaction is open; used on every failure path so nothing is half-stored.
  void rollback_quietly();

  // The error for a failure of this connection (adds sqlite3_errmsg).
  Error error(int rc, std::string_view what) const;
  const std::string& path() const { return path_; }

 private:
  // The destructor finalizes the cached statements before closing. The hook lives on the heap
  // so its address (given to SQLite) survives moves.
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unique_ptr<std::function<void(int)>> wal_hook_;
  std::map<std::string, SqliteStatement, std::less<>> statements_;
};

// A versioned schema (PRAGMA user_version, forward migrations, PRAGMA application_id marking the
// file as ours).
struct SchemaMigrations {
  std::int64_t application_id = 0;
  const char* const* steps = nullptr;  // steps[v] migrates version v to v + 1
  int count = 0;                            // = the current version
  std::string_view kind;                    // "collector database": "is not an Aisle <kind>"
  std::string_view version_label;           // "database": "<label> schema version 3 is newer"
};
// Checks and upgrades the schema in one transaction, so two processes cannot race: refuses
// another application's file, tables without a version, and a version newer than `count`
// (kFailedPrecondition, saying what to do).
Status migrate_schema(SqliteDb& db, const SchemaMigrations& schema);

// How a collector database's one writer connection is set up (event store, profiles, erasures).
struct WalWriterSettings {
  bool synchronous_full = true;  // FULL: fsync per commit; NORMAL: may lose the last commits
  std::int64_t journal_size_limit_bytes = 64LL * 1024 * 1024;  // WAL kept after a checkpoint
  int cache_kib = 32 * 1024;
  int busy_timeout_ms = 5000;
  // Run before anything else reads or writes the file (docs/storage.md, damaged files). kHeader
  // by default: quick_check reads the whole file, minutes for a large event store.
  StartupCheck startup_check = StartupCheck::kHeader;
};
// Opens `path` as a WAL database's writer: busy timeout, journal_mode WAL (kFailedPrecondition
// naming the mode SQLite kept otherwise), synchronous, journal size limit, cache, temp store in
// memory. The first statement reads the header, so a file that is not a database fails here.
Result<SqliteDb> open_wal_writer(const std::string& path, const WalWriterSettings& settings);

// Read connections handed out one caller at a time, so HTTP threads query in parallel with each
// other and with the writer (WAL readers see the last committed snapshot and never block it).
class SqliteReadPool {
 public:
  SqliteReadPool() = default;
  explicit SqliteReadPool(std::vector<SqliteDb> connections);

  // Exclusive use of one connection until the lease is destroyed; waits while all are in use.
  class Lease {
   public:
    Lease(SqliteReadPool& pool, SqliteDb* db) : pool_(pool), db_(db) {}
    ~Lease() { pool_.release(db_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    SqliteDb& db() { return *db_; }

   private:
    SqliteReadPool& pool_;
    SqliteDb* db_;
  };
  Lease acquire();

 private:
  void release(SqliteDb* db);

  std::vector<std::unique_ptr<SqliteDb>> connections_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<SqliteDb*> free_;
};

}  // namespace aisle::collector
