// ConsentSync: keeps the ConsentCache in step with the collector over the agent's uplink
// (common/wire/privacy.hpp, docs/privacy.md "Consent at the edge"):
//   - broadcasts on aisle/v1/<tenant>/broadcast/consent are applied on top of the cache version;
//   - after every (re)connect it publishes ConsentSyncRequest{since_version = cache version} on
//     .../up/consent_sync and applies the answer pages arriving on .../down/consent;
//   - an update above the cache version (a missed broadcast, or a broadcast that overtook a sync
//     answer) is not applied; it asks for a sync instead, unless one is pending (and younger than
//     sync_timeout). After the last page of a sync, a version seen but not reached asks again.
//
// Thread-safety: on_connected runs on the forwarder thread, on_message on the MQTT thread; one
// mutex serializes them (and the cache writes they make).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/forwarder/uplink.hpp"
#include "agent/privacy/consent_cache.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/wire/topics.hpp"

namespace aisle::agent::privacy {

class ConsentSync {
 public:
  ConsentSync(ConsentCache& cache, Uplink& uplink, wire::AgentAddress address, ClockPtr clock,
              std::chrono::milliseconds sync_timeout, metrics::Registry& metrics);

  // Subscribes to the broadcast and downlink topics and asks for a sync on every connect.
  // Call before the uplink connects (before the forwarder starts).
  void attach();

  // The handlers attach() registers; public so tests can drive them directly.
  void on_connected();
  void on_message(const std::string& payload, bool from_sync_answer);

  // {"version", "entries", "sync_pending", "updates_applied", "gaps"} for /v1/status.
  nlohmann::json status() const;

 private:
  // Publishes a sync request from the cache version (mutex_ held).
  void request_sync(const char* reason);

  ConsentCache& cache_;
  Uplink& uplink_;
  wire::AgentAddress address_;
  ClockPtr clock_;
  std::chrono::milliseconds sync_timeout_;
  std::string broadcast_topic_;
  std::string answer_topic_;
  std::string request_topic_;

  mutable std::mutex mutex_;
  bool sync_pending_ = false;
  std::chrono::steady_clock::time_point sync_sent_at_{};
  std::uint64_t highest_seen_ = 0;  // highest to_version of any update received
  std::uint64_t updates_applied_ = 0;
  std::uint64_t gaps_ = 0;

  metrics::Counter& applied_;
  metrics::Counter& gap_;
  metrics::Counter& invalid_;
  metrics::Counter& failed_;
  metrics::Counter& sync_requests_;
};

}  // namespace aisle::agent::privacy
