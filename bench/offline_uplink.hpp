// OfflineUplink: an agent uplink that never connects, for benchmarks that measure the agent
// alone — the forwarder stays disconnected and everything stays in the outbox.
#pragma once

#include <functional>
#include <string>

#include "agent/forwarder/uplink.hpp"
#include "common/result.hpp"

namespace aisle::bench {

class OfflineUplink final : public agent::Uplink {
 public:
  Status connect() override { return no_broker(); }
  bool connected() const override { return false; }
  Status publish_batch(const std::string&) override { return no_broker(); }
  void disconnect() override {}
  void on_ack(std::function<void(std::string)>) override {}
  void on_connection_lost(std::function<void(std::string)>) override {}
  void subscribe(const std::string&, MessageHandler) override {}
  Status publish(const std::string&, const std::string&) override { return no_broker(); }
  void on_connected(std::function<void()>) override {}

 private:
  static Status no_broker() { return make_error(ErrorCode::kUnavailable, "benchmark: no broker"); }
};

}  // namespace aisle::bench
