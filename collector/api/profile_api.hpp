// The profile part of the collector's HTTP API (docs/profiles.md, "API"):
//   GET  /v1/profiles/{id}                     profile view (admin key, scope read)
//   GET  /v1/profiles?identity=<type>:<value>  the profile of an identifier (read)
//   GET  /v1/profiles/{id}/events?limit=&cursor=  stored events, newest first (read)
//   POST /v1/profiles/{id}/unmerge {"identifiers":["type:value",...]}  (admin)
//   POST /v1/profiles/{id}/consent {"purposes":{"marketing":"denied"},"source":"api"}  (admin)
//   GET  /v1/profiles/{id}/export              everything held about the person (admin)
// A merged-away profile id answers with the surviving profile (its profile_id differs).
// DELETE /v1/profiles/{id} (erasure) is registered by the erasure orchestration, not here.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "collector/api/api_keys.hpp"
#include "collector/profiles/profile_service.hpp"
#include "collector/store/event_store.hpp"
#include "common/clock.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

struct ProfileApiContext {
  profiles::ProfileService& profiles;
  EventStore& store;  // stored payloads for /events, /export and unmerge recomputation
  const ApiKeys& keys;
  metrics::Registry& metrics;
  // Called after a consent change made through the API and for both profiles of an unmerge
  // (the lead broadcasts them to agents). Runs on the HTTP thread; must not block long.
  std::function<void(const profiles::ConsentChange&)> on_consent_change =
      [](const profiles::ConsentChange&) {};
  // Appends to the audit log: every admin call (unmerge, consent, export) is recorded.
  std::function<void(const std::string& actor, const std::string& action, const std::string& target,
                     const nlohmann::json& details)>
      audit =
          [](const std::string&, const std::string&, const std::string&, const nlohmann::json&) {};
  ClockPtr clock = SystemClock::instance();  // decided_at of API consent decisions
  // Identity types besides the standard ones, to decode stored events for unmerge.
  std::set<std::string, std::less<>> custom_identity_types = {};
  // The profile's segments with entered_at ([{"segment_id","version","entered_at"}]); empty
  // function: no segments configured.
  std::function<nlohmann::json(const std::string& profile_id)> segments_of = {};
  std::size_t max_page_events = 500;       // upper bound of /events?limit=
  std::size_t max_export_events = 100000;  // an export of a larger profile is refused (422)
};

void register_profile_api(http::HttpServer& server, ProfileApiContext context);

}  // namespace aisle::collector
