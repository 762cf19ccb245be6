#include "common/aislectl/quarantine_command.hpp"

#include <iostream>

#include "common/aislectl/collector_client.hpp"

namespace aisle::ctl {
namespace {

using nlohmann::json;

constexpr const char* kUsage =
    "Usage: aislectl quarantine ls [--store S] [--reason R] [--since T] [--limit N] [--after ID]\n"
    "                              [--all] [--json]\n"
    "       aislectl quarantine show ID\n"
    "       aislectl quarantine replay ID...\n"
    "Common: --url URL (default $AISLE_COLLECTOR_URL or http://127.0.0.1:8780),\n"
    "        --key KEY (default $AISLE_ADMIN_KEY), --env DEVENV_DIR (both from env.json)\n"
    "\n"
    "ls      lists quarantined input (newest ids last; --all includes replayed entries)\n"
    "show    prints one entry with its raw payload and every error\n"
    "replay  re-validates entries with the collector's current schemas (after a schema fix);\n"
    "        what is valid now is stored and marked replayed\n"
    "Exit 0 on success, 1 when the collector refused or some replayed entries are still\n"
    "invalid, 2 on usage errors or when the collector cannot be reached.\n";

std::string url_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

int report_failure(const Result<HttpAnswer>& answer) {
  if (!answer) {
    std::cerr << "aislectl: " << answer.error().message << "\n";
    return 2;
  }
  std::cerr << "aislectl: collector answered " << answer->status << ": " << answer->body;
  return 1;
}

}  // namespace

int run_quarantine_command(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  auto endpoint = endpoint_from_args(args, rest);
  if (!endpoint) {
    std::cerr << "aislectl: " << endpoint.error().message << "\n";
    return 2;
  }
  if (rest.empty() || rest[0] == "--help") {
    std::cout << kUsage;
    return rest.empty() ? 2 : 0;
  }
  const std::string verb = rest[0];
  if (verb == "ls") {
    std::string query;
    bool as_json = false;
    for (std::size_t i = 1; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      auto value = [&](const char* name) {
        query += (query.empty() ? "?" : "&") + std::string(name) + "=" + url_encode(rest[++i]);
      };
      if (a == "--store" && i + 1 < rest.size()) value("store");
      else if (a == "--reason" && i + 1 < rest.size()) value("reason");
      else if (a == "--since" && i + 1 < rest.size()) value("since");
      else if (a == "--limit" && i + 1 < rest.size()) value("limit");
      else if (a == "--after" && i + 1 < rest.size()) value("after");
      else if (a == "--all") query += (query.empty() ? "?" : "&") + std::string("include_replayed=true");
      else if (a == "--json") as_json = true;
      else {
        std::cerr << "aislectl quarantine ls: unknown argument " << a << "\n" << kUsage;
        return 2;
      }
    }
    auto answer = http_get(*endpoint, "/v1/quarantine" + query);
    if (!answer || answer->status != 200) return report_failure(answer);
    const json body = json::parse(answer->body, nullptr, false);
    if (as_json) {
      std::cout << body.dump(2) << "\n";
      return 0;
    }
    std::printf("%-8s %-24s %-14s %-12s %-10s %-7s %s\n", "ID", "QUARANTINED_AT", "REASON",
                "STORE", "AGENT", "ORIGIN", "FIRST ERROR");
    for (const auto& e : body.value("entries", json::array())) {
      std::string first_error;
      if (e.contains("errors") && e["errors"].is_array() && !e["errors"].empty()) {
        const auto& err = e["errors"][0];
        first_error = err.value("path", "") + ": " + err.value("keyword", "") + ": " +
                      err.value("message", "");
      }
      std::printf("%-8lld %-24s %-14s %-12s %-10s %-7s %s\n",
                  static_cast<long long>(e.value("id", 0LL)),
                  e.value("quarantined_at", "").c_str(), e.value("reason", "").c_str(),
                  e.value("store_id", "").c_str(), e.value("agent_id", "").c_str(),
                  e.value("origin", "").c_str(), first_error.c_str());
    }
    if (body.contains("next_after")) {
      std::cout << "more: --after " << body["next_after"] << "\n";
    }
    return 0;
  }
  if (verb == "show" && rest.size() == 2) {
    auto answer = http_get(*endpoint, "/v1/quarantine/" + url_encode(rest[1]));
    if (!answer || answer->status != 200) return report_failure(answer);
    std::cout << json::parse(answer->body, nullptr, false).dump(2) << "\n";
    return 0;
  }
  if (verb == "replay" && rest.size() >= 2) {
    json ids = json::array();
    for (std::size_t i = 1; i < rest.size(); ++i) {
      try {
        ids.push_back(std::stoll(rest[i]));
      } catch (const std::exception&) {
        std::cerr << "aislectl quarantine replay: not an id: " << rest[i] << "\n";
        return 2;
      }
    }
    auto answer = http_post(*endpoint, "/v1/quarantine/replay", json{{"ids", ids}}.dump(),
                            "application/json");
    if (!answer || answer->status != 200) return report_failure(answer);
    const json body = json::parse(answer->body, nullptr, false);
    std::cout << body.dump(2) << "\n";
    return body.value("still_invalid", json::array()).empty() ? 0 : 1;
  }
  std::cerr << kUsage;
  return 2;
}

}  // namespace aisle::ctl
