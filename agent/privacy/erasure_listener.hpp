// ErasureListener: connects the ErasureHandler to the broker. Erasure requests broadcast to the
// tenant (wire::broadcast_topic(tenant, "erasure")) are queued from the MQTT thread and handled
// on a worker thread (a purge may scan a full outbox for seconds); each receipt is published on
// this agent's up/erasure_receipt. A receipt that cannot be published now (no connection) is not
// kept: the collector re-broadcasts until it has every agent's receipt, and the handler answers
// a repeated request with the same receipt without purging again.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "agent/forwarder/uplink.hpp"
#include "agent/privacy/erasure.hpp"
#include "common/metrics.hpp"
#include "common/wire/topics.hpp"

namespace aisle::agent {

class ErasureListener {
 public:
  ErasureListener(ErasureHandler& handler, Uplink& uplink, wire::AgentAddress address,
                  metrics::Registry& metrics, std::size_t max_queued = 64);
  ~ErasureListener();

  // Subscribes (before the uplink's first connect) and starts the worker.
  void attach();
  void stop();

  // A broadcast erasure request (the subscription's handler; public for tests).
  void on_message(std::string payload);

 private:
  void work();

  ErasureHandler& handler_;
  Uplink& uplink_;
  wire::AgentAddress address_;
  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<wire::ErasureRequest> queue_;
  bool stopping_ = false;
  std::thread worker_;
  metrics::Counter& refused_;
  metrics::Counter& overflow_;
  metrics::Counter& receipts_sent_;
  metrics::Counter& receipts_unsent_;
};

}  // namespace aisle::agent
