// PrivacyStack: the collector's profile, consent, erasure and audit services composed from the
// config — identity resolution (ProfileService), the hash-chained audit log, the consent
// broadcaster, the commit hooks that apply the consent policy and feed identity resolution, and
// the erasure service. The Collector owns one and routes MQTT uplinks and HTTP routes to it.
#pragma once

#include <memory>
#include <vector>

#include "collector/audit/audit_log.hpp"
#include "collector/collector_config.hpp"
#include "collector/ingest/stream_tracker.hpp"
#include "collector/privacy/consent_broadcaster.hpp"
#include "collector/privacy/erasure_service.hpp"
#include "collector/privacy/privacy_hooks.hpp"
#include "collector/profiles/profile_listener.hpp"
#include "collector/profiles/profile_service.hpp"
#include "collector/store/event_store.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

class PrivacyStack {
 public:
  static Result<std::unique_ptr<PrivacyStack>> open(const CollectorConfig& config,
                                                    EventStore& store, StreamTracker& tracker,
                                                    Publish publish, ClockPtr clock,
                                                    metrics::Registry& metrics);
  ~PrivacyStack();

  // Segment evaluation, recommendation models: they see every profiled event after identity
  // resolution, in commit order, on the identity-resolution thread. Register before start().
  void add_listener(profiles::ProfileListener* listener) { listeners_.push_back(listener); }

  void start();
  void stop();

  // An MQTT message on an agent's uplink (consent_sync, erasure_receipt); false if the topic is
  // not an uplink this stack serves.
  bool on_uplink(const std::string& topic, std::string_view payload);

  profiles::ProfileService& profiles() { return *profiles_; }
  AuditLog& audit() { return *audit_; }
  ConsentBroadcaster& consent() { return *broadcaster_; }
  ErasureService& erasures() { return *erasures_; }
  CommitHooks& hooks() { return *hooks_; }

  // Broadcasts a consent change and records it in the audit log.
  void publish_consent_change(const profiles::ConsentChange& change, const std::string& actor);
  // The audit callback every component shares; a failed append is logged and counted (the
  // operation it records has happened already).
  void audit_record(const std::string& actor, const std::string& action,
                    const std::string& target, const nlohmann::json& details);

 private:
  PrivacyStack() = default;
  // Identity resolution of newly stored events, then what follows from it.
  void feed(std::vector<Event>&& stored);

  std::string tenant_;
  EventStore* store_ = nullptr;
  metrics::Counter* audit_failures_ = nullptr;
  std::unique_ptr<profiles::ProfileService> profiles_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<ConsentBroadcaster> broadcaster_;
  std::unique_ptr<PrivacyHooks> hooks_;
  std::unique_ptr<ErasureService> erasures_;
  std::vector<profiles::ProfileListener*> listeners_;
};

}  // namespace aisle::collector
