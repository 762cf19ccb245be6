#include "collector/store/sqlite_db.hpp"

#include <sqlite3.h>

#include <cstdio>

#include <utility>

#include "common/sqlite_startup_check.hpp"

namespace aisle::collector {

Error sqlite_error(int rc, std::string_view what, std::string_view detail) {
  ErrorCode code = ErrorCode::kIo;
  switch (rc & 0xFF) {  // primary code of an extended result code
    case SQLITE_FULL: code = ErrorCode::kResourceExhausted; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = ErrorCode::kUnavailable; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = ErrorCode::kDataLoss; break;
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
  // A null data pointer would bind NULL; "" keeps an empty string a string.
  const char* data = value.empty() ? "" : value.data();
  sqlite3_bind_text(stmt_, index, data, static_cast<int>(value.size()), SQLITE_STATIC);
}

void SqliteStatement::bind_blob(int index, const void* data, std::size_t size) {
  sqlite3_bind_blob(stmt_, index, size == 0 ? "" : data, static_cast<int>(size), SQLITE_STATIC);
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
  sqlite3_clear_bindings(stmt_);
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

const char* SqliteStatement::sql() const {
  return stmt_ ? sqlite3_sql(stmt_) : "";
}

// --- SqliteDb ---

namespace {

int call_wal_hook(void* hook, sqlite3* /*db*/, const char* /*schema*/, int frames) {
  (*static_cast<std::function<void(int)>*>(hook))(frames);
  return SQLITE_OK;
}

}  // namespace

SqliteDb::SqliteDb() = default;

SqliteDb::~SqliteDb() {
  statements_.clear();
  sqlite3_close_v2(db_);
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      wal_hook_(std::move(other.wal_hook_)),
      statements_(std::move(other.statements_)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    statements_.clear();
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    wal_hook_ = std::move(other.wal_hook_);
    statements_ = std::move(other.statements_);
  }
  return *this;
}

Result<SqliteDb> SqliteDb::open(const std::string& path) {
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

Result<SqliteStatement*> SqliteDb::cached(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    auto stmt = prepare(sql);
    if (!stmt.ok()) return stmt.error();
    it = statements_.emplace(sql, std::move(*stmt)).first;
  }
  return &it->second;
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

void SqliteDb::set_wal_hook(std::function<void(int wal_frames)> hook) {
  wal_hook_ = std::make_unique<std::function<void(int)>>(std::move(hook));
  sqlite3_wal_hook(db_, &call_wal_hook, wal_hook_.get());
}

Status SqliteDb::checkpoint_passive() {
  const int rc =
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, "wal checkpoint");
  return ok_status();
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

// --- SqliteReadPool ---

SqliteReadPool::SqliteReadPool(std::vector<SqliteDb> connections) {
  for (auto& db : connections) {
    connections_.push_back(std::make_unique<SqliteDb>(std::move(db)));
    free_.push_back(connections_.back().get());
  }
}

SqliteReadPool::Lease SqliteReadPool::acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [this] { return !free_.empty(); });
  SqliteDb* db = free_.back();
  free_.pop_back();
  return Lease(*this, db);
}

void SqliteReadPool::release(SqliteDb* db) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(db);
  }
  available_.notify_one();
}

Result<SqliteDb> open_wal_writer(const std::string& path, const WalWriterSettings& settings) {
  auto db = SqliteDb::open(path);
  if (!db) return db.error();
  db->set_busy_timeout(settings.busy_timeout_ms);
  if (auto s = db->startup_check(settings.startup_check); !s) return s.error();
  auto mode = db->query_text("PRAGMA journal_mode = WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") {
    return make_error(ErrorCode::kFailedPrecondition,
                      "cannot put " + path + " in WAL mode (journal_mode " + *mode + ")");
  }
  const std::string pragmas =
      std::string("PRAGMA synchronous = ") + (settings.synchronous_full ? "FULL" : "NORMAL") +
      "; PRAGMA journal_size_limit = " + std::to_string(settings.journal_size_limit_bytes) +
      "; PRAGMA cache_size = -" + std::to_string(settings.cache_kib) +
      "; PRAGMA temp_store = MEMORY;";
  if (auto status = db->exec(pragmas); !status) return status.error();
  return db;
}

namespace {

std::string hex(std::int64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

// Reads the version and checks that this build may use (and upgrade) the database.
Status check_schema_version(SqliteDb& db, const SchemaMigrations& schema, std::int64_t& version) {
  auto application_id = db.query_int64("PRAGMA application_id");
  if (!application_id) return application_id.error();
  auto user_version = db.query_int64("PRAGMA user_version");
  if (!user_version) return user_version.error();
  version = *user_version;
  if (*application_id != 0 && *application_id != schema.application_id) {
    return make_error(ErrorCode::kFailedPrecondition,
                      db.path() + " is not an Aisle " + std::string(schema.kind) +
                          " (application_id " + hex(*application_id) + ")");
  }
  if (version > schema.count) {
    return make_error(ErrorCode::kFailedPrecondition,
                      std::string(schema.version_label) + " schema version " +
                          std::to_string(version) + " is newer than this build supports (version " +
                          std::to_string(schema.count) +
                          "): upgrade aisle-collector or restore a backup");
  }
  if (version == 0) {
    // A new file has no tables; tables without our version are someone else's database.
    auto tables = db.query_int64("SELECT count(*) FROM sqlite_schema");
    if (!tables) return tables.error();
    if (*tables != 0) {
      return make_error(ErrorCode::kFailedPrecondition,
                        db.path() + " holds tables but no Aisle schema version");
    }
  }
  return ok_status();
}

}  // namespace

Status migrate_schema(SqliteDb& db, const SchemaMigrations& schema) {
  if (auto status = db.exec("BEGIN IMMEDIATE"); !status) return status;
  std::int64_t version = 0;
  Status status = check_schema_version(db, schema, version);
  // DDL is transactional in SQLite: one transaction for the check and all steps.
  for (int v = static_cast<int>(version); status && v < schema.count; ++v) {
    status = db.exec(schema.steps[v]);
    if (status) {
      status = db.exec("PRAGMA user_version = " + std::to_string(v + 1) +
                       "; PRAGMA application_id = " + std::to_string(schema.application_id) +
                       ";");
    }
  }
  if (status) status = db.exec("COMMIT");
  if (!status) db.rollback_quietly();
  return status;
}

}  // namespace aisle::collector
