#include "agent/forwarder/uplink.hpp"

namespace aisle::agent {

MqttUplink::MqttUplink(mqtt::ClientOptions options, wire::AgentAddress address)
    : client_(std::move(options)),
      events_topic_(wire::events_topic(address)),
      acks_topic_(wire::acks_topic(address)) {
  client_.on_message([this](mqtt::Message&& message) {
    if (message.topic == acks_topic_ && ack_handler_) ack_handler_(std::move(message.payload));
  });
}

Status MqttUplink::connect() {
  if (auto status = client_.connect(); !status) return status;
  // Subscribing again on a resumed session is harmless and covers a broker that lost it.
  return client_.subscribe(acks_topic_);
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

}  // namespace aisle::agent
