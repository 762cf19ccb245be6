// The store devices of one agent as its config sees them: the five adapters (POS lanes over TCP,
// the door counters over TCP or a serial line, the BLE gateway over UDP, the RFID shelf reader and the weight
// shelves appending to files), with decoder options derived from the same seeded Catalog the
// simulator uses, and decoder timers matched to the simulator's speed-up.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/sim/catalog.hpp"

namespace aisle::sim {

// Where each device reaches the agent. "HOST:PORT" for tcp/udp, an absolute path for files.
struct DeviceEndpoints {
  std::string pos_tcp;      // pos_jsonl receipts, one per line
  std::string counter_tcp;  // people counter lines (when counter_serial is empty)
  std::string ble_udp;      // BLE gateway JSON lines, one advertisement per datagram
  std::string rfid_file;    // RFID reads (CSV), appended
  std::string weight_file;  // weight shelf readings (CSV), appended
  // When set, the door counters are a serial device instead: the simulator opens a pseudo-terminal
  // and links this path to its slave side, the agent's serial transport opens the link (as it
  // would a /dev/serial/by-id/... link to a USB adapter) and reopens it when it comes and goes.
  std::string counter_serial;
};

nlohmann::json device_endpoints_to_json(const DeviceEndpoints& endpoints);
Result<DeviceEndpoints> device_endpoints_from_json(const nlohmann::json& json);

// Wall-clock timers of the decoders and the device cadences the simulator keeps, for a speed-up.
// At speed 1 they are the decoders' defaults; faster, the decoders' timers shrink with the
// simulated time (a 5 s RFID absence is 0.5 s of wall time at speed 10) down to floors that the
// agent's ~1 s decoder tick and the file transport's poll can still resolve.
struct DeviceTiming {
  int ble_min_enter_ms = 2000;
  int ble_min_exit_ms = 5000;
  int ble_lost_ms = 10000;
  int ble_sample_ms = 1000;  // gateway report period per heard beacon (wall)
  int rfid_absent_ms = 5000;
  int rfid_cycle_ms = 1000;  // reader inventory round (wall)
  int file_poll_ms = 250;
  int counter_interval_s = 60;  // simulated seconds per count report
};
DeviceTiming device_timing(double speed);

// The agent config's "adapters" array for these devices.
nlohmann::json agent_adapters_config(const Catalog& catalog, const DeviceEndpoints& endpoints,
                                     const std::string& loyalty_key, double speed);

// Adapter names in that array (metrics label `adapter`).
inline constexpr const char* kPosAdapter = "pos-lanes";
inline constexpr const char* kCounterAdapter = "door-counters";
inline constexpr const char* kBleAdapter = "ble-gateway";
inline constexpr const char* kRfidAdapter = "rfid-shelves";
inline constexpr const char* kWeightAdapter = "weight-shelves";

}  // namespace aisle::sim
