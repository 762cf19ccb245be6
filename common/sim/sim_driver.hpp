// SimDriver: sends a StoreDay's outputs the way the devices and front ends would — POS receipts
// and door counts as lines over TCP connections to the agent's line servers, BLE advertisements
// as UDP datagrams, RFID reads and weight readings appended to the files the agent tails, kiosk
// sessions against the agent's HTTP API (events and GET /v1/recommendations) and web events to
// the collector's HTTP ingest with the write key. Nothing goes through an in-process call.
//
// send() is called by one thread; stats() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/sim/agent_devices.hpp"
#include "common/sim/store_day.hpp"

namespace aisle::sim {

struct DriverTargets {
  std::string agent_http;      // "http://127.0.0.1:8080": kiosks; empty: kiosk sessions skipped
  std::string collector_http;  // web events; empty: skipped
  std::string write_key;       // the collector's write key for web events
  DeviceEndpoints devices;     // an empty endpoint: that device's frames are skipped
  double click_probability = 0.35;
};

struct SinkStats {
  std::uint64_t sent = 0;     // frames written / events posted
  std::uint64_t skipped = 0;  // no endpoint for it
  std::uint64_t failed = 0;   // not delivered: connection refused or broken, HTTP error
  std::uint64_t accepted = 0, rejected = 0;  // HTTP answers (events)
};

struct DriverStats {
  SinkStats sinks[kSinkCount];
  std::uint64_t recs_served = 0;     // 200 with items
  std::uint64_t recs_not_found = 0;  // 404: the agent has no recommendations route (yet)
  std::uint64_t recs_failed = 0;     // anything else
  std::uint64_t rec_clicks = 0;
  nlohmann::json last_recommendation;  // the last 200 answer, for display
  std::string last_recommendation_identity;
};

class SimDriver {
 public:
  explicit SimDriver(DriverTargets targets);
  ~SimDriver();
  SimDriver(const SimDriver&) = delete;
  SimDriver& operator=(const SimDriver&) = delete;

  // Opens the files and the UDP socket and connects the TCP devices; a refused connection is
  // retried on every send (a device reconnects) and counted as failed frames meanwhile.
  Status open();
  void send(std::vector<SimOutput>& outputs);
  DriverStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct RunOptions {
  std::chrono::milliseconds duration{0};  // 0: until stop
  std::chrono::milliseconds step{20};     // wall time between two sends
};

// Advances `day` with the wall clock and sends its outputs until the duration has passed or
// `stop` is set. Blocks.
void run_simulation(StoreDay& day, SimDriver& driver, const RunOptions& options,
                    const std::atomic<bool>& stop);

}  // namespace aisle::sim
