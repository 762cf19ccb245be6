// StoreTraffic: the events both gateways carry in compare_bench, generated once per run so that
// Aisle's agent and the Mosquitto bridge see byte-identical payloads.
//
// The mix is a store's in-store sources (schemas/examples/): BLE proximity and dwell, RFID shelf
// pickups, door counts, kiosk interactions and POS purchases, each a complete canonical event
// (~500-1,900 bytes) with a fresh UUIDv7 event_id and source.store_id = the bench's store.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace aisle::bench::compare {

struct StoreTraffic {
  std::vector<std::string> texts;   // one compact JSON event each
  std::vector<std::string> id_hex;  // event_id as 32 lowercase hex digits (the collector's key)
  std::size_t bytes = 0;            // sum of texts' sizes
};

// `events` events in the documented mix (per 20: 6 beacon_proximity, 4 dwell, 4 shelf_pickup,
// 3 footfall, 2 kiosk_interaction, 1 purchase), read from `examples_dir`.
Result<StoreTraffic> make_store_traffic(std::size_t events, const std::string& store_id,
                                        const std::string& examples_dir);

// The event_id of an event text as 32 hex digits ("" when it has none): what the DIY sink keys
// arrivals by.
std::string event_id_hex(const std::string& text);

}  // namespace aisle::bench::compare
