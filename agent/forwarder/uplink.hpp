// Uplink: the forwarder's connection to the broker (sink side of ingest -> outbox -> sink).
// MqttUplink is the real one; tests use a fake that acks in-process.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/mqtt/mqtt_client.hpp"
#include "common/result.hpp"
#include "common/wire/topics.hpp"

namespace aisle::agent {

class Uplink {
 public:
  virtual ~Uplink() = default;
  // Blocking connect, including the acks subscription. Called from the forwarder thread.
  virtual Status connect() = 0;
  virtual bool connected() const = 0;
  // Queues a batch for delivery (QoS 1) and returns at once; kUnavailable when disconnected.
  virtual Status publish_batch(const std::string& payload) = 0;
  virtual void disconnect() = 0;
  // Handlers run on the transport's thread; they must not block for long. Set before connect().
  virtual void on_ack(std::function<void(std::string payload)> handler) = 0;
  virtual void on_connection_lost(std::function<void(std::string cause)> handler) = 0;
};
using UplinkPtr = std::unique_ptr<Uplink>;

class MqttUplink final : public Uplink {
 public:
  MqttUplink(mqtt::ClientOptions options, wire::AgentAddress address);
  Status connect() override;
  bool connected() const override { return client_.connected(); }
  Status publish_batch(const std::string& payload) override;
  void disconnect() override { client_.disconnect(); }
  void on_ack(std::function<void(std::string payload)> handler) override;
  void on_connection_lost(std::function<void(std::string cause)> handler) override;

 private:
  mqtt::MqttClient client_;
  std::string events_topic_;
  std::string acks_topic_;
  std::function<void(std::string)> ack_handler_;
};

}  // namespace aisle::agent
