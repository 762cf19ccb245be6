#include "bench/compare/store_traffic.hpp"

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/uuid.hpp"

namespace aisle::bench::compare {
namespace {

// How often each in-store type occurs per 20 events: sensors dominate a store's traffic.
constexpr std::array<std::pair<const char*, int>, 6> kMix = {{{"beacon_proximity", 6},
                                                              {"dwell", 4},
                                                              {"shelf_pickup", 4},
                                                              {"footfall", 3},
                                                              {"kiosk_interaction", 2},
                                                              {"purchase", 1}}};

std::string strip_dashes(const std::string& uuid) {
  std::string out;
  out.reserve(32);
  for (char c : uuid) {
    if (c != '-') out += c;
  }
  return out;
}

}  // namespace

Result<StoreTraffic> make_store_traffic(std::size_t events, const std::string& store_id,
                                        const std::string& examples_dir) {
  std::vector<nlohmann::json> cycle;
  for (const auto& [type, weight] : kMix) {
    const std::string path = examples_dir + "/" + type + ".json";
    std::ifstream in(path);
    auto event = nlohmann::json::parse(in, nullptr, false);
    if (!in.good() && !in.eof()) return make_error(ErrorCode::kIo, "cannot read " + path);
    if (event.is_discarded() || !event.is_object()) {
      return make_error(ErrorCode::kInvalidArgument, path + " is not a JSON object");
    }
    // The gateway fills in received_at and its own agent_id.
    event.erase("received_at");
    event["source"].erase("agent_id");
    event["source"]["store_id"] = store_id;
    for (int i = 0; i < weight; ++i) cycle.push_back(event);
  }
  // Interleave the types (6 beacons in a row would be unlike a store).
  std::vector<nlohmann::json> mixed;
  for (std::size_t round = 0; mixed.size() < cycle.size(); ++round) {
    std::size_t offset = 0;
    for (const auto& [type, weight] : kMix) {
      if (round < static_cast<std::size_t>(weight)) mixed.push_back(cycle[offset + round]);
      offset += static_cast<std::size_t>(weight);
    }
  }
  StoreTraffic traffic;
  traffic.texts.reserve(events);
  traffic.id_hex.reserve(events);
  UuidV7Generator ids;
  for (std::size_t i = 0; i < events; ++i) {
    nlohmann::json event = mixed[i % mixed.size()];
    const std::string id = ids.next().to_string();
    event["event_id"] = id;
    traffic.texts.push_back(event.dump());
    traffic.bytes += traffic.texts.back().size();
    traffic.id_hex.push_back(strip_dashes(id));
  }
  return traffic;
}

std::string event_id_hex(const std::string& text) {
  static const std::string kKey = "\"event_id\":\"";
  const auto at = text.find(kKey);
  if (at == std::string::npos) return "";
  const auto start = at + kKey.size();
  const auto end = text.find('"', start);
  if (end == std::string::npos) return "";
  return strip_dashes(text.substr(start, end - start));
}

}  // namespace aisle::bench::compare
