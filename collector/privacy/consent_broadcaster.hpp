// ConsentBroadcaster: keeps every agent's consent cache current (docs/privacy.md).
//
// Each consent change the profile service makes (a consent event, the API, identifiers joining a
// profile that has consent) is broadcast at once to all agents of the tenant; an agent that
// (re)connects, or notices a gap in the versions, asks for the changes since the version it holds
// and gets them in pages on its own downlink. Broadcasts are best effort by design: a lost one is
// a version gap the agent heals with a sync, and the collector applies the same policy to every
// event it stores, so a stale edge cache cannot leak.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/wire/privacy.hpp"

namespace aisle::collector {

struct ConsentBroadcastOptions {
  std::string tenant;
  std::size_t sync_page_entries = 1000;  // entries per sync answer message
};

// Changes after `since_version`, ordered by version (the profile service's answer).
using ConsentChangesSince =
    std::function<Result<std::vector<wire::ConsentEntry>>(std::uint64_t since, std::size_t limit)>;
using CurrentConsentVersion = std::function<std::uint64_t()>;
using Publish = std::function<Status(const std::string& topic, const std::string& payload)>;

class ConsentBroadcaster {
 public:
  ConsentBroadcaster(ConsentBroadcastOptions options, ConsentChangesSince changes_since,
                     CurrentConsentVersion current_version, Publish publish,
                     metrics::Registry& metrics);

  // One profile's change: every identifier of the profile gets the new flags under `version`.
  void broadcast(const std::vector<std::string>& identities, const ConsentFlags& flags,
                 UnixMillis decided_at, std::uint64_t version);

  // A message on an agent's consent_sync uplink: answers with pages on the agent's downlink.
  // An unreadable request is counted and logged, and answered with nothing.
  void answer_sync(const wire::AgentAddress& agent, std::string_view payload);

  // The pages answering `since`, as they would be published (exposed for tests).
  Result<std::vector<wire::ConsentUpdate>> sync_pages(std::uint64_t since) const;

 private:
  ConsentBroadcastOptions options_;
  ConsentChangesSince changes_since_;
  CurrentConsentVersion current_version_;
  Publish publish_;
  metrics::Counter& broadcasts_;
  metrics::Counter& broadcast_failures_;
  metrics::Counter& sync_requests_;
  metrics::Counter& sync_refused_;
  metrics::Counter& sync_pages_;
};

}  // namespace aisle::collector
