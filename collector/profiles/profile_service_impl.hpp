// Private to collector/profiles/profile_service*.cpp: the state ProfileService's members share.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "collector/profiles/identity_graph.hpp"
#include "collector/profiles/profile_service.hpp"
#include "collector/store/sqlite_db.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

namespace aisle::collector::profiles {

struct ProfileService::Impl {
  Impl(ProfileServiceOptions opts, ClockPtr clk, metrics::Registry& registry);

  ProfileServiceOptions options;
  ClockPtr clock;

  // Writers (apply, unmerge, set_consent, erase) hold write_mutex for the whole call; they mutate
  // the graph only under the exclusive graph_mutex, and may read it without the lock (nobody else
  // mutates it). Readers take graph_mutex shared and a pooled connection for SQLite.
  std::mutex write_mutex;
  mutable std::shared_mutex graph_mutex;
  SqliteDb writer;
  std::unique_ptr<SqliteReadPool> readers;
  std::unique_ptr<IdentityGraph> graph;
  std::unordered_set<std::string> tombstones;  // guarded by graph_mutex
  std::string tombstone_key;
  std::atomic<std::uint64_t> consent_version{0};
  // Identifiers whose seen times changed since they were last written (writer side).
  std::unordered_set<std::uint32_t> dirty_seen;
  std::chrono::steady_clock::time_point last_seen_flush = std::chrono::steady_clock::now();

  metrics::Counter& events_attributed;
  metrics::Counter& events_unattributed;
  metrics::Counter& events_discarded_erased;
  metrics::Counter& merges;
  metrics::Counter& refused_limit;
  metrics::Counter& refused_separated;
  metrics::Counter& marked_shared;
  metrics::Counter& apply_failures;
  metrics::Counter& unmerges;
  metrics::Counter& erasures;
  metrics::Gauge& identifiers_gauge;
  metrics::Gauge& profiles_gauge;
  metrics::Gauge& graph_bytes_gauge;
  metrics::Gauge& consent_version_gauge;
  metrics::Histogram& apply_seconds;

  // --- Writer side (write_mutex held, inside a transaction unless said otherwise).
  std::string digest(std::string_view identity) const;
  // Tombstone check for an event, under a shared or exclusive graph lock.
  bool erased_locked(const Event& event) const;
  Result<ProfileState> load_state(std::uint32_t slot);
  Status store_state(std::uint32_t slot, const ProfileState& state);
  Status persist(const GraphChanges& changes, UnixMillis now, const std::string& actor);
  // Upserts the identifier rows of `nodes` (erased ones are skipped).
  Status write_nodes(const std::vector<std::uint32_t>& nodes);
  // Writes the dirty seen times when the interval passed (or `force`); inside a transaction.
  Status flush_seen(bool force);
  Status add_history(std::uint32_t slot, UnixMillis at, const char* kind,
                     const nlohmann::json& details, const std::string& dedup = {});
  // Assigns the next consent version to a profile's consent change, writes the per-identifier
  // rows and returns the change. Sets the state's versions of the purposes in `changed`
  // (all decided purposes when `changed` is 0xff).
  Result<ConsentChange> record_consent(std::uint32_t slot, ProfileState& state,
                                       PurposeMask changed);
  Status store_consent_version();
  std::vector<std::string> identities_of(std::uint32_t slot) const;
  // After a failed transaction: rebuilds graph and tombstones from the database (no transaction
  // open). Logs and counts.
  void reload_after_failure(const Error& error, const char* what);
  void update_gauges();
};

// Builds the graph from the database (any connection).
Result<std::unique_ptr<IdentityGraph>> load_graph(SqliteDb& db, const IdentityRules& rules);

// Consent flags as stored in profiles.consent (2 bits per purpose).
std::int64_t consent_bits(const ConsentFlags& flags);
ConsentFlags consent_from_bits(std::int64_t bits);
ConsentState consent_state_of(std::int64_t value);  // kUnknown for values out of range
bool all_unknown(const ConsentFlags& flags);

}  // namespace aisle::collector::profiles
