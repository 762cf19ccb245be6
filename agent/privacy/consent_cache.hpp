// ConsentCache: the agent's copy of the collector's consent decisions, keyed by identifier
// ("type:value" after edge pseudonymization), so that ingestion can apply the tenant's policy
// while the store is offline. Fed by wire::ConsentUpdate messages (broadcasts and sync answers,
// see ConsentSync); persisted in SQLite so a restart keeps both the decisions and the version.
//
// Versions: the cache holds the collector's consent version it is complete up to. An update is
// applied only when its from_version <= that version (otherwise there is a gap: nothing is
// applied and the caller asks for a sync); an entry older than (or as old as) the one held for its
// identity is ignored, so replays and overlapping pages are harmless.
//
// Thread-safe: ingest threads read (shared lock), the MQTT thread applies updates and the erasure
// handler purges (exclusive lock around the SQLite transaction and the in-memory swap).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/outbox/sqlite_db.hpp"
#include "common/event.hpp"
#include "common/result.hpp"
#include "common/wire/privacy.hpp"

namespace aisle::agent::privacy {

inline constexpr int kConsentCacheSchemaVersion = 1;

enum class ApplyOutcome {
  kApplied,  // on top of the held version (entries newer than the held ones were stored)
  kGap,      // from_version is above the held version: nothing applied, a sync is needed
};

struct ApplyResult {
  ApplyOutcome outcome = ApplyOutcome::kApplied;
  std::size_t entries_stored = 0;   // entries newer than what was held for their identity
  std::size_t entries_ignored = 0;  // not newer (replays, overlapping pages)
  std::uint64_t version = 0;        // the cache version afterwards
};

class ConsentCache {
 public:
  // Opens (creating when missing) the database and loads it into memory. A database of an
  // unknown schema version (a newer agent's) is refused rather than guessed at.
  static Result<std::unique_ptr<ConsentCache>> open(const std::string& path);

  // The `analytics` decision for an event's identities: kDenied when any identity is denied,
  // else kGranted when any is granted, else kUnknown (no entry, or no decision recorded).
  ConsentState analytics_for(const std::map<std::string, std::string>& identities) const;
  std::optional<wire::ConsentEntry> find(std::string_view identity) const;

  [[nodiscard]] Result<ApplyResult> apply(const wire::ConsentUpdate& update);
  // Removes the entries of these identities ("type:value"); returns how many existed. Used by
  // the erasure handler; a failure to persist is logged and the entries are kept.
  std::size_t purge(const std::vector<std::string>& identities);

  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::size_t size() const { return size_.load(std::memory_order_acquire); }
  const std::string& path() const { return db_.path(); }

 private:
  struct Held {
    ConsentFlags flags;
    UnixMillis decided_at = 0;
    std::uint64_t version = 0;
  };
  // Transparent hashing, so lookups by string_view build no std::string.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Held, Hash, std::equal_to<>>;

  explicit ConsentCache(SqliteDb db) : db_(std::move(db)) {}
  Status load();

  mutable std::shared_mutex mutex_;  // guards entries_ and db_
  SqliteDb db_;
  Map entries_;
  std::atomic<std::uint64_t> version_{0};
  std::atomic<std::size_t> size_{0};
};

}  // namespace aisle::agent::privacy
