// ErasureService: the right to erasure (GDPR Art. 17) across the collector and every agent
// (docs/privacy.md, "Erasure").
//
// DELETE /v1/profiles/{id} erases the profile (identifiers, traits, consent, memberships; the
// profile service keeps only one-way tombstones so late events are discarded), deletes its
// stored events, and broadcasts the erasure to all agents, which purge the person's pending
// events from their outboxes and caches and answer with a signed receipt. The erasure stays
// "awaiting_agents" until every agent known at the time has confirmed; it is re-broadcast
// periodically meanwhile (an agent that was offline gets it when it returns). The state is
// journaled in SQLite, so a restart resumes unfinished steps.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collector/store/sqlite_db.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/wire/privacy.hpp"

namespace aisle::collector {

// What erasing a profile removed, for the next steps.
struct ErasedSubject {
  std::string profile_id;
  std::vector<std::string> identities;  // "type:value"
  std::vector<std::string> event_ids;
};

struct ErasureAgentState {
  std::string store_id;
  std::string agent_id;
  UnixMillis confirmed_at = 0;  // 0 = not yet
  std::uint64_t events_purged = 0;
  std::uint64_t cache_entries_purged = 0;
};

struct ErasureStatus {
  std::string erasure_id;
  std::string profile_id;
  std::string requested_by;
  UnixMillis requested_at = 0;
  std::string state;  // "deleting_events", "awaiting_agents", "complete"
  std::uint64_t events_deleted = 0;
  UnixMillis completed_at = 0;
  std::uint32_t broadcasts = 0;
  std::vector<ErasureAgentState> agents;
};

struct ErasureDependencies {
  std::function<Result<ErasedSubject>(const std::string& profile_id, const std::string& actor)>
      erase_profile;
  std::function<Result<std::uint64_t>(const std::vector<std::string>& event_ids)> delete_events;
  std::function<std::vector<wire::AgentAddress>()> known_agents;
  std::function<Status(const std::string& topic, const std::string& payload)> publish;
  // Signature, certificate chain and CN of an agent's receipt.
  std::function<Status(const wire::ErasureReceipt&)> verify_receipt;
  std::function<void(const std::string& actor, const std::string& action,
                     const std::string& target, const nlohmann::json& details)>
      audit;
};

struct ErasureOptions {
  std::string path;  // SQLite journal, e.g. <data dir>/erasures.db
  std::string tenant;
  std::chrono::milliseconds rebroadcast_interval{5 * 60 * 1000};
};

class ErasureService {
 public:
  static Result<std::unique_ptr<ErasureService>> open(ErasureOptions options,
                                                      ErasureDependencies deps, ClockPtr clock,
                                                      metrics::Registry& metrics);
  ~ErasureService();

  // Resumes unfinished erasures and starts the re-broadcast timer.
  void start();
  void stop();

  // kNotFound when there is no such profile.
  Result<ErasureStatus> erase(const std::string& profile_id, const std::string& actor);
  Result<std::optional<ErasureStatus>> get(const std::string& erasure_id) const;
  Result<std::vector<ErasureStatus>> recent(std::size_t limit) const;

  // A message on an agent's erasure_receipt uplink.
  void on_receipt(const wire::AgentAddress& from, std::string_view payload);
  // Re-broadcasts erasures still awaiting agents whose last broadcast is older than the
  // interval (the timer calls it; tests call it directly).
  void rebroadcast_due();

 private:
  ErasureService(ErasureOptions options, ErasureDependencies deps, ClockPtr clock,
                 metrics::Registry& metrics, SqliteDb db);
  Status create_schema();
  Status delete_events_step(const std::string& erasure_id);
  Status broadcast(const std::string& erasure_id);
  Status complete_if_confirmed(const std::string& erasure_id);
  Result<std::optional<ErasureStatus>> load(const std::string& erasure_id) const;
  void timer_loop();

  ErasureOptions options_;
  ErasureDependencies deps_;
  ClockPtr clock_;
  mutable std::mutex mutex_;  // one connection: serializes writes and reads
  mutable SqliteDb db_;
  std::thread timer_;
  std::condition_variable wake_;
  bool stopping_ = false;
  metrics::Counter& requested_;
  metrics::Counter& completed_;
  metrics::Counter& receipts_accepted_;
  metrics::Counter& receipts_refused_;
};

}  // namespace aisle::collector
