// SqliteDb / SqliteStatement: a thin RAII layer over the sqlite3 C API, so that sqlite3 types and
// return codes stay inside agent/outbox/sqlite_*.cpp and every failure becomes an aisle::Error.
//
// Neither class is thread-safe: the owner serializes access (SqliteOutbox holds its DB mutex
// around every use). The connection is opened in SQLite's multi-thread mode (no internal mutex).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/corrupt_store.hpp"
#include "common/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace aisle::agent {

// Maps an SQLite result code to an aisle error: SQLITE_FULL -> kResourceExhausted,
// SQLITE_CORRUPT/NOTADB -> kDataLoss, SQLITE_BUSY/LOCKED -> kUnavailable, I/O and open failures
// -> kIo, everything else (SQL errors, misuse) -> kInternal. `what` says which operation failed.
Error sqlite_error(int rc, std::string_view what, std::string_view detail = {});

// A prepared statement. Bound text/blob values are NOT copied: they must outlive the step() calls
// (the outbox binds straight from the caller's records, which is what keeps append cheap).
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
  void bind_blob(int index, std::string_view value);

  // True when a row is available, false when the statement is done.
  Result<bool> step();
  // Steps a statement that returns no rows (or ignores them) to completion, then resets it.
  Status run();
  // Resets for the next execution and releases the statement's read transaction, so every use
  // ends with a reset (see ResetGuard). Bindings are kept, not cleared (a cost on the hot path):
  // every use binds all parameters again.
  void reset();

  // Columns are 0-based. Views stay valid until the next step()/reset().
  std::int64_t column_int64(int index) const;
  std::string_view column_text(int index) const;
  std::string_view column_blob(int index) const;
  bool column_is_null(int index) const;

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
  SqliteDb() = default;
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
  Result<SqliteStatement> prepare(std::string_view sql);
  // Runs a statement returning a single integer (PRAGMA user_version, count(*)); 0 when no row.
  Result<std::int64_t> query_int64(std::string_view sql);
  // Runs a statement returning a single text value (PRAGMA journal_mode); "" when no row.
  Result<std::string> query_text(std::string_view sql);

  void set_busy_timeout(int milliseconds);
  // PRAGMA quick_check: reads every page of the file and checks its b-tree structure (not the
  // index contents). kDataLoss with SQLite's first findings when the file is damaged or not a
  // database. O(file size): run at open only.
  Status quick_check();
  // What StartupCheck asks for: kHeader reads the header (a file that is not a database fails)
  // and compares the page count with the file size (truncation); kQuick adds quick_check().
  Status startup_check(StartupCheck check);
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
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace aisle::agent
