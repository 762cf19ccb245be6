// AgentDownlink: the channel that tells a store's agent (and through it the kiosks) about a
// shopper's segment changes: each change goes to the agent where the shopper was last seen
// (SegmentChange::store_id/agent_id) on aisle/v1/<tenant>/<store>/<agent>/down/segment, at QoS 1.
//
// Changes for the same agent in one delivered batch (the fanout lingers a few ms) share one
// message, a JSON array of at most max_changes_per_message changes: fewer publishes keep the
// collector's MQTT client under Paho's in-flight window at thousands of changes per second.
// Changes without an agent (web-only shoppers) are not published, only counted. A publish that
// fails (collector disconnected from the broker) is counted and logged; the change is not
// retried: kiosks react to what happens now, and the agent's membership view is refreshed by
// the next change of that shopper.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "collector/segments/notify/change_fanout.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::collector::segments {

// Queues an MQTT publish; must not block for long (the collector's MqttClient::publish queues).
using PublishWithQos =
    std::function<Status(const std::string& topic, const std::string& payload, int qos)>;

struct AgentDownlinkOptions {
  std::string tenant;
  std::size_t max_changes_per_message = 100;
  int qos = 1;
};

class AgentDownlink final : public ChangeChannel {
 public:
  AgentDownlink(AgentDownlinkOptions options, PublishWithQos publish, metrics::Registry& metrics);

  // Fanout worker thread only.
  void deliver(std::vector<SegmentChange>& changes) override;

 private:
  AgentDownlinkOptions options_;
  PublishWithQos publish_;
  metrics::Counter& messages_;
  metrics::Counter& published_;
  metrics::Counter& no_agent_;
  metrics::Counter& failed_;
};

}  // namespace aisle::collector::segments
