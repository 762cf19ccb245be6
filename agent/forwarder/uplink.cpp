#include "agent/forwarder/uplink.hpp"

#include "common/log.hpp"

namespace aisle::agent {
namespace {

const log::Logger kLog("agent.uplink");

}  // namespace

MqttUplink::MqttUplink(mqtt::ClientOptions options, wire::AgentAddress address)
    : client_(std::move(options)),
      events_topic_(wire::events_topic(address)),
      acks_topic_(wire::acks_topic(address)) {
  client_.on_message([this](mqtt::Message&& message) {
    if (message.topic == acks_topic_) {
      if (ack_handler_) ack_handler_(std::move(message.payload));
      return;
    }
    auto it = subscriptions_.find(message.topic);
    if (it != subscriptions_.end()) it->second(std::move(message.payload));
  });
}

Status MqttUplink::connect() {
  if (auto status = client_.connect(); !status) return status;
  // Subscribing again on a resumed session is harmless and covers a broker that lost it.
  if (auto status = client_.subscribe(acks_topic_); !status) return status;
  // The privacy subscriptions are not needed to deliver events: a broker that refuses one (an
  // ACL without the broadcast topics) must not stop the forwarder, so it is logged, not fatal.
  for (const auto& [topic, handler] : subscriptions_) {
    if (auto status = client_.subscribe(topic); !status) {
      kLog.warn("subscription refused; continuing without it",
                {{"topic", topic}, {"error", status.error().message}});
    }
  }
  for (const auto& handler : connected_handlers_) handler();
  return ok_status();
}

Status MqttUplink::publish_batch(const std::string& payload) {
  return client_.publish(events_topic_, payload);
}

void MqttUplink::on_ack(std::function<void(std::string)> handler) {
  ack_handler_ = std::move(handler);
}

void MqttUplink::on_connection_lost(std::function<void(std::string)> handler) {
  client_.on_connection_lost(
      [handler = std::move(handler)](const std::string& cause) { handler(cause); });
}

void MqttUplink::subscribe(const std::string& topic, MessageHandler handler) {
  subscriptions_.insert_or_assign(topic, std::move(handler));
}

Status MqttUplink::publish(const std::string& topic, const std::string& payload) {
  return client_.publish(topic, payload);
}

void MqttUplink::on_connected(std::function<void()> handler) {
  connected_handlers_.push_back(std::move(handler));
}

}  // namespace aisle::agent
