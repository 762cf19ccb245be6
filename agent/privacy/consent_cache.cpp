#include "agent/privacy/consent_cache.hpp"

#include <mutex>

#include "common/log.hpp"

namespace aisle::agent::privacy {
namespace {

const log::Logger kLog("agent.privacy");

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS consent(
  identity        TEXT PRIMARY KEY,
  analytics       INTEGER NOT NULL,
  personalization INTEGER NOT NULL,
  marketing       INTEGER NOT NULL,
  decided_at      INTEGER NOT NULL,
  version         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta(
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(key, value) VALUES ('version', 0);
)sql";

ConsentState state_of(std::int64_t value) {
  switch (value) {
    case 1: return ConsentState::kGranted;
    case 2: return ConsentState::kDenied;
    default: return ConsentState::kUnknown;
  }
}

std::int64_t value_of(ConsentState state) {
  switch (state) {
    case ConsentState::kGranted: return 1;
    case ConsentState::kDenied: return 2;
    case ConsentState::kUnknown: break;
  }
  return 0;
}

Error cache_error(const Error& e, std::string_view what) {
  return make_error(e.code, "consent cache: " + std::string(what) + ": " + e.message);
}

}  // namespace

Result<std::unique_ptr<ConsentCache>> ConsentCache::open(const std::string& path) {
  auto db = SqliteDb::open(path);
  if (!db) return cache_error(db.error(), "open " + path);
  db->set_busy_timeout(5000);
  auto user_version = db->query_int64("PRAGMA user_version");
  if (!user_version) return cache_error(user_version.error(), path);
  if (*user_version > kConsentCacheSchemaVersion) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "consent cache " + path + " has schema version " +
                          std::to_string(*user_version) + "; this agent knows up to " +
                          std::to_string(kConsentCacheSchemaVersion));
  }
  if (auto s = db->exec(
          "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;BEGIN;" + std::string(kSchema) +
          "PRAGMA user_version=" + std::to_string(kConsentCacheSchemaVersion) + ";COMMIT;");
      !s) {
    db->rollback_quietly();
    return cache_error(s.error(), "create schema in " + path);
  }
  std::unique_ptr<ConsentCache> cache(new ConsentCache(std::move(*db)));
  if (auto s = cache->load(); !s) return s.error();
  return cache;
}

Status ConsentCache::load() {
  auto version = db_.query_int64("SELECT value FROM meta WHERE key='version'");
  if (!version) return cache_error(version.error(), "read version");
  auto select = db_.prepare(
      "SELECT identity, analytics, personalization, marketing, decided_at, version FROM consent");
  if (!select) return cache_error(select.error(), "read entries");
  ResetGuard guard(*select);
  while (true) {
    auto row = select->step();
    if (!row) return cache_error(row.error(), "read entries");
    if (!*row) break;
    Held held;
    held.flags.analytics = state_of(select->column_int64(1));
    held.flags.personalization = state_of(select->column_int64(2));
    held.flags.marketing = state_of(select->column_int64(3));
    held.decided_at = select->column_int64(4);
    held.version = static_cast<std::uint64_t>(select->column_int64(5));
    entries_.emplace(std::string(select->column_text(0)), held);
  }
  version_ = static_cast<std::uint64_t>(*version);
  size_ = entries_.size();
  return ok_status();
}

ConsentState ConsentCache::analytics_for(
    const std::map<std::string, std::string>& identities) const {
  if (size_.load(std::memory_order_acquire) == 0 || identities.empty()) {
    return ConsentState::kUnknown;
  }
  thread_local std::string key;
  ConsentState result = ConsentState::kUnknown;
  std::shared_lock lock(mutex_);
  for (const auto& [type, value] : identities) {
    key.assign(type).append(1, ':').append(value);
    auto it = entries_.find(std::string_view(key));
    if (it == entries_.end()) continue;
    if (it->second.flags.analytics == ConsentState::kDenied) return ConsentState::kDenied;
    if (it->second.flags.analytics == ConsentState::kGranted) result = ConsentState::kGranted;
  }
  return result;
}

std::optional<wire::ConsentEntry> ConsentCache::find(std::string_view identity) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(identity);
  if (it == entries_.end()) return std::nullopt;
  return wire::ConsentEntry{std::string(identity), it->second.flags, it->second.decided_at,
                            it->second.version};
}

