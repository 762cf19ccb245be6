// What `aislectl demo` reads back from the running environment to print its live summary and
// its end-of-run check: Prometheus metrics of the agents and the collector, status, segments,
// recommendations, and the collector's events by source.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace aisle::ctl {

struct HttpTarget {
  std::string host;
  int port = 0;
};
bool parse_http_target(const std::string& url, HttpTarget& out);

// GET `path`; the parsed JSON body on 200, else a null json (status in *status when given).
nlohmann::json http_get_json(const HttpTarget& target, const std::string& path,
                             const std::string& bearer = "", int* status = nullptr);
std::string http_get_text(const HttpTarget& target, const std::string& path);

// The sum of every series of `name` in Prometheus text, optionally only those whose labels
// contain `label_filter` (e.g. `adapter="pos-lanes"`).
double metric_sum(const std::string& text, const std::string& name,
                  const std::string& label_filter = "");

// Events stored at the collector per source (pos, counter, ble, rfid, weight, kiosk, web), from
// GET /v1/events by type and store (each query capped at 1000 events: a lower bound).
std::map<std::string, std::size_t> collector_events_by_source(const HttpTarget& collector,
                                                              const std::string& admin_key,
                                                              const std::vector<std::string>& stores);

}  // namespace aisle::ctl
