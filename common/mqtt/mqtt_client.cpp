#include "common/mqtt/mqtt_client.hpp"

#include <mqtt/async_client.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>

#include "common/http/http_server.hpp"
#include "common/log.hpp"

namespace aisle::mqtt {
namespace {

const log::Logger kLog("mqtt");

// CONNACK codes that mean "this broker does not speak the requested protocol version".
bool is_protocol_refusal(int code) { return code == 1 || code == 132; }

// The port of "ssl://host:port" (0 when malformed).
int port_of(const std::string& uri) {
  const auto scheme = uri.find("://");
  std::string host;
  int port = 0;
  const std::string_view address =
      std::string_view(uri).substr(scheme == std::string::npos ? 0 : scheme + 3);
  return http::parse_listen_address(address, host, port) ? port : 0;
}

// Paho C 1.3.12 leaves Nagle's algorithm on for its socket and has no option to turn it off. A
// batch's last segment or a small ack then waits for the peer's delayed ACK: measured here as
// ~40 ms added to each batch round trip (docs/BENCHMARKS.md). After a connect, find this
// process's TCP sockets connected to the broker's port and set TCP_NODELAY on them (harmless for
// any other connection to that port). Returns how many sockets were changed.
int disable_nagle_towards(int port) {
  if (port <= 0) return 0;
  int changed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int type = 0;
    socklen_t type_len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM) {
      continue;
    }
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    int peer_port = 0;
    if (peer.ss_family == AF_INET) {
      peer_port = ntohs(reinterpret_cast<const sockaddr_in*>(&peer)->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      peer_port = ntohs(reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_port);
    } else {
      continue;
    }
    if (peer_port != port) continue;
    const int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) ++changed;
  }
  return changed;
}

}  // namespace

struct MqttClient::Impl {
  ClientOptions options;
  std::mutex mutex;  // guards client (re)creation against publish/subscribe
  std::unique_ptr<::mqtt::async_client> client;
  int version = 5;
  std::atomic<bool> session_present{false};
  std::function<void(Message&&)> message_handler;
  std::function<void(const std::string&)> lost_handler;

  explicit Impl(ClientOptions o) : options(std::move(o)) {
    version = options.protocol == Protocol::kV311 ? MQTTVERSION_3_1_1 : MQTTVERSION_5;
  }

  void create_client() {
    ::mqtt::create_options create(version);
    client = std::make_unique<::mqtt::async_client>(options.uri, options.client_id, create,
                                                     nullptr);
    client->set_message_callback([this](::mqtt::const_message_ptr message) {
      if (message_handler) {
        message_handler(Message{message->get_topic(), message->get_payload_str()});
      }
    });
    client->set_connection_lost_handler([this](const std::string& cause) {
      if (lost_handler) lost_handler(cause.empty() ? "connection lost" : cause);
    });
  }

  ::mqtt::connect_options connect_options() const {
    auto ssl = ::mqtt::ssl_options_builder()
                   .trust_store(options.ca_file)
                   .key_store(options.cert_file)
                   .private_key(options.key_file)
                   .enable_server_cert_auth(true)
                   .verify(true)
                   .ssl_version(MQTT_SSL_VERSION_TLS_1_2)
                   .error_handler([](const std::string& message) {
                     kLog.warn("TLS error", {{"error", message}});
                   })
                   .finalize();
    ::mqtt::connect_options_builder builder;
    builder.mqtt_version(version)
        .keep_alive_interval(options.keep_alive)
        .connect_timeout(options.connect_timeout)
        .max_inflight(options.max_inflight)
        .automatic_reconnect(false);
    if (options.uri.rfind("ssl://", 0) == 0 || options.uri.rfind("mqtts://", 0) == 0) {
      builder.ssl(std::move(ssl));
    }
    if (version == MQTTVERSION_5) {
      builder.clean_start(!options.persistent_session);
    } else {
      builder.clean_session(!options.persistent_session);
    }
    return builder.finalize();
  }
};

MqttClient::MqttClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

MqttClient::~MqttClient() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->client) {
    try {
      if (impl_->client->is_connected()) impl_->client->disconnect()->wait_for(1000);
    } catch (const ::mqtt::exception&) {
      // Already gone; nothing to flush.
    }
    impl_->client.reset();
  }
}

