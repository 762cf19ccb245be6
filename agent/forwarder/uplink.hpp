// Uplink: the agent's connection to the broker. The forwarder publishes batches and receives
// acks over it; the privacy modules (consent sync, erasure) add their own subscriptions and
// publish on their own uplink topics over the same connection.
// MqttUplink is the real one; tests use a fake that acks in-process.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mqtt/mqtt_client.hpp"
#include "common/result.hpp"
#include "common/wire/topics.hpp"

namespace aisle::agent {

class Uplink {
 public:
  using MessageHandler = std::function<void(std::string payload)>;

  virtual ~Uplink() = default;
  // Blocking connect, including the acks subscription and those added with subscribe(); then the
  // on_connected handlers run. Called from the forwarder thread.
  virtual Status connect() = 0;
  virtual bool connected() const = 0;
  // Queues a batch for delivery (QoS 1) and returns at once; kUnavailable when disconnected.
  virtual Status publish_batch(const std::string& payload) = 0;
  virtual void disconnect() = 0;
  // Drops the connection so that the next connect() starts from the TLS files on disk (renewed
  // certificates, common/pki/tls_file_watch.hpp). The forwarder notices connected() == false,
  // reconnects with its backoff and re-sends the batches in flight. Any thread.
  virtual void restart_connection() { disconnect(); }
  // Handlers run on the transport's thread; they must not block for long. Set before connect().
  virtual void on_ack(std::function<void(std::string payload)> handler) = 0;
  virtual void on_connection_lost(std::function<void(std::string cause)> handler) = 0;

  // Another topic (exact name, no wildcards) to subscribe on every connect; its messages go to
  // `handler` on the transport's thread. Set before connect().
  virtual void subscribe(const std::string& topic, MessageHandler handler) = 0;
  // Queues a QoS 1 publish on any topic (consent sync requests, erasure receipts); kUnavailable
  // when disconnected. Any thread.
  virtual Status publish(const std::string& topic, const std::string& payload) = 0;
  // Adds a handler run after every successful connect (subscriptions in place), on the
  // connecting thread; e.g. the consent sync request. Set before connect().
  virtual void on_connected(std::function<void()> handler) = 0;
};
using UplinkPtr = std::unique_ptr<Uplink>;

class MqttUplink final : public Uplink {
 public:
  MqttUplink(mqtt::ClientOptions options, wire::AgentAddress address);
  Status connect() override;
  bool connected() const override { return client_.connected(); }
  Status publish_batch(const std::string& payload) override;
  void disconnect() override { client_.disconnect(); }
  void restart_connection() override { client_.reset_connection(); }
  void on_ack(std::function<void(std::string payload)> handler) override;
  void on_connection_lost(std::function<void(std::string cause)> handler) override;
  void subscribe(const std::string& topic, MessageHandler handler) override;
  Status publish(const std::string& topic, const std::string& payload) override;
  void on_connected(std::function<void()> handler) override;

 private:
  mqtt::MqttClient client_;
  std::string events_topic_;
  std::string acks_topic_;
  std::function<void(std::string)> ack_handler_;
  // Fixed before the first connect, read on the transport's thread afterwards.
  std::map<std::string, MessageHandler> subscriptions_;
  std::vector<std::function<void()>> connected_handlers_;
};

}  // namespace aisle::agent
