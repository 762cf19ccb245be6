#include "common/wire/topics.hpp"

#include <vector>

namespace aisle::wire {
namespace {

std::string prefix(const AgentAddress& a) {
  return "aisle/v1/" + a.tenant + "/" + a.store_id + "/" + a.agent_id + "/";
}

}  // namespace

std::string events_topic(const AgentAddress& address) { return prefix(address) + "events"; }
std::string acks_topic(const AgentAddress& address) { return prefix(address) + "acks"; }
std::string downlink_topic(const AgentAddress& address, std::string_view kind) {
  return prefix(address) + "down/" + std::string(kind);
}

std::string shared_events_subscription(std::string_view group) {
  return "$share/" + std::string(group) + "/aisle/v1/+/+/+/events";
}

std::optional<AgentAddress> parse_events_topic(std::string_view topic) {
  std::vector<std::string_view> levels;
  while (true) {
    const auto slash = topic.find('/');
    levels.push_back(topic.substr(0, slash));
    if (slash == std::string_view::npos) break;
    topic.remove_prefix(slash + 1);
  }
  if (levels.size() != 6 || levels[0] != "aisle" || levels[1] != "v1" || levels[5] != "events") {
    return std::nullopt;
  }
  for (int i = 2; i < 5; ++i) {
    if (levels[static_cast<size_t>(i)].empty()) return std::nullopt;
  }
  return AgentAddress{std::string(levels[2]), std::string(levels[3]), std::string(levels[4])};
}

}  // namespace aisle::wire