Status MqttClient::connect() {
  std::lock_guard lock(impl_->mutex);
  for (int round = 0; round < 2; ++round) {
    try {
      if (!impl_->client) impl_->create_client();
      ::mqtt::connect_options options = impl_->connect_options();
      // Properties are set on the object handed to connect(): in Paho C++ 1.2.0 a copied
      // connect_options keeps a pointer to the original's properties — a crash in
      // MQTTAsync_connect and a lost session expiry (paho.mqtt.cpp #444, fixed in 1.3.0).
      if (impl_->version == MQTTVERSION_5 && impl_->options.persistent_session) {
        options.set_properties(::mqtt::properties{
            {::mqtt::property::SESSION_EXPIRY_INTERVAL,
             static_cast<int>(impl_->options.session_expiry.count())}});
      }
      auto token = impl_->client->connect(options);
      const auto timeout = impl_->options.connect_timeout + std::chrono::seconds(2);
      if (!token->wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(timeout))) {
        impl_->client.reset();
        return make_error(ErrorCode::kDeadlineExceeded,
                          "MQTT connect to " + impl_->options.uri + " timed out");
      }
      const auto& response = token->get_connect_response();
      impl_->session_present = response.is_session_present();
      if (disable_nagle_towards(port_of(impl_->options.uri)) == 0) {
        kLog.debug("no broker socket found to set TCP_NODELAY on", {{"uri", impl_->options.uri}});
      }
      kLog.info("connected", {{"uri", impl_->options.uri},
                              {"protocol", impl_->version == MQTTVERSION_5 ? "5" : "3.1.1"},
                              {"session_present", impl_->session_present.load()}});
      return ok_status();
    } catch (const ::mqtt::exception& e) {
      const int code = e.get_reason_code() ? e.get_reason_code() : e.get_return_code();
      impl_->client.reset();
      if (impl_->options.protocol == Protocol::kAuto && impl_->version == MQTTVERSION_5 &&
          is_protocol_refusal(code)) {
        kLog.warn("broker refused MQTT 5; falling back to 3.1.1", {{"uri", impl_->options.uri}});
        impl_->version = MQTTVERSION_3_1_1;
        continue;
      }
      return make_error(ErrorCode::kUnavailable,
                        "MQTT connect to " + impl_->options.uri + " failed: " + e.what());
    }
  }
  return make_error(ErrorCode::kUnavailable, "MQTT connect to " + impl_->options.uri + " failed");
}

void MqttClient::disconnect(std::chrono::milliseconds timeout) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->client) return;
  try {
    if (impl_->client->is_connected()) impl_->client->disconnect()->wait_for(timeout);
  } catch (const ::mqtt::exception& e) {
    kLog.debug("disconnect", {{"error", e.what()}});
  }
}

void MqttClient::reset_connection(std::chrono::milliseconds timeout) {
  // Paho C keeps its SSL_CTX (and a TLS session to resume) per client: a new client is how it
  // loads the certificate files again. The old one is taken out under the lock and closed
  // outside it, so a message handler publishing from Paho's thread meanwhile gets kUnavailable
  // instead of waiting on a lock held across the disconnect.
  std::unique_ptr<::mqtt::async_client> old;
  {
    std::lock_guard lock(impl_->mutex);
    old = std::move(impl_->client);
  }
  if (!old) return;
  try {
    if (old->is_connected()) old->disconnect()->wait_for(timeout);
  } catch (const ::mqtt::exception& e) {
    kLog.debug("disconnect", {{"error", e.what()}});
  }
}

bool MqttClient::connected() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->client && impl_->client->is_connected();
}

int MqttClient::protocol_version() const { return impl_->version; }
bool MqttClient::session_present() const { return impl_->session_present; }

Status MqttClient::subscribe(const std::string& topic_filter) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->client) return make_error(ErrorCode::kUnavailable, "MQTT not connected");
  try {
    auto token = impl_->client->subscribe(topic_filter, 1);
    if (!token->wait_for(std::chrono::seconds(10))) {
      return make_error(ErrorCode::kDeadlineExceeded, "subscribe " + topic_filter + " timed out");
    }
    // A refused subscription comes back as a failure reason code (MQTT 5) or 0x80 granted QoS.
    const int reason = token->get_reason_code();
    if (reason >= 0x80) {
      return make_error(ErrorCode::kUnavailable, "broker refused subscription to " + topic_filter +
                                                     " (reason " + std::to_string(reason) + ")");
    }
    return ok_status();
  } catch (const ::mqtt::exception& e) {
    return make_error(ErrorCode::kUnavailable,
                      "subscribe " + topic_filter + " failed: " + e.what());
  }
}

Status MqttClient::publish(const std::string& topic, const std::string& payload) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->client || !impl_->client->is_connected()) {
    return make_error(ErrorCode::kUnavailable, "MQTT not connected");
  }
  try {
    impl_->client->publish(topic, payload.data(), payload.size(), 1, false);
    return ok_status();
  } catch (const ::mqtt::exception& e) {
    return make_error(ErrorCode::kUnavailable, std::string("publish failed: ") + e.what());
  }
}

Status MqttClient::publish_and_wait(const std::string& topic, const std::string& payload,
                                    std::chrono::milliseconds timeout) {
  ::mqtt::delivery_token_ptr token;
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->client || !impl_->client->is_connected()) {
      return make_error(ErrorCode::kUnavailable, "MQTT not connected");
    }
    try {
      token = impl_->client->publish(topic, payload.data(), payload.size(), 1, false);
    } catch (const ::mqtt::exception& e) {
      return make_error(ErrorCode::kUnavailable, std::string("publish failed: ") + e.what());
    }
  }
  try {
    if (!token->wait_for(timeout)) {
      return make_error(ErrorCode::kDeadlineExceeded, "publish to " + topic + " not acknowledged");
    }
    return ok_status();
  } catch (const ::mqtt::exception& e) {
    return make_error(ErrorCode::kUnavailable, std::string("publish failed: ") + e.what());
  }
}

void MqttClient::on_message(std::function<void(Message&&)> handler) {
  impl_->message_handler = std::move(handler);
}

void MqttClient::on_connection_lost(std::function<void(const std::string&)> handler) {
  impl_->lost_handler = std::move(handler);
}

}  // namespace aisle::mqtt
