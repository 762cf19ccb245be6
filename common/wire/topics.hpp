// MQTT topic layout shared by agents and the collector (docs/protocol.md):
//   aisle/v1/<tenant>/<store_id>/<agent_id>/events     agent -> collector, batches (QoS 1)
//   aisle/v1/<tenant>/<store_id>/<agent_id>/acks       collector -> agent, commit acks (QoS 1)
//   aisle/v1/<tenant>/<store_id>/<agent_id>/down/<kind> collector -> agent, other downlink
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace aisle::wire {

struct AgentAddress {
  std::string tenant;
  std::string store_id;
  std::string agent_id;
  friend bool operator==(const AgentAddress&, const AgentAddress&) = default;
};

std::string events_topic(const AgentAddress& address);
std::string acks_topic(const AgentAddress& address);
std::string downlink_topic(const AgentAddress& address, std::string_view kind);

// The collector's subscription: every agent's events, as a shared subscription so several
// collector replicas split the load.
std::string shared_events_subscription(std::string_view group);

// Parses "aisle/v1/<tenant>/<store>/<agent>/events"; nullopt for anything else.
std::optional<AgentAddress> parse_events_topic(std::string_view topic);

}  // namespace aisle::wire
