#include "agent/segments/segment_routes.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "common/time_format.hpp"

namespace aisle::agent {
namespace {

using nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// An unsigned query parameter; `out` keeps its default when the parameter is absent.
bool read_number(const http::Request& r, const std::string& name, std::uint64_t& out) {
  const std::string text = r.param(name);
  if (text.empty()) return !r.has_param(name);
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

void register_segment_routes(http::HttpServer& server, SegmentListener& listener) {
  server.get("/v1/segments/changes", "/v1/segments/changes", [&listener](const http::Request& r) {
    std::uint64_t since = 0;
    std::uint64_t limit = 100;
    std::uint64_t wait_ms = 0;
    if (!read_number(r, "since", since)) {
      return http::Response::error(400, "since: must be a change sequence number");
    }
    if (!read_number(r, "limit", limit) || limit == 0 || limit > listener.options().max_page) {
      return http::Response::error(
          400, "limit: must be an integer from 1 to " + std::to_string(listener.options().max_page));
    }
    const auto max_wait = static_cast<std::uint64_t>(listener.options().max_wait.count());
    if (!read_number(r, "wait_ms", wait_ms) || wait_ms > max_wait) {
      return http::Response::error(
          400, "wait_ms: must be an integer from 0 to " + std::to_string(max_wait));
    }
    auto page = listener.changes_since(since, static_cast<std::size_t>(limit),
                                       std::chrono::milliseconds(wait_ms));
    if (!page) {
      auto answer = http::Response::error(503, page.error().message);
      answer.headers.emplace_back("Retry-After", "1");
      return answer;
    }
    json changes = json::array();
    for (const auto& c : page->changes) {
      json item = json::parse(wire::encode_segment_change(c.change));
      item["seq"] = c.seq;
      item["received_at"] = format_rfc3339_ms(c.received_at);
      changes.push_back(std::move(item));
    }
    return http::Response::json(
        200, dump({{"changes", std::move(changes)}, {"next", page->next}, {"reset", page->reset}}));
  });

  server.get("/v1/segments/memberships", "/v1/segments/memberships",
             [&listener](const http::Request& r) {
               const std::string profile = r.param("profile");
               if (profile.empty() || profile.size() > 256) {
                 return http::Response::error(400, "profile: required (a profile id)");
               }
               auto found = listener.memberships(profile);
               if (!found) return http::Response::error(404, "no segment changes known for " + profile);
               json segments = json::array();
               for (const auto& m : *found) {
                 segments.push_back({{"segment_id", m.segment_id},
                                     {"version", m.version},
                                     {"entered_at", format_rfc3339_ms(m.entered_at)}});
               }
               return http::Response::json(
                   200, dump({{"profile_id", profile}, {"segments", std::move(segments)}}));
             });
}

}  // namespace aisle::agent
