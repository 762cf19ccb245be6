#include "collector/segments/notify/webhook_store.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE webhooks (
  id         TEXT    NOT NULL PRIMARY KEY,
  url        TEXT    NOT NULL,
  secret     TEXT    NOT NULL,
  segments   TEXT    NOT NULL,  -- JSON array of segment ids; [] = all segments
  enabled    INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id      TEXT    NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  change_id       TEXT    NOT NULL,
  event_type      TEXT    NOT NULL,
  body            TEXT    NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  last_error      TEXT    NOT NULL DEFAULT '',
  UNIQUE (webhook_id, change_id)
);
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
CREATE TABLE dead_letters (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id  TEXT    NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  change_id   TEXT    NOT NULL,
  event_type  TEXT    NOT NULL,
  body        TEXT    NOT NULL,
  attempts    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  failed_at   INTEGER NOT NULL,
  last_error  TEXT    NOT NULL
);
CREATE INDEX dead_letters_by_webhook ON dead_letters (webhook_id, id);
)sql";
constexpr const char* const kSteps[] = {kSchemaV1};

std::string segments_text(const std::vector<std::string>& segments) {
  return json(segments).dump();
}

std::vector<std::string> segments_of(std::string_view text) {
  std::vector<std::string> out;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& s : j) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

// Runs `body` in a transaction; rolls back when it fails.
template <typename F>
Status in_transaction(SqliteDb& db, F&& body) {
  if (auto s = db.exec("BEGIN IMMEDIATE"); !s) return s;
  if (auto s = body(); !s) {
    db.rollback_quietly();
    return s;
  }
  if (auto s = db.exec("COMMIT"); !s) {
    db.rollback_quietly();
    return s;
  }
  return ok_status();
}

}  // namespace

bool Webhook::wants(const std::string& segment_id) const {
  return segments.empty() || std::find(segments.begin(), segments.end(), segment_id) !=
                                 segments.end();
}

Result<std::unique_ptr<WebhookStore>> WebhookStore::open(const WebhookStoreOptions& options) {
  WalWriterSettings settings;
  settings.synchronous_full = options.synchronous_full;
  settings.cache_kib = 2048;
  auto db = open_wal_writer(options.path, settings);
  if (!db) return db.error();
  if (auto s = db->exec("PRAGMA foreign_keys=ON"); !s) return s.error();
  SchemaMigrations schema{kWebhookStoreApplicationId, kSteps, 1, "webhook database", "webhook"};
  if (auto s = migrate_schema(*db, schema); !s) return s.error();
  return std::unique_ptr<WebhookStore>(new WebhookStore(std::move(*db)));
}

