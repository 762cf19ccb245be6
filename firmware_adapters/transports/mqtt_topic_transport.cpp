#include "firmware_adapters/transports/mqtt_topic_transport.hpp"

#include <unistd.h>

#include <atomic>

#include "common/backoff.hpp"
#include "common/log.hpp"
#include "common/mqtt/mqtt_client.hpp"

namespace aisle::adapters {
namespace {

const log::Logger kLog("adapters.mqtt");
std::atomic<int> next_client_number{0};

}  // namespace

MqttTopicTransport::MqttTopicTransport(MqttTopicOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  if (options_.client_id.empty()) {
    options_.client_id =
        "aisle-adapter-" + std::to_string(::getpid()) + "-" + std::to_string(next_client_number++);
  }
}

MqttTopicTransport::~MqttTopicTransport() {
  stop();
}

Status MqttTopicTransport::start(FrameSink sink) {
  if (thread_.joinable()) return make_error(ErrorCode::kFailedPrecondition, "already started");
  sink_ = std::move(sink);
  thread_ = std::thread([this] { run(); });
  return ok_status();
}

void MqttTopicTransport::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MqttTopicTransport::run() {
  Backoff backoff(options_.reconnect_backoff_base, options_.reconnect_backoff_max);
  bool connected_before = false;
  bool reported = false;
  while (true) {
    mqtt::ClientOptions client_options;
    client_options.uri = options_.uri;
    client_options.client_id = options_.client_id;
    client_options.persistent_session = false;
    client_options.connect_timeout = std::chrono::seconds(2);
    client_options.protocol = mqtt::Protocol::kV311;
    auto client = std::make_unique<mqtt::MqttClient>(client_options);
    client->on_message([this](mqtt::Message&& message) {
      stats_.count_frame(false);
      sink_(Frame{std::move(message.payload), clock_.now_unix_ms(), "mqtt:" + message.topic, 0,
                  false});
    });
    client->on_connection_lost([this](const std::string& cause) {
      kLog.warn("broker connection lost", {{"uri", options_.uri}, {"cause", cause}});
      stats_.update([&](TransportStats& s) {
        s.connected = false;
        s.last_error = cause;
      });
      {
        std::lock_guard lock(mutex_);
        lost_ = true;
      }
      changed_.notify_all();
    });
    {
      std::lock_guard lock(mutex_);
      lost_ = false;
      if (stopping_) break;
    }
    Status status = client->connect();
    if (status) status = client->subscribe(options_.topic);
    if (status) {
      kLog.info("subscribed", {{"uri", options_.uri}, {"topic", options_.topic}});
      backoff.reset();
      reported = false;
      stats_.update([&](TransportStats& s) {
        s.connected = true;
        if (connected_before) ++s.reconnects;
      });
      connected_before = true;
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || lost_; });
      if (stopping_) {
        lock.unlock();
        client->disconnect(std::chrono::milliseconds(100));
        break;
      }
    } else {
      if (!reported) {
        kLog.warn("broker unavailable; retrying with backoff",
                  {{"uri", options_.uri}, {"error", status.error().message}});
        reported = true;
      }
      stats_.update([&](TransportStats& s) { s.last_error = status.error().message; });
    }
    client.reset();
    std::unique_lock lock(mutex_);
    const auto delay = std::max(backoff.next(), std::chrono::milliseconds(20));
    if (changed_.wait_for(lock, delay, [this] { return stopping_; })) break;
  }
  stats_.update([](TransportStats& s) { s.connected = false; });
}

}  // namespace aisle::adapters
