#include "collector/api/privacy_api.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/time_format.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

http::Response unauthorized() {
  auto r = http::Response::error(401, "missing or invalid API key, or a key without the scope "
                                      "this route needs");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace

json erasure_json(const ErasureStatus& s) {
  json agents = json::array();
  std::size_t confirmed = 0;
  for (const auto& a : s.agents) {
    json agent = {{"store_id", a.store_id}, {"agent_id", a.agent_id},
                  {"confirmed", a.confirmed_at != 0}};
    if (a.confirmed_at) {
      ++confirmed;
      agent["confirmed_at"] = format_rfc3339_ms(a.confirmed_at);
      agent["events_purged"] = a.events_purged;
      agent["cache_entries_purged"] = a.cache_entries_purged;
    }
    agents.push_back(std::move(agent));
  }
  json j = {{"erasure_id", s.erasure_id},
            {"profile_id", s.profile_id},
            {"requested_by", s.requested_by},
            {"requested_at", format_rfc3339_ms(s.requested_at)},
            {"state", s.state},
            {"events_deleted", s.events_deleted},
            {"broadcasts", s.broadcasts},
            {"agents_expected", s.agents.size()},
            {"agents_confirmed", confirmed},
            {"agents", std::move(agents)}};
  if (s.completed_at) j["completed_at"] = format_rfc3339_ms(s.completed_at);
  return j;
}

void register_privacy_api(http::HttpServer& server, PrivacyApiContext context) {
  auto ctx = std::make_shared<PrivacyApiContext>(context);

  server.del(R"(/v1/profiles/([A-Za-z0-9._:-]{1,128}))", "/v1/profiles/{id}",
             [ctx](const http::Request& r) {
               auto key = ctx->keys.authenticate_admin(r, "admin");
               if (!key) return unauthorized();
               auto status = ctx->erasures.erase(r.path_params[0], "admin:" + key->name);
               if (!status) {
                 if (status.error().code == ErrorCode::kNotFound) {
                   return http::Response::error(404, "no profile " + r.path_params[0]);
                 }
                 return http::Response::error(503, "erasure failed: " + status.error().message);
               }
               // 202: the collector's part is done; the agents' part is tracked at the
               // Location below.
               auto response = http::Response::json(202, dump(erasure_json(*status)));
               response.headers.emplace_back("Location", "/v1/erasures/" + status->erasure_id);
               return response;
             });

  server.get("/v1/erasures", "/v1/erasures", [ctx](const http::Request& r) {
    if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
    std::size_t limit = 50;
    if (const std::string text = r.param("limit"); !text.empty()) {
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (ec != std::errc() || ptr != text.data() + text.size() || limit == 0 || limit > 1000) {
        return http::Response::error(400, "limit must be an integer from 1 to 1000");
      }
    }
    auto list = ctx->erasures.recent(limit);
    if (!list) return http::Response::error(503, "erasures unavailable: " + list.error().message);
    json items = json::array();
    for (const auto& s : *list) items.push_back(erasure_json(s));
    return http::Response::json(200, dump({{"erasures", std::move(items)}}));
  });

  server.get(R"(/v1/erasures/([0-9a-f-]{36}))", "/v1/erasures/{id}", [ctx](const http::Request& r) {
    if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
    auto status = ctx->erasures.get(r.path_params[0]);
    if (!status) return http::Response::error(503, "erasures unavailable: " + status.error().message);
    if (!*status) return http::Response::error(404, "no erasure " + r.path_params[0]);
    return http::Response::json(200, dump(erasure_json(**status)));
  });
}

}  // namespace aisle::collector
