// MqttTopicTransport: one message on a topic of a LOCAL broker (plain TCP on loopback or the
// store LAN, e.g. a gateway's own Mosquitto) = one frame. Uses common/mqtt/MqttClient, QoS 1,
// clean session. A lost or refused connection is retried with full-jitter backoff.
//
// Threading: frames arrive on Paho's callback thread (the sink is thread-agnostic); the
// transport's own thread only connects and reconnects. stop() wakes it at once; a connect that is
// under way is bounded by connect_timeout (2 s).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "firmware_adapters/transport.hpp"
#include "firmware_adapters/transports/io.hpp"

namespace aisle::adapters {

struct MqttTopicOptions {
  std::string uri = "tcp://127.0.0.1:1883";
  std::string topic;      // a filter: "gateway/+/adverts"
  std::string client_id;  // default "aisle-adapter-<pid>-<n>"
  std::chrono::milliseconds reconnect_backoff_base{500};
  std::chrono::milliseconds reconnect_backoff_max{30000};
};

class MqttTopicTransport final : public Transport {
 public:
  MqttTopicTransport(MqttTopicOptions options, const Clock& clock);
  ~MqttTopicTransport() override;

  Status start(FrameSink sink) override;
  void stop() override;
  std::string describe() const override { return "mqtt:" + options_.uri + "/" + options_.topic; }
  TransportStats stats() const override { return stats_.snapshot(); }

 private:
  void run();

  MqttTopicOptions options_;
  const Clock& clock_;
  FrameSink sink_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  bool lost_ = false;
  io::StatsBox stats_;
};

}  // namespace aisle::adapters
