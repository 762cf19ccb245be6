// MqttInbox: collects what a test's MQTT client receives (on Paho's callback thread) and lets the
// test wait for it: a payload, or a number of messages on a topic.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "common/mqtt/mqtt_client.hpp"

namespace aisle::test {

class MqttInbox {
 public:
  void attach(mqtt::MqttClient& client) {
    client.on_message([this](mqtt::Message&& m) {
      const std::lock_guard lock(mutex_);
      messages_.push_back(std::move(m));
      changed_.notify_all();
    });
  }

  // Waits until a message with this payload arrived.
  bool wait_for(const std::string& payload,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return has_locked(payload); });
  }
  bool has(const std::string& payload) {
    const std::lock_guard lock(mutex_);
    return has_locked(payload);
  }
  // Waits until `count` messages arrived on `topic`; returns their payloads (fewer on timeout).
  std::vector<std::string> wait_on(const std::string& topic, std::size_t count,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    std::unique_lock lock(mutex_);
    std::vector<std::string> out;
    changed_.wait_for(lock, timeout, [&] {
      out.clear();
      for (const auto& m : messages_) {
        if (m.topic == topic) out.push_back(m.payload);
      }
      return out.size() >= count;
    });
    return out;
  }
  std::vector<mqtt::Message> messages() {
    const std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  bool has_locked(const std::string& payload) const {
    return std::any_of(messages_.begin(), messages_.end(),
                       [&](const mqtt::Message& m) { return m.payload == payload; });
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<mqtt::Message> messages_;
};

}  // namespace aisle::test
