// ProfileService: the collector's identity resolution and profile store (docs/profiles.md).
//
// The identity graph lives in memory (IdentityGraph) and in SQLite (<data>/profiles.db, WAL),
// loaded at open. apply() runs after the event store committed a batch: it resolves every event
// to a profile, merges profiles as the rules allow, updates counters/traits/consent, and writes
// what changed in one SQLite transaction. Erased identifiers are kept as tombstones
// (HMAC-SHA256 of "type:value" under a key stored in the database), so late events are discarded.
//
// Thread-safety: apply(), unmerge(), set_consent() and erase() are serialized by a writer mutex
// (the commit thread and admin HTTP threads); reads run from any thread: in-memory lookups under
// a shared lock, SQLite reads on a pool of read connections (WAL: they never block the writer).
// Reads see the graph as soon as apply() resolved it and the profile rows once it committed.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "collector/profiles/identity_graph.hpp"
#include "collector/profiles/identity_rules.hpp"
#include "collector/profiles/profile_types.hpp"
#include "collector/store/sqlite_db.hpp"
#include "common/clock.hpp"
#include "common/corrupt_store.hpp"
#include "common/metrics.hpp"
#include "common/wire/privacy.hpp"

namespace aisle::collector::profiles {

struct ProfileServiceOptions {
  std::string path;  // SQLite file, e.g. <data>/profiles.db
  IdentityRules rules = IdentityRules::defaults();
  std::size_t last_events = 20;     // kept per profile for the API
  std::size_t history_limit = 100;  // newest history entries in a profile view
  std::size_t read_connections = 4;
  // Events an unmerge may load to recompute the two profiles (they are held in memory).
  std::size_t max_unmerge_events = 100000;
  // HMAC key of the tombstones; "" = a random key generated at the first open and stored in the
  // database (tombstones then only match in this database, which is all they are used for).
  std::string tombstone_key;
  bool synchronous_full = false;  // PRAGMA synchronous FULL instead of NORMAL
  // first_seen/last_seen changes of known identifiers are written at most this often (and at
  // close), not with every event: they are the bulk of apply()'s random page writes. A crash
  // loses at most this much of their movement; links, profiles and state are always committed
  // with the events. 0 = with every apply().
  std::int64_t seen_flush_interval_ms = 60000;
  int busy_timeout_ms = 5000;
  // A file found corrupt or truncated at open: moved aside and a fresh store opened, or refused
  // (docs/storage.md). Counted in aisle_collector_store_corrupt_total{store="profiles"}.
  CorruptStorePolicy corruption{OnCorrupt::kMoveAside, StartupCheck::kHeader};
};

class ProfileService {
 public:
  static Result<std::unique_ptr<ProfileService>> open(ProfileServiceOptions options, ClockPtr clock,
                                                      metrics::Registry& metrics);
  ~ProfileService();
  ProfileService(const ProfileService&) = delete;
  ProfileService& operator=(const ProfileService&) = delete;

  // Events just committed to the event store, in commit order. One SQLite transaction per call;
  // on failure nothing is stored and the in-memory graph is reloaded from the database.
  Result<ApplyResult> apply(const std::vector<const Event*>& events);

  // True when the identifier was erased (events carrying it must be discarded).
  bool is_erased(std::string_view type, std::string_view value) const;
  // The profile id of an identifier, if known.
  std::optional<std::string> lookup(std::string_view type, std::string_view value) const;
  // Follows merges: a merged-away id resolves to the survivor. nullopt when unknown or erased.
  Result<std::optional<ProfileView>> get(const std::string& profile_id) const;
  // The same with the newest `history_limit` history entries instead of the configured number
  // (an export takes them all).
  Result<std::optional<ProfileView>> get(const std::string& profile_id,
                                         std::size_t history_limit) const;
  // The profile's event ids, newest (latest committed) first. `after_cursor` is the last event id
  // of the previous page ("" = from the newest); one not on the profile is kInvalidArgument.
  // kNotFound when the profile is unknown or erased.
  Result<std::vector<std::string>> event_ids(const std::string& profile_id, std::size_t limit,
                                             std::string_view after_cursor) const;
  // Splits `identities` ("type:value", all on the profile, not all of it) into a new profile,
  // recomputes both from their stored events (via `load`) and separates them for good.
  Result<UnmergeResult> unmerge(const std::string& profile_id,
                                const std::vector<std::string>& identities,
                                const std::string& actor, const EventLoader& load);
  // A consent decision for the purposes not kUnknown (latest decided_at wins per purpose).
  Result<ConsentChange> set_consent(const std::string& profile_id, const ConsentFlags& purposes,
                                    std::string source, UnixMillis decided_at,
                                    const std::string& actor);
  // The consent of an identifier's profile; nullopt when the identifier is unknown.
  std::optional<ConsentFlags> consent_of(std::string_view type, std::string_view value) const;
  // The consent of a profile (a merged-away id follows to its survivor), from memory: the
  // recommendation path asks per request and must not read SQLite. nullopt when unknown or erased.
  std::optional<ConsentFlags> consent_of_profile(std::string_view profile_id) const;
  std::uint64_t consent_version() const;
  // Per identifier, the latest change with a version above `version`, in version order. A page
  // never ends inside a version (it may exceed `limit` to finish one).
  Result<std::vector<wire::ConsentEntry>> consent_changes_since(std::uint64_t version,
                                                                std::size_t limit) const;
  // Removes the profile (identifiers, traits, counters, consent, history, event index) in one
  // transaction and keeps tombstones of its identifiers.
  Result<ErasedProfile> erase(const std::string& profile_id, const std::string& actor);

  std::size_t identifier_count() const;
  std::size_t profile_count() const;
  std::size_t graph_memory_bytes() const;

 private:
  // One attempt of open() (no corruption handling).
  static Result<std::unique_ptr<ProfileService>> open_once(ProfileServiceOptions options,
                                                           ClockPtr clock,
                                                           metrics::Registry& metrics);

  struct Impl;
  explicit ProfileService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aisle::collector::profiles
