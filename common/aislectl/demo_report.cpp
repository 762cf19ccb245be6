#include "common/aislectl/demo_report.hpp"

#include <httplib.h>

#include <cstdlib>
#include <sstream>

#include "common/sim/agent_devices.hpp"

namespace aisle::ctl {

bool parse_http_target(const std::string& url, HttpTarget& out) {
  const auto scheme = url.find("://");
  const std::string rest = scheme == std::string::npos ? url : url.substr(scheme + 3);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  out.host = rest.substr(0, colon);
  out.port = std::atoi(rest.c_str() + colon + 1);
  return out.port > 0;
}

nlohmann::json http_get_json(const HttpTarget& target, const std::string& path,
                             const std::string& bearer, int* status) {
  httplib::Client client(target.host, target.port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  httplib::Headers headers;
  if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
  auto result = client.Get(path, headers);
  if (status) *status = result ? result->status : 0;
  if (!result || result->status != 200) return nullptr;
  auto json = nlohmann::json::parse(result->body, nullptr, false);
  return json.is_discarded() ? nlohmann::json() : json;
}

std::string http_get_text(const HttpTarget& target, const std::string& path) {
  httplib::Client client(target.host, target.port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  auto result = client.Get(path);
  return result && result->status == 200 ? result->body : "";
}

double metric_sum(const std::string& text, const std::string& name,
                  const std::string& label_filter) {
  std::istringstream lines(text);
  std::string line;
  double sum = 0;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    if (!label_filter.empty() && line.find(label_filter) == std::string::npos) continue;
    sum += std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
  }
  return sum;
}

std::map<std::string, std::size_t> collector_events_by_source(
    const HttpTarget& collector, const std::string& admin_key,
    const std::vector<std::string>& stores) {
  std::map<std::string, std::size_t> by_source;
  auto count = [&](const std::string& query) {
    const nlohmann::json answer =
        http_get_json(collector, "/v1/events?limit=1000&" + query, admin_key);
    if (!answer.is_object()) return;
    for (const auto& event : answer.value("events", nlohmann::json::array())) {
      // Stored events: {"channel", "store_id", ..., "event": {the canonical event}}.
      const nlohmann::json inner = event.value("event", nlohmann::json::object());
      const nlohmann::json source =
          inner.is_object() ? inner.value("source", nlohmann::json::object()) : nlohmann::json::object();
      const std::string channel = event.value("channel", source.value("channel", ""));
      const std::string device = source.value("device_id", "");
      std::string name;
      if (channel == "web" || channel == "kiosk") name = channel;
      else if (device == "pos-lanes") name = "pos";
      else if (device == "door-counters") name = "counter";
      else if (device == "ble-gateway-1") name = "ble";
      else if (device == "rfid-reader-1") name = "rfid";
      else if (device == "weight-shelves") name = "weight";
      if (!name.empty()) ++by_source[name];
    }
  };
  for (const std::string& store : stores) {
    for (const char* type : {"purchase", "footfall", "dwell", "shelf_pickup", "kiosk_interaction"}) {
      count("store=" + store + "&type=" + type);
    }
  }
  for (const char* type : {"page_view", "identify"}) count(std::string("type=") + type);
  return by_source;
}

}  // namespace aisle::ctl
