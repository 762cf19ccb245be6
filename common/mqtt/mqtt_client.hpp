// MqttClient: the one place Paho MQTT C++ is adapted (agents publish batches and receive acks;
// the collector subscribes to batches and publishes acks).
//
// Deliberately narrow: connect (TLS with client certificate, MQTT 5 when the broker offers it,
// else 3.1.1; persistent session), subscribe, publish at QoS 1, and two callbacks. Reconnection is
// the caller's job (with full-jitter backoff): Paho's automatic reconnect has no jitter.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace aisle::mqtt {

enum class Protocol { kAuto, kV5, kV311 };

struct ClientOptions {
  std::string uri;        // "ssl://host:8883" (TLS) or "tcp://host:1883" (tests only)
  std::string client_id;  // stable: the broker keeps the session (subscriptions, queued acks)
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  Protocol protocol = Protocol::kAuto;
  std::chrono::seconds keep_alive{30};
  std::chrono::seconds connect_timeout{10};
  // Broker-side session lifetime while disconnected (MQTT 5; 3.1.1 sessions never expire).
  std::chrono::seconds session_expiry{7 * 24 * 3600};
  bool persistent_session = true;
  // Upper bound of QoS 1 messages in flight. Callers keep their own window below it: Paho C
  // 1.3.12 stalls in 1 s steps when more are queued (paho.mqtt.c #1268).
  int max_inflight = 128;
};

struct Message {
  std::string topic;
  std::string payload;
};

class MqttClient {
 public:
  explicit MqttClient(ClientOptions options);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Blocks up to connect_timeout. kUnavailable when the broker cannot be reached or refuses
  // (the message says why: TLS failure, not authorized, ...).
  Status connect();
  // Blocks up to `timeout` for in-flight work to finish.
  void disconnect(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  // Disconnects (up to `timeout`) and discards the Paho client and its TLS context, so the next
  // connect() reads ca_file, cert_file and key_file again: how renewed certificates are put in
  // use (common/pki/tls_file_watch.hpp). No connection-lost callback runs; the caller's
  // reconnect logic notices connected() == false. QoS 1 messages in flight are the caller's to
  // re-send. Any thread.
  void reset_connection(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  bool connected() const;
  // 5 or 4 (3.1.1) after a successful connect.
  int protocol_version() const;
  // True when the broker resumed a previous session on the last connect.
  bool session_present() const;

  // Blocks until the broker granted the subscription (QoS 1).
  Status subscribe(const std::string& topic_filter);
  // Queues a QoS 1 publish and returns at once. kUnavailable when not connected.
  Status publish(const std::string& topic, const std::string& payload);
  // Blocks until the broker acknowledged (PUBACK) or timeout; for acks and tests.
  Status publish_and_wait(const std::string& topic, const std::string& payload,
                          std::chrono::milliseconds timeout);

  // Called on Paho's network thread; may block briefly (blocking there is backpressure: the
  // client stops reading from the broker). Set before connect().
  void on_message(std::function<void(Message&&)> handler);
  // Called on Paho's thread when an established connection breaks.
  void on_connection_lost(std::function<void(const std::string& cause)> handler);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aisle::mqtt
