// HttpIngest: web and mobile events posted to the collector's POST /v1/events (same formats and
// answers as the agent), and quarantine replay. Invalid input is answered and quarantined.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "collector/collector_config.hpp"
#include "collector/ingest/commit_hooks.hpp"
#include "collector/store/event_store.hpp"
#include "common/clock.hpp"
#include "common/event_validator.hpp"
#include "common/ingest_report.hpp"
#include "common/json_text.hpp"
#include "common/metrics.hpp"
#include "common/uuid.hpp"

namespace aisle::collector {

struct ReplayFailure {
  std::int64_t id = 0;
  std::string reason;
  std::vector<schema::ValidationError> errors;
};

struct ReplayReport {
  std::uint32_t accepted = 0;    // now valid: stored and marked replayed
  std::uint32_t duplicates = 0;  // now valid but already stored: marked replayed
  std::vector<ReplayFailure> still_invalid;
};

class HttpIngest {
 public:
  HttpIngest(const EventValidator& validator, EventStore& store, ClockPtr clock,
             metrics::Registry& metrics);

  // Thread-safe; returns after the commit.
  IngestReport ingest(const std::vector<RawRecord>& records, const ApiKey& key,
                      const std::string& remote_addr);

  // Re-validates quarantined entries with the current schemas; what passes is stored.
  Result<ReplayReport> replay(const std::vector<std::int64_t>& ids);

  // Privacy policy and profiles around each commit; set before serving. Null: none.
  void set_commit_hooks(CommitHooks* hooks) { hooks_ = hooks; }
  // The collector's current consent version, stamped on events that do not carry one (web and
  // mobile events are accepted here, not at an agent).
  void set_consent_version_source(std::function<std::uint64_t()> source) {
    consent_version_ = std::move(source);
  }
  // Client IPs of web and mobile events are truncated to these prefixes before they are stored
  // (the collector is their edge); 32/128 keeps them whole.
  void set_ip_truncation(int ipv4_prefix, int ipv6_prefix) {
    ipv4_prefix_ = ipv4_prefix;
    ipv6_prefix_ = ipv6_prefix;
  }

 private:
  bool accept(Event& event, const ApiKey& key, std::vector<schema::ValidationError>& errors);

  const EventValidator& validator_;
  EventStore& store_;
  ClockPtr clock_;
  UuidV7Generator ids_;
  metrics::Registry& metrics_;
  metrics::Counter& events_stored_;
  metrics::Counter& events_duplicate_;
  CommitHooks* hooks_ = nullptr;
  std::function<std::uint64_t()> consent_version_;
  int ipv4_prefix_ = 24;
  int ipv6_prefix_ = 48;
};

}  // namespace aisle::collector