Result<ApplyResult> ConsentCache::apply(const wire::ConsentUpdate& update) {
  std::unique_lock lock(mutex_);
  ApplyResult result;
  const std::uint64_t held_version = version_.load(std::memory_order_relaxed);
  if (update.from_version > held_version) {
    result.outcome = ApplyOutcome::kGap;
    result.version = held_version;
    return result;
  }
  // Newest entry per identity of this update that beats what is held.
  std::map<std::string_view, const wire::ConsentEntry*> winners;
  for (const auto& e : update.entries) {
    auto held = entries_.find(std::string_view(e.identity));
    const std::uint64_t held_entry_version = held == entries_.end() ? 0 : held->second.version;
    auto& slot = winners[e.identity];
    const bool newer = e.version > held_entry_version && (!slot || e.version > slot->version);
    if (newer) slot = &e;
  }
  const std::uint64_t new_version = std::max(held_version, update.to_version);
  if (auto s = db_.exec("BEGIN IMMEDIATE"); !s) return cache_error(s.error(), "begin");
  auto fail = [&](const Error& e, std::string_view what) {
    db_.rollback_quietly();
    return cache_error(e, what);
  };
  auto upsert = db_.prepare(
      "INSERT INTO consent(identity, analytics, personalization, marketing, decided_at, version) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(identity) DO UPDATE SET "
      "analytics=excluded.analytics, personalization=excluded.personalization, "
      "marketing=excluded.marketing, decided_at=excluded.decided_at, version=excluded.version");
  if (!upsert) return fail(upsert.error(), "prepare upsert");
  for (const auto& [identity, entry] : winners) {
    if (!entry) continue;
    upsert->bind_text(1, identity);
    upsert->bind_int64(2, value_of(entry->flags.analytics));
    upsert->bind_int64(3, value_of(entry->flags.personalization));
    upsert->bind_int64(4, value_of(entry->flags.marketing));
    upsert->bind_int64(5, entry->decided_at);
    upsert->bind_int64(6, static_cast<std::int64_t>(entry->version));
    if (auto s = upsert->run(); !s) return fail(s.error(), "store entry");
  }
  auto set_version = db_.prepare("UPDATE meta SET value=?1 WHERE key='version'");
  if (!set_version) return fail(set_version.error(), "prepare version");
  set_version->bind_int64(1, static_cast<std::int64_t>(new_version));
  if (auto s = set_version->run(); !s) return fail(s.error(), "store version");
  if (auto s = db_.exec("COMMIT"); !s) return fail(s.error(), "commit");
  // Committed: now memory follows.
  for (const auto& [identity, entry] : winners) {
    if (!entry) continue;
    entries_.insert_or_assign(std::string(identity),
                              Held{entry->flags, entry->decided_at, entry->version});
    ++result.entries_stored;
  }
  result.entries_ignored = update.entries.size() - result.entries_stored;
  version_.store(new_version, std::memory_order_release);
  size_.store(entries_.size(), std::memory_order_release);
  result.version = new_version;
  return result;
}

std::size_t ConsentCache::purge(const std::vector<std::string>& identities) {
  std::unique_lock lock(mutex_);
  std::vector<std::string_view> present;
  for (const auto& identity : identities) {
    if (entries_.find(std::string_view(identity)) != entries_.end()) present.push_back(identity);
  }
  if (present.empty()) return 0;
  auto failed = [&](const Error& e) {
    db_.rollback_quietly();
    kLog.error("consent cache purge failed; entries kept", {{"error", e.message}});
    return std::size_t{0};
  };
  if (auto s = db_.exec("BEGIN IMMEDIATE"); !s) return failed(s.error());
  auto remove = db_.prepare("DELETE FROM consent WHERE identity=?1");
  if (!remove) return failed(remove.error());
  for (std::string_view identity : present) {
    remove->bind_text(1, identity);
    if (auto s = remove->run(); !s) return failed(s.error());
  }
  if (auto s = db_.exec("COMMIT"); !s) return failed(s.error());
  for (std::string_view identity : present) entries_.erase(entries_.find(identity));
  size_.store(entries_.size(), std::memory_order_release);
  return present.size();
}

}  // namespace aisle::agent::privacy
