#include "collector/api/segment_api.hpp"

#include <charconv>
#include <memory>

#include "common/json_text.hpp"
#include "common/time_format.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

// Never matches the reserved "stream" (GET /v1/segments/stream belongs to the notifier).
constexpr const char* kIdPattern = "((?!stream$)[a-z0-9_-]{1,64})";

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string time_text(UnixMillis ms) { return ms ? format_rfc3339_ms(ms) : ""; }

http::Response error_answer(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument: return http::Response::error(400, error.message);
    case ErrorCode::kNotFound: return http::Response::error(404, error.message);
    case ErrorCode::kFailedPrecondition: return http::Response::error(409, error.message);
    case ErrorCode::kResourceExhausted: return http::Response::error(422, error.message);
    default: return http::Response::error(503, "segment store unavailable: " + error.message);
  }
}

json backfill_json(const segments::BackfillProgress& b) {
  if (b.state.empty()) return nullptr;
  json j = {{"state", b.state},
            {"version", b.version},
            {"reason", b.reason},
            {"since", time_text(b.since)},
            {"started_at", time_text(b.started_at)},
            {"finished_at", time_text(b.finished_at)},
            {"events_replayed", b.events_replayed},
            {"replayed_up_to", time_text(b.replayed_up_to)}};
  // Replay is in commit order, which follows time closely: the share of the time range covered.
  if (b.state == "done") {
    j["progress"] = 1.0;
  } else if (b.state == "running" && b.replayed_up_to > b.since && b.started_at > b.since) {
    j["progress"] = std::min(1.0, static_cast<double>(b.replayed_up_to - b.since) /
                                      static_cast<double>(b.started_at - b.since));
  } else {
    j["progress"] = 0.0;
  }
  if (!b.error.empty()) j["error"] = b.error;
  return j;
}

struct Shared {
  SegmentApiContext ctx;
  metrics::Counter& bad_requests;
  http::Response bad_request(const std::string& message) {
    bad_requests.inc();
    return http::Response::error(400, message);
  }
};

