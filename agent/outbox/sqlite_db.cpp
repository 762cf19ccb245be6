#include "agent/outbox/sqlite_db.hpp"

#include <sqlite3.h>

#include <mutex>
#include <utility>

#include "common/sqlite_startup_check.hpp"

namespace aisle::agent {

Error sqlite_error(int rc, std::string_view what, std::string_view detail) {
  ErrorCode code = ErrorCode::kInternal;
  switch (rc & 0xFF) {  // primary code of an extended result code
    case SQLITE_FULL: code = ErrorCode::kResourceExhausted; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = ErrorCode::kDataLoss; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = ErrorCode::kUnavailable; break;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL: code = ErrorCode::kIo; break;
    default: break;
  }
  std::string message(what);
  message += ": ";
  message += sqlite3_errstr(rc);
  if (!detail.empty() && detail != sqlite3_errstr(rc)) {
    message += " (";
    message += detail;
    message += ")";
  }
  return make_error(code, std::move(message));
}

// --- SqliteStatement ---

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(stmt_);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

void SqliteStatement::bind_int64(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

void SqliteStatement::bind_text(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

void SqliteStatement::bind_blob(int index, std::string_view value) {
  // A zero-length blob with a null pointer would bind NULL; "" keeps it a blob.
  const char* data = value.empty() ? "" : value.data();
  sqlite3_bind_blob(stmt_, index, data, static_cast<int>(value.size()), SQLITE_STATIC);
}

Result<bool> SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(rc, sql(), sqlite3_errmsg(db_));
}

Status SqliteStatement::run() {
  ResetGuard guard(*this);
  for (;;) {
    auto row = step();
    if (!row.ok()) return row.error();
    if (!*row) return ok_status();
  }
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
}

std::int64_t SqliteStatement::column_int64(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string_view SqliteStatement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  if (text == nullptr) return {};
  return {text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index))};
}

std::string_view SqliteStatement::column_blob(int index) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, index));
  if (data == nullptr) return {};
  return {data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index))};
}

bool SqliteStatement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

const char* SqliteStatement::sql() const {
  return stmt_ ? sqlite3_sql(stmt_) : "";
}

// --- SqliteDb ---

SqliteDb::~SqliteDb() {
  // close_v2 defers the close until statements still alive are finalized.
  sqlite3_close_v2(db_);
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Result<SqliteDb> SqliteDb::open(const std::string& path) {
  // Memory statistics take a global mutex around every SQLite allocation (~8% of an insert).
  // Only possible before SQLite initializes; later the call fails harmlessly (SQLITE_MISUSE).
  static std::once_flag configure_once;
  std::call_once(configure_once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* handle = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = handle ? sqlite3_errmsg(handle) : "";
    sqlite3_close_v2(handle);
    return sqlite_error(rc, "open " + path, detail);
  }
  sqlite3_extended_result_codes(handle, 1);
  SqliteDb db;
  db.db_ = handle;
  db.path_ = path;
  return db;
}

Status SqliteDb::exec(std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec wants a NUL-terminated string
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return ok_status();
  std::string detail = message ? message : "";
  sqlite3_free(message);
  return sqlite_error(rc, text, detail);
}

Result<SqliteStatement> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return error(rc, "prepare " + std::string(sql));
  return SqliteStatement(db_, stmt);
}

Result<std::int64_t> SqliteDb::query_int64(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt.ok()) return stmt.error();
  auto row = stmt->step();
  if (!row.ok()) return row.error();
  return *row ? stmt->column_int64(0) : 0;
}

Result<std::string> SqliteDb::query_text(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt.ok()) return stmt.error();
  auto row = stmt->step();
  if (!row.ok()) return row.error();
  return *row ? std::string(stmt->column_text(0)) : std::string();
}

void SqliteDb::set_busy_timeout(int milliseconds) {
  sqlite3_busy_timeout(db_, milliseconds);
}

Status SqliteDb::quick_check() { return sqlite_quick_check(*this, path_); }

Status SqliteDb::startup_check(StartupCheck check) {
  return sqlite_startup_check(*this, path_, check);
}

std::int64_t SqliteDb::changes() const {
  return sqlite3_changes64(db_);
}

bool SqliteDb::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

void SqliteDb::rollback_quietly() {
  if (in_transaction()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Error SqliteDb::error(int rc, std::string_view what) const {
  return sqlite_error(rc, what, db_ ? sqlite3_errmsg(db_) : "");
}

}  // namespace aisle::agent
