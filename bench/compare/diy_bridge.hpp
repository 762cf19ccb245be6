// The do-it-yourself alternative to Aisle's agent, as compare_bench builds it (docs/compare.md):
//
//   producers --QoS 1--> gateway Mosquitto (persistence, bridge "out 1", cleansession false)
//             --TLS, client certificate--> central Mosquitto --QoS 1, persistent session--> DiySink
//
// The central broker is the one `aislectl devenv` generates for Aisle (same TLS, same ACL): the
// bridge presents the store agent's certificate, so it may publish exactly that agent's events
// topic, and the sink presents the collector's.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "collector/store/sqlite_db.hpp"
#include "common/mqtt/mqtt_client.hpp"
#include "common/result.hpp"

namespace aisle::bench::compare {

struct GatewayBrokerOptions {
  std::string dir;           // holds mosquitto.conf, data/ (persistence) and gateway.log
  int port = 0;              // plain MQTT listener on 127.0.0.1 for the store's producers
  std::string central_host;  // the central broker's TLS listener
  int central_port = 0;
  std::string ca_file, cert_file, key_file;  // the bridge's TLS identity (a store agent's)
  std::string topic;                         // bridged "out" at QoS 1
  std::string user;                          // Mosquitto's `user` (when started as root)
  // 0: Mosquitto's default (1800 s). A kill -9 loses what changed since the last save.
  int autosave_interval_s = 0;
  // -1: Mosquitto's default (1000 per client, the bridge included); 0: unlimited.
  long max_queued_messages = -1;
  // -1: Mosquitto's default (20 QoS 1 messages in flight per client, the bridge included).
  long max_inflight_messages = -1;
};

// Writes DIR/mosquitto.conf (and creates DIR/data/); returns the config path.
Result<std::string> write_gateway_config(const GatewayBrokerOptions& options);

// The central subscriber of the DIY setup: subscribes at QoS 1 with a persistent session,
// reconnects on its own, and records every arrival (duplicates included) in SQLite
// (synchronous=FULL, WAL, group commits from one writer thread). It acknowledges a message to
// the broker when it is queued for the writer, i.e. before its commit — a sink crash could lose
// it, but the sink is never killed in the bench.
class DiySink {
 public:
  DiySink(mqtt::ClientOptions options, std::string topic, std::string db_path);
  ~DiySink();
  DiySink(const DiySink&) = delete;
  DiySink& operator=(const DiySink&) = delete;

  // Opens the database and starts the connector and writer threads (returns at once).
  Status start();
  // Stops both threads (after writing what is queued) and disconnects.
  void stop();

  // Arrivals committed so far, and how many distinct event ids among them.
  std::uint64_t arrivals() const { return arrivals_.load(); }
  std::uint64_t distinct() const { return distinct_.load(); }
  // Arrivals per event id (32 hex digits). Call after stop().
  const std::unordered_map<std::string, std::uint32_t>& counts() const { return counts_; }

 private:
  void connect_loop();
  void write_loop();

  mqtt::ClientOptions options_;
  std::string topic_;
  std::string db_path_;
  collector::SqliteDb db_;
  std::unique_ptr<mqtt::MqttClient> client_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;  // payloads waiting for the writer
  bool stopping_ = false;

  std::unordered_map<std::string, std::uint32_t> counts_;  // writer thread only until stop()
  std::atomic<std::uint64_t> arrivals_{0};
  std::atomic<std::uint64_t> distinct_{0};
  std::thread connector_;
  std::thread writer_;
};

}  // namespace aisle::bench::compare
