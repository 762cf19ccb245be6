#include "collector/segments/notify/agent_downlink.hpp"

#include <map>

#include "collector/segments/notify/change_message.hpp"
#include "common/log.hpp"
#include "common/wire/topics.hpp"

namespace aisle::collector::segments {
namespace {

const log::Logger kLog("collector.segment_downlink");

}  // namespace

AgentDownlink::AgentDownlink(AgentDownlinkOptions options, PublishWithQos publish,
                             metrics::Registry& metrics)
    : options_(std::move(options)),
      publish_(std::move(publish)),
      messages_(metrics.counter("aisle_collector_segment_downlink_messages_total",
                                "Segment change messages published to agents")),
      published_(metrics.counter("aisle_collector_segment_downlink_changes_total",
                                 "Segment changes by downlink outcome",
                                 {{"outcome", "published"}})),
      no_agent_(metrics.counter("aisle_collector_segment_downlink_changes_total",
                                "Segment changes by downlink outcome", {{"outcome", "no_agent"}})),
      failed_(metrics.counter("aisle_collector_segment_downlink_changes_total",
                              "Segment changes by downlink outcome", {{"outcome", "failed"}})) {
  if (options_.max_changes_per_message == 0) options_.max_changes_per_message = 1;
}

void AgentDownlink::deliver(std::vector<SegmentChange>& changes) {
  // Per agent, in the engine's order (a map keeps the grouping deterministic for tests).
  std::map<std::pair<std::string, std::string>, std::vector<wire::SegmentChangeMessage>> by_agent;
  for (const auto& change : changes) {
    if (change.store_id.empty() || change.agent_id.empty()) {
      no_agent_.inc();
      continue;
    }
    by_agent[{change.store_id, change.agent_id}].push_back(to_message(change));
  }
  for (auto& [agent, list] : by_agent) {
    const std::string topic =
        wire::downlink_topic({options_.tenant, agent.first, agent.second}, "segment");
    for (std::size_t begin = 0; begin < list.size(); begin += options_.max_changes_per_message) {
      const std::size_t end = std::min(list.size(), begin + options_.max_changes_per_message);
      const std::vector<wire::SegmentChangeMessage> part(list.begin() + begin, list.begin() + end);
      const auto count = static_cast<double>(part.size());
      if (auto status = publish_(topic, wire::encode_segment_changes(part), options_.qos);
          !status) {
        failed_.inc(count);
        kLog.warn("cannot publish segment changes to an agent",
                  {{"store_id", agent.first}, {"agent_id", agent.second},
                   {"changes", part.size()}, {"error", status.error().message}});
        continue;
      }
      messages_.inc();
      published_.inc(count);
    }
  }
}

}  // namespace aisle::collector::segments