http::Response unauthorized() {
  auto r = http::Response::error(401, "missing or invalid API key");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace

json segment_info_json(const segments::SegmentInfo& info) {
  json j = {{"segment_id", info.segment_id},
            {"active_version", info.active_version},
            {"latest_version", info.latest_version},
            {"retired", info.retired},
            {"members", info.members},
            {"definition", info.definition},
            {"backfill", backfill_json(info.backfill)}};
  if (!info.versions.empty()) {
    json versions = json::array();
    for (const auto& v : info.versions) {
      versions.push_back({{"version", v.version},
                          {"created_at", time_text(v.created_at)},
                          {"definition", v.definition}});
    }
    j["versions"] = std::move(versions);
  }
  return j;
}

json segment_memberships_json(const segments::SegmentEngine& engine,
                              const std::string& profile_id) {
  json out = json::array();
  for (const auto& m : engine.segments_of(profile_id)) {
    out.push_back({{"segment_id", m.segment_id},
                   {"version", m.version},
                   {"entered_at", time_text(m.entered_at)}});
  }
  return out;
}

void register_segment_api(http::HttpServer& server, SegmentApiContext context) {
  auto& bad = context.metrics.counter("aisle_collector_segment_api_bad_requests_total",
                                      "Segment API requests refused as malformed");
  auto s = std::make_shared<Shared>(Shared{std::move(context), bad});
  const std::string one = std::string("/v1/segments/") + kIdPattern;
  const JsonLimits body_limits{s->ctx.engine.options().definition.max_bytes,
                               s->ctx.engine.options().definition.max_depth * 4 + 16};

  server.get("/v1/segments", "/v1/segments", [s](const http::Request& r) {
    if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
    json list = json::array();
    for (const auto& info : s->ctx.engine.list()) list.push_back(segment_info_json(info));
    return http::Response::json(200, dump({{"segments", std::move(list)}}));
  });

  server.get(one, "/v1/segments/{id}", [s](const http::Request& r) {
    if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
    auto info = s->ctx.engine.get(r.path_params[0]);
    if (!info) return error_answer(info.error());
    return http::Response::json(200, dump(segment_info_json(*info)));
  });

  server.put(one, "/v1/segments/{id}", [s, body_limits](const http::Request& r) {
    auto key = s->ctx.keys.authenticate_admin(r, "admin");
    if (!key) return unauthorized();
    auto body = parse_json(r.body, body_limits);
    if (!body) return s->bad_request("body: " + body.error().message);
    auto version = s->ctx.engine.put(r.path_params[0], *body);
    if (!version) {
      if (version.error().code == ErrorCode::kInvalidArgument) {
        return s->bad_request(version.error().message);
      }
      return error_answer(version.error());
    }
    s->ctx.audit(key->name, "segment.put", r.path_params[0], {{"version", *version}});
    auto info = s->ctx.engine.get(r.path_params[0]);
    json answer = {{"segment_id", r.path_params[0]}, {"version", *version}};
    if (info) {
      answer["active_version"] = info->active_version;
      answer["backfill"] = backfill_json(info->backfill);
    }
    return http::Response::json(202, dump(answer));
  });

  server.del(one, "/v1/segments/{id}", [s](const http::Request& r) {
    auto key = s->ctx.keys.authenticate_admin(r, "admin");
    if (!key) return unauthorized();
    if (auto st = s->ctx.engine.retire(r.path_params[0]); !st) return error_answer(st.error());
    s->ctx.audit(key->name, "segment.delete", r.path_params[0], json::object());
    return http::Response::json(200,
                                dump({{"segment_id", r.path_params[0]}, {"retired", true}}));
  });

  server.post(one + "/rollback", "/v1/segments/{id}/rollback", [s](const http::Request& r) {
    auto key = s->ctx.keys.authenticate_admin(r, "admin");
    if (!key) return unauthorized();
    auto body = parse_json(r.body, JsonLimits{4096, 4});
    if (!body) return s->bad_request("body: " + body.error().message);
    if (!body->is_object() || !body->contains("version") ||
        !(*body)["version"].is_number_unsigned() || (*body)["version"].get<std::uint64_t>() == 0 ||
        (*body)["version"].get<std::uint64_t>() > 0xffffffffu) {
      return s->bad_request("body must be {\"version\": n} with n a positive integer");
    }
    const auto version = static_cast<std::uint32_t>((*body)["version"].get<std::uint64_t>());
    auto result = s->ctx.engine.rollback(r.path_params[0], version);
    if (!result) return error_answer(result.error());
    s->ctx.audit(key->name, "segment.rollback", r.path_params[0], {{"version", version}});
    return http::Response::json(
        202, dump({{"segment_id", r.path_params[0]}, {"version", version}, {"state", "backfill"}}));
  });

  server.get(one + "/members", "/v1/segments/{id}/members", [s](const http::Request& r) {
    if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
    const std::size_t max = s->ctx.engine.options().max_page_members;
    std::size_t limit = std::min(s->ctx.default_page_members, max);
    const std::string text = r.param("limit");
    if (!text.empty()) {
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (ec != std::errc() || ptr != text.data() + text.size() || limit == 0 || limit > max) {
        return s->bad_request("limit must be an integer 1.." + std::to_string(max));
      }
    }
    auto page = s->ctx.engine.members(r.path_params[0], r.param("cursor"), limit);
    if (!page) return error_answer(page.error());
    json members = json::array();
    for (const auto& [profile, entered_at] : page->members) {
      members.push_back({{"profile_id", profile}, {"entered_at", time_text(entered_at)}});
    }
    json body = {{"segment_id", r.path_params[0]}, {"members", std::move(members)}};
    if (!page->next_cursor.empty()) body["next_cursor"] = page->next_cursor;
    return http::Response::json(200, dump(body));
  });

  server.get(one + "/stats", "/v1/segments/{id}/stats", [s](const http::Request& r) {
    if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
    auto info = s->ctx.engine.get(r.path_params[0]);
    if (!info) return error_answer(info.error());
    if (!s->ctx.stats) return http::Response::error(501, "segment statistics are not configured");
    return http::Response::json(200, dump(s->ctx.stats(r.path_params[0])));
  });
}

}  // namespace aisle::collector
