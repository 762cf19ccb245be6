// FakeUplink: the forwarder's Uplink without a broker. Records what was published; the test
// plays the collector by calling ack(), and the network by setting reachable/dropping.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/forwarder/uplink.hpp"
#include "common/wire/batch.hpp"

namespace aisle::test {

class FakeUplink final : public agent::Uplink {
 public:
  Status connect() override {
    {
      std::lock_guard lock(mutex_);
      ++connect_calls;
      if (!reachable) return make_error(ErrorCode::kUnavailable, "broker unreachable (fake)");
      connected_ = true;
    }
    for (const auto& handler : connected_handlers_) handler();
    return ok_status();
  }
  bool connected() const override {
    std::lock_guard lock(mutex_);
    return connected_;
  }
  Status publish_batch(const std::string& payload) override {
    std::lock_guard lock(mutex_);
    if (!connected_) return make_error(ErrorCode::kUnavailable, "not connected (fake)");
    published.push_back(payload);
    return ok_status();
  }
  void disconnect() override {
    std::lock_guard lock(mutex_);
    connected_ = false;
  }
  void on_ack(std::function<void(std::string)> handler) override { ack_handler_ = handler; }
  void on_connection_lost(std::function<void(std::string)> handler) override {
    lost_handler_ = handler;
  }

  void subscribe(const std::string& topic, MessageHandler handler) override {
    subscriptions_[topic] = std::move(handler);
  }
  Status publish(const std::string& topic, const std::string& payload) override {
    std::lock_guard lock(mutex_);
    if (!connected_) return make_error(ErrorCode::kUnavailable, "not connected (fake)");
    published_to.emplace_back(topic, payload);
    return ok_status();
  }
  void on_connected(std::function<void()> handler) override {
    connected_handlers_.push_back(std::move(handler));
  }
  // A message arrives on a subscribed topic (false: nothing subscribed to it).
  bool deliver(const std::string& topic, const std::string& payload) {
    auto it = subscriptions_.find(topic);
    if (it == subscriptions_.end()) return false;
    it->second(payload);
    return true;
  }
  std::vector<std::pair<std::string, std::string>> published_on() const {
    std::lock_guard lock(mutex_);
    return published_to;
  }

  // The broker link breaks (the transport's thread would call the handler).
  void drop(const std::string& cause = "connection reset (fake)") {
    {
      std::lock_guard lock(mutex_);
      connected_ = false;
    }
    if (lost_handler_) lost_handler_(cause);
  }
  // Delivers an ack for a published batch, as the collector would after its commit.
  void ack(const wire::BatchHeader& header, const std::string& status = "committed") {
    wire::Ack a;
    a.stream_id = header.stream_id;
    a.batch_seq = header.batch_seq;
    a.status = status;
    a.stored = header.count;
    if (ack_handler_) ack_handler_(wire::encode_ack(a));
  }
  void raw_ack(const std::string& payload) {
    if (ack_handler_) ack_handler_(payload);
  }
  std::vector<wire::DecodedBatch> decoded() const {
    std::lock_guard lock(mutex_);
    std::vector<wire::DecodedBatch> out;
    for (const auto& p : published) {
      auto batch = wire::decode_batch(p);
      if (batch) out.push_back(std::move(*batch));
    }
    return out;
  }

  bool reachable = true;
  int connect_calls = 0;
  std::vector<std::string> published;
  std::vector<std::pair<std::string, std::string>> published_to;  // publish(): (topic, payload)

 private:
  mutable std::mutex mutex_;
  bool connected_ = false;
  std::function<void(std::string)> ack_handler_;
  std::function<void(std::string)> lost_handler_;
  std::map<std::string, MessageHandler> subscriptions_;
  std::vector<std::function<void()>> connected_handlers_;
};

}  // namespace aisle::test
