#include "tests/support/collector_db.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <functional>

namespace aisle::test {
namespace {

class Db {
 public:
  ~Db() {
    if (db_) sqlite3_close_v2(db_);
  }
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  ~Stmt() {
    if (stmt_) sqlite3_finalize(stmt_);
  }
  sqlite3_stmt* stmt_ = nullptr;
};

std::string text_column(sqlite3_stmt* stmt, int column) {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  const int size = sqlite3_column_bytes(stmt, column);
  return data ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string uuid_text(const void* bytes, int size) {
  static const char kHex[] = "0123456789abcdef";
  const auto* b = static_cast<const unsigned char*>(bytes);
  std::string out;
  for (int i = 0; i < size; ++i) {
    if (size == 16 && (i == 4 || i == 6 || i == 8 || i == 10)) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

Status query(sqlite3* db, const char* sql, const std::function<void(sqlite3_stmt*)>& row) {
  Stmt stmt;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt.stmt_, nullptr);
  if (rc != SQLITE_OK) {
    return make_error(ErrorCode::kIo, std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  while ((rc = sqlite3_step(stmt.stmt_)) == SQLITE_ROW) row(stmt.stmt_);
  if (rc != SQLITE_DONE) {
    return make_error(ErrorCode::kIo, std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  return ok_status();
}

}  // namespace

Result<CollectorDbSnapshot> read_collector_db(const std::string& path) {
  Db db;
  if (sqlite3_open_v2(path.c_str(), &db.db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return make_error(ErrorCode::kIo, "cannot open " + path + ": " +
                                          (db.db_ ? sqlite3_errmsg(db.db_) : "out of memory"));
  }
  sqlite3_busy_timeout(db.db_, 10000);
  CollectorDbSnapshot snapshot;
  if (auto s = query(db.db_, "BEGIN", [](sqlite3_stmt*) {}); !s) return s.error();
  auto status = query(
      db.db_, "SELECT event_id, type, store_id, agent_id, channel FROM events ORDER BY row_id",
      [&](sqlite3_stmt* stmt) {
        StoredEventRow row;
        row.event_id = uuid_text(sqlite3_column_blob(stmt, 0), sqlite3_column_bytes(stmt, 0));
        row.type = text_column(stmt, 1);
        row.store_id = text_column(stmt, 2);
        row.agent_id = text_column(stmt, 3);
        row.channel = text_column(stmt, 4);
        snapshot.events.push_back(std::move(row));
      });
  if (!status) return status.error();
  status = query(db.db_,
                 "SELECT id, reason, errors, raw, store_id, agent_id, origin, replayed_at "
                 "FROM quarantine ORDER BY id",
                 [&](sqlite3_stmt* stmt) {
                   QuarantineRow row;
                   row.id = sqlite3_column_int64(stmt, 0);
                   row.reason = text_column(stmt, 1);
                   row.errors = text_column(stmt, 2);
                   row.raw = text_column(stmt, 3);
                   row.store_id = text_column(stmt, 4);
                   row.agent_id = text_column(stmt, 5);
                   row.origin = text_column(stmt, 6);
                   row.replayed_at = sqlite3_column_int64(stmt, 7);
                   snapshot.quarantine.push_back(std::move(row));
                 });
  if (!status) return status.error();
  status =
      query(db.db_, "SELECT value FROM counters WHERE name = 'events'",
            [&](sqlite3_stmt* stmt) { snapshot.events_counter = sqlite3_column_int64(stmt, 0); });
  if (!status) return status.error();
  status = query(db.db_, "SELECT count(*) FROM receipts",
                 [&](sqlite3_stmt* stmt) { snapshot.receipts = sqlite3_column_int64(stmt, 0); });
  if (!status) return status.error();
  (void)query(db.db_, "COMMIT", [](sqlite3_stmt*) {});
  return snapshot;
}

Status CollectorDbWriteLock::acquire(const std::string& path) {
  release();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    const std::string error = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return make_error(ErrorCode::kIo, "cannot open " + path + ": " + error);
  }
  sqlite3_busy_timeout(db, 10000);
  char* error = nullptr;
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "BEGIN IMMEDIATE failed";
    sqlite3_free(error);
    sqlite3_close_v2(db);
    return make_error(ErrorCode::kUnavailable, path + ": " + message);
  }
  db_ = db;
  return ok_status();
}

void CollectorDbWriteLock::release() {
  if (!db_) return;
  auto* db = static_cast<sqlite3*>(db_);
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close_v2(db);
  db_ = nullptr;
}

std::vector<std::string> event_ids(const std::vector<StoredEventRow>& rows,
                                   const std::vector<std::string>& stores) {
  std::vector<std::string> ids;
  ids.reserve(rows.size());
  for (const auto& row : rows) {
    if (stores.empty() || std::find(stores.begin(), stores.end(), row.store_id) != stores.end()) {
      ids.push_back(row.event_id);
    }
  }
  return ids;
}

}  // namespace aisle::test