Status WebhookStore::add(const Webhook& w) {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached(
      "INSERT INTO webhooks (id, url, secret, segments, enabled, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  const std::string segments = segments_text(w.segments);
  ResetGuard guard(**st);
  (*st)->bind_text(1, w.id);
  (*st)->bind_text(2, w.url);
  (*st)->bind_text(3, w.secret);
  (*st)->bind_text(4, segments);
  (*st)->bind_int64(5, w.enabled ? 1 : 0);
  (*st)->bind_int64(6, w.created_at);
  return (*st)->run();
}

Result<std::vector<Webhook>> WebhookStore::select_webhooks(const std::string& where_id) {
  auto st = db_.cached(where_id.empty()
                           ? "SELECT id, url, secret, segments, enabled, created_at FROM webhooks "
                             "ORDER BY created_at, id"
                           : "SELECT id, url, secret, segments, enabled, created_at FROM webhooks "
                             "WHERE id = ?");
  if (!st) return st.error();
  ResetGuard guard(**st);
  if (!where_id.empty()) (*st)->bind_text(1, where_id);
  std::vector<Webhook> out;
  while (true) {
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) break;
    Webhook w;
    w.id = std::string((*st)->column_text(0));
    w.url = std::string((*st)->column_text(1));
    w.secret = std::string((*st)->column_text(2));
    w.segments = segments_of((*st)->column_text(3));
    w.enabled = (*st)->column_int64(4) != 0;
    w.created_at = (*st)->column_int64(5);
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::vector<Webhook>> WebhookStore::list() {
  const std::lock_guard lock(mutex_);
  return select_webhooks("");
}

Result<std::optional<Webhook>> WebhookStore::get(const std::string& id) {
  const std::lock_guard lock(mutex_);
  auto found = select_webhooks(id.empty() ? std::string(" ") : id);
  if (!found) return found.error();
  if (found->empty()) return std::optional<Webhook>();
  return std::optional<Webhook>(std::move(found->front()));
}

Result<bool> WebhookStore::remove(const std::string& id) {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached("DELETE FROM webhooks WHERE id = ?");  // cascades to deliveries
  if (!st) return st.error();
  ResetGuard guard(**st);
  (*st)->bind_text(1, id);
  if (auto s = (*st)->run(); !s) return s.error();
  return db_.changes() > 0;
}

Result<std::size_t> WebhookStore::enqueue(const std::vector<Delivery>& deliveries) {
  if (deliveries.empty()) return std::size_t{0};
  const std::lock_guard lock(mutex_);
  std::size_t added = 0;
  auto status = in_transaction(db_, [&]() -> Status {
    auto st = db_.cached(
        "INSERT OR IGNORE INTO deliveries (webhook_id, change_id, event_type, body, attempts, "
        "next_attempt_at, created_at) SELECT ?, ?, ?, ?, 0, ?, ? "
        "WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?1)");
    if (!st) return st.error();
    for (const auto& d : deliveries) {
      ResetGuard guard(**st);
      (*st)->bind_text(1, d.webhook_id);
      (*st)->bind_text(2, d.change_id);
      (*st)->bind_text(3, d.event_type);
      (*st)->bind_text(4, d.body);
      (*st)->bind_int64(5, d.next_attempt_at);
      (*st)->bind_int64(6, d.created_at);
      if (auto s = (*st)->run(); !s) return s;
      added += static_cast<std::size_t>(db_.changes());
    }
    return ok_status();
  });
  if (!status) return status.error();
  return added;
}

Result<std::vector<Delivery>> WebhookStore::due_heads(UnixMillis now, std::size_t limit) {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached(
      "SELECT d.id, d.webhook_id, d.change_id, d.event_type, d.body, d.attempts, "
      "d.next_attempt_at, d.created_at, d.last_error FROM deliveries d "
      "JOIN webhooks w ON w.id = d.webhook_id AND w.enabled = 1 "
      "WHERE d.id = (SELECT min(id) FROM deliveries WHERE webhook_id = d.webhook_id) "
      "AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?");
  if (!st) return st.error();
  ResetGuard guard(**st);
  (*st)->bind_int64(1, now);
  (*st)->bind_int64(2, static_cast<std::int64_t>(limit));
  std::vector<Delivery> out;
  while (true) {
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) break;
    Delivery d;
    d.id = (*st)->column_int64(0);
    d.webhook_id = std::string((*st)->column_text(1));
    d.change_id = std::string((*st)->column_text(2));
    d.event_type = std::string((*st)->column_text(3));
    d.body = std::string((*st)->column_text(4));
    d.attempts = static_cast<int>((*st)->column_int64(5));
    d.next_attempt_at = (*st)->column_int64(6);
    d.created_at = (*st)->column_int64(7);
    d.last_error = std::string((*st)->column_text(8));
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::optional<UnixMillis>> WebhookStore::next_due() {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached("SELECT min(next_attempt_at), count(*) FROM deliveries");
  if (!st) return st.error();
  ResetGuard guard(**st);
  auto row = (*st)->step();
  if (!row) return row.error();
  if (!*row || (*st)->column_int64(1) == 0) return std::optional<UnixMillis>();
  return std::optional<UnixMillis>((*st)->column_int64(0));
}

Status WebhookStore::mark_delivered(std::int64_t delivery_id) {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached("DELETE FROM deliveries WHERE id = ?");
  if (!st) return st.error();
  ResetGuard guard(**st);
  (*st)->bind_int64(1, delivery_id);
  return (*st)->run();
}

Status WebhookStore::reschedule(std::int64_t delivery_id, int attempts, UnixMillis next_attempt_at,
                                const std::string& error) {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached(
      "UPDATE deliveries SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?");
  if (!st) return st.error();
  ResetGuard guard(**st);
  (*st)->bind_int64(1, attempts);
  (*st)->bind_int64(2, next_attempt_at);
  (*st)->bind_text(3, error);
  (*st)->bind_int64(4, delivery_id);
  return (*st)->run();
}

Status WebhookStore::dead_letter(std::int64_t delivery_id, int attempts, UnixMillis failed_at,
                                 const std::string& error) {
  const std::lock_guard lock(mutex_);
  return in_transaction(db_, [&]() -> Status {
    auto move = db_.cached(
        "INSERT INTO dead_letters (webhook_id, change_id, event_type, body, attempts, "
        "created_at, failed_at, last_error) SELECT webhook_id, change_id, event_type, body, ?, "
        "created_at, ?, ? FROM deliveries WHERE id = ?");
    if (!move) return move.error();
    {
      ResetGuard guard(**move);
      (*move)->bind_int64(1, attempts);
      (*move)->bind_int64(2, failed_at);
      (*move)->bind_text(3, error);
      (*move)->bind_int64(4, delivery_id);
      if (auto s = (*move)->run(); !s) return s;
    }
    auto del = db_.cached("DELETE FROM deliveries WHERE id = ?");
    if (!del) return del.error();
    ResetGuard guard(**del);
    (*del)->bind_int64(1, delivery_id);
    return (*del)->run();
  });
}

Status WebhookStore::add_dead_letter(const DeadLetter& l) {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached(
      "INSERT INTO dead_letters (webhook_id, change_id, event_type, body, attempts, created_at, "
      "failed_at, last_error) SELECT ?, ?, ?, ?, ?, ?, ?, ? "
      "WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?1)");
  if (!st) return st.error();
  ResetGuard guard(**st);
  (*st)->bind_text(1, l.webhook_id);
  (*st)->bind_text(2, l.change_id);
  (*st)->bind_text(3, l.event_type);
  (*st)->bind_text(4, l.body);
  (*st)->bind_int64(5, l.attempts);
  (*st)->bind_int64(6, l.created_at);
  (*st)->bind_int64(7, l.failed_at);
  (*st)->bind_text(8, l.last_error);
  return (*st)->run();
}

Result<std::vector<DeadLetter>> WebhookStore::dead_letters(const std::string& webhook_id,
                                                           std::size_t limit) {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached(
      "SELECT id, webhook_id, change_id, event_type, body, attempts, created_at, failed_at, "
      "last_error FROM dead_letters WHERE webhook_id = ? ORDER BY id LIMIT ?");
  if (!st) return st.error();
  ResetGuard guard(**st);
  (*st)->bind_text(1, webhook_id);
  (*st)->bind_int64(2, static_cast<std::int64_t>(limit));
  std::vector<DeadLetter> out;
  while (true) {
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) break;
    DeadLetter l;
    l.id = (*st)->column_int64(0);
    l.webhook_id = std::string((*st)->column_text(1));
    l.change_id = std::string((*st)->column_text(2));
    l.event_type = std::string((*st)->column_text(3));
    l.body = std::string((*st)->column_text(4));
    l.attempts = static_cast<int>((*st)->column_int64(5));
    l.created_at = (*st)->column_int64(6);
    l.failed_at = (*st)->column_int64(7);
    l.last_error = std::string((*st)->column_text(8));
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::size_t> WebhookStore::redeliver(const std::string& webhook_id, UnixMillis now) {
  const std::lock_guard lock(mutex_);
  std::size_t moved = 0;
  auto status = in_transaction(db_, [&]() -> Status {
    // A change already pending again (redelivered twice) keeps its pending copy.
    auto copy = db_.cached(
        "INSERT OR IGNORE INTO deliveries (webhook_id, change_id, event_type, body, attempts, "
        "next_attempt_at, created_at) SELECT webhook_id, change_id, event_type, body, 0, ?, "
        "created_at FROM dead_letters WHERE webhook_id = ? ORDER BY id");
    if (!copy) return copy.error();
    {
      ResetGuard guard(**copy);
      (*copy)->bind_int64(1, now);
      (*copy)->bind_text(2, webhook_id);
      if (auto s = (*copy)->run(); !s) return s;
      moved = static_cast<std::size_t>(db_.changes());
    }
    auto del = db_.cached("DELETE FROM dead_letters WHERE webhook_id = ?");
    if (!del) return del.error();
    ResetGuard guard(**del);
    (*del)->bind_text(1, webhook_id);
    return (*del)->run();
  });
  if (!status) return status.error();
  return moved;
}

Result<std::int64_t> WebhookStore::pending_count() {
  const std::lock_guard lock(mutex_);
  return db_.query_int64("SELECT count(*) FROM deliveries");
}

Result<std::int64_t> WebhookStore::dead_letter_count() {
  const std::lock_guard lock(mutex_);
  return db_.query_int64("SELECT count(*) FROM dead_letters");
}

}  // namespace aisle::collector::segments
