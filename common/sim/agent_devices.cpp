#include "common/sim/agent_devices.hpp"

#include <algorithm>
#include <cmath>

namespace aisle::sim {
namespace {

int scaled(int default_ms, double speed, int floor_ms) {
  return std::max(floor_ms, static_cast<int>(std::lround(default_ms / std::max(1.0, speed))));
}

}  // namespace

nlohmann::json device_endpoints_to_json(const DeviceEndpoints& e) {
  return {{"pos", "tcp:" + e.pos_tcp},
          {"counter", e.counter_serial.empty() ? "tcp:" + e.counter_tcp
                                               : "serial:" + e.counter_serial},
          {"ble", "udp:" + e.ble_udp},
          {"rfid", "file:" + e.rfid_file},
          {"weight", "file:" + e.weight_file}};
}

Result<DeviceEndpoints> device_endpoints_from_json(const nlohmann::json& json) {
  DeviceEndpoints e;
  auto take = [&](const char* key, const char* scheme, std::string& out) -> Status {
    const auto it = json.find(key);
    const std::string prefix = std::string(scheme) + ":";
    if (it == json.end() || !it->is_string() || it->get<std::string>().rfind(prefix, 0) != 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string("devices.") + key + ": expected \"" + prefix + "...\"");
    }
    out = it->get<std::string>().substr(prefix.size());
    return ok_status();
  };
  if (auto s = take("pos", "tcp", e.pos_tcp); !s) return s.error();
  const auto counter = json.find("counter");
  if (counter != json.end() && counter->is_string() &&
      counter->get<std::string>().rfind("serial:", 0) == 0) {
    e.counter_serial = counter->get<std::string>().substr(7);
    if (e.counter_serial.empty() || e.counter_serial[0] != '/') {
      return make_error(ErrorCode::kInvalidArgument,
                        "devices.counter: expected \"serial:/absolute/path\"");
    }
  } else if (auto s = take("counter", "tcp", e.counter_tcp); !s) {
    return make_error(ErrorCode::kInvalidArgument,
                      "devices.counter: expected \"tcp:HOST:PORT\" or \"serial:/path\"");
  }
  if (auto s = take("ble", "udp", e.ble_udp); !s) return s.error();
  if (auto s = take("rfid", "file", e.rfid_file); !s) return s.error();
  if (auto s = take("weight", "file", e.weight_file); !s) return s.error();
  return e;
}

DeviceTiming device_timing(double speed) {
  DeviceTiming t;
  if (speed <= 1.0) return t;
  t.ble_min_enter_ms = scaled(2000, speed, 150);
  t.ble_min_exit_ms = scaled(5000, speed, 300);
  t.ble_lost_ms = scaled(10000, speed, 2500);
  t.ble_sample_ms = scaled(1000, speed, 60);
  t.rfid_absent_ms = scaled(5000, speed, 1500);
  t.rfid_cycle_ms = t.rfid_absent_ms / 4;
  t.file_poll_ms = 50;
  return t;
}

nlohmann::json agent_adapters_config(const Catalog& catalog, const DeviceEndpoints& endpoints,
                                     const std::string& loyalty_key, double speed) {
  const DeviceTiming timing = device_timing(speed);
  nlohmann::json zones = nlohmann::json::object();
  for (const Zone& zone : catalog.zones) {
    for (std::uint16_t minor : zone.beacon_minors) {
      zones["ibeacon:" + catalog.ibeacon_uuid + ":" + std::to_string(catalog.ibeacon_major) +
            ":" + std::to_string(minor)] = {{"zone_id", zone.id}, {"zone_type", zone.type}};
    }
  }
  nlohmann::json antennas = nlohmann::json::object();
  for (std::size_t a = 0; a < catalog.rfid_shelves.size(); ++a) {
    antennas[std::to_string(a + 1)] = catalog.rfid_shelves[a];
  }
  nlohmann::json gtins = nlohmann::json::object();
  nlohmann::json positions = nlohmann::json::object();
  for (const Product& p : catalog.products) {
    if (p.shelf == ShelfKind::kRfid) gtins[p.gtin] = p.sku;
    if (p.shelf == ShelfKind::kWeight) {
      positions[p.weight_position] = {{"shelf_id", "bay-" + std::to_string(p.category_index + 1)},
                                      {"sku", p.sku},
                                      {"unit_g", p.unit_g},
                                      {"tolerance_g", p.tolerance_g}};
    }
  }
  const std::string poll = std::to_string(timing.file_poll_ms) + "ms";
  // A door counter on a serial line (9600 8N1, the usual setting of such counters) or on TCP.
  const nlohmann::json counter_transport =
      endpoints.counter_serial.empty()
          ? nlohmann::json{{"type", "tcp"}, {"listen", endpoints.counter_tcp}}
          : nlohmann::json{{"type", "serial"},
                           {"device", endpoints.counter_serial},
                           {"baud", 9600},
                           {"reopen_backoff_base", "100ms"},
                           {"reopen_backoff_max", "1s"}};
  return nlohmann::json::array({
      {{"name", kPosAdapter},
       {"device_id", "pos-lanes"},
       {"transport", {{"type", "tcp"}, {"listen", endpoints.pos_tcp}}},
       {"decoder",
        {{"type", "pos_jsonl"}, {"loyalty_key", loyalty_key}, {"default_currency", "EUR"}}}},
      {{"name", kCounterAdapter},
       {"device_id", "door-counters"},
       {"transport", counter_transport},
       {"decoder", {{"type", "people_counter"}, {"interval_seconds", timing.counter_interval_s}}}},
      {{"name", kBleAdapter},
       {"device_id", "ble-gateway-1"},
       {"transport", {{"type", "udp"}, {"listen", endpoints.ble_udp}}},
       {"decoder",
        {{"type", "ble_gateway"},
         {"zones", zones},
         {"min_enter_ms", timing.ble_min_enter_ms},
         {"min_exit_ms", timing.ble_min_exit_ms},
         {"lost_ms", timing.ble_lost_ms}}}},
      {{"name", kRfidAdapter},
       {"device_id", "rfid-reader-1"},
       {"transport", {{"type", "file"}, {"path", endpoints.rfid_file}, {"poll_interval", poll}}},
       {"decoder",
        {{"type", "rfid_shelf"},
         {"antennas", antennas},
         {"products", gtins},
         {"absent_ms", timing.rfid_absent_ms}}}},
      {{"name", kWeightAdapter},
       {"device_id", "weight-shelves"},
       {"transport", {{"type", "file"}, {"path", endpoints.weight_file}, {"poll_interval", poll}}},
       {"decoder", {{"type", "weight_shelf"}, {"positions", positions}}}},
  });
}

}  // namespace aisle::sim
