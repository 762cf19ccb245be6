#include "collector/api/collector_api.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "common/event_validator.hpp"
#include "common/json_text.hpp"
#include "common/time_format.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// "since" accepts RFC 3339 or Unix milliseconds.
bool parse_since(const std::string& text, UnixMillis& out) {
  if (text.empty()) return true;
  if (auto ms = parse_rfc3339(text)) {
    out = *ms;
    return true;
  }
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_count(const std::string& text, std::size_t& out) {
  if (text.empty()) return true;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

json quarantine_json(const QuarantineEntry& e, bool with_raw) {
  json j = {{"id", e.id},
            {"reason", e.reason},
            {"store_id", e.store_id},
            {"agent_id", e.agent_id},
            {"origin", e.origin},
            {"received_at", format_rfc3339_ms(e.received_at)},
            {"quarantined_at", format_rfc3339_ms(e.quarantined_at)},
            {"errors", json::parse(e.errors, nullptr, false)}};
  if (e.replayed_at) j["replayed_at"] = format_rfc3339_ms(e.replayed_at);
  if (with_raw) {
    j["raw"] = e.raw;
  } else {
    j["raw_bytes"] = e.raw.size();
  }
  return j;
}

json event_json(const StoredEvent& e) {
  json j = {{"event_id", e.event_id},
            {"type", e.type},
            {"store_id", e.store_id},
            {"agent_id", e.agent_id},
            {"channel", e.channel},
            {"occurred_at", format_rfc3339_ms(e.occurred_at)},
            {"received_at", format_rfc3339_ms(e.received_at)},
            {"ingested_at", format_rfc3339_ms(e.ingested_at)}};
  j["event"] = json::parse(e.payload, nullptr, false);
  return j;
}

http::Response store_error(const Error& error) {
  return http::Response::error(503, "store unavailable: " + error.message);
}

}  // namespace

void register_collector_api(http::HttpServer& server, CollectorApiContext context) {
  auto ctx = std::make_shared<CollectorApiContext>(std::move(context));
  auto unauthorized = [] {
    auto r = http::Response::error(401, "missing or invalid API key");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };

  server.post("/v1/events", "/v1/events", [ctx, unauthorized](const http::Request& request) {
    auto key = ctx->keys.authenticate_write(request);
    if (!key) return unauthorized();
    http::Response error_answer;
    auto records = http::split_ingest_body(request, ctx->limits, error_answer);
    if (!records) return error_answer;
    IngestReport report = ctx->ingest.ingest(*records, *key, request.remote_addr);
    return http::ingest_answer(report);
  });

  server.get("/v1/quarantine", "/v1/quarantine", [ctx, unauthorized](const http::Request& r) {
    if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
    QuarantineQuery q;
    q.store_id = r.param("store");
    q.reason = r.param("reason");
    q.include_replayed = r.param("include_replayed") == "true";
    std::size_t after = 0;
    if (!parse_since(r.param("since"), q.since) || !parse_count(r.param("limit"), q.limit) ||
        !parse_count(r.param("after"), after)) {
      return http::Response::error(
          400, "bad query: since is RFC 3339 or Unix ms; limit and after are integers");
    }
    q.after_id = static_cast<std::int64_t>(after);
    if (!r.has_param("limit")) q.limit = 100;
    q.limit = std::min<std::size_t>(q.limit, 1000);
    auto entries = ctx->store.list_quarantine(q);
    if (!entries) return store_error(entries.error());
    json items = json::array();
    for (const auto& e : *entries) items.push_back(quarantine_json(e, false));
    json body = {{"entries", std::move(items)}};
    if (!entries->empty() && entries->size() == q.limit) body["next_after"] = entries->back().id;
    return http::Response::json(200, dump(body));
  });

  server.get(R"(/v1/quarantine/(\d+))", "/v1/quarantine/{id}",
             [ctx, unauthorized](const http::Request& r) {
               if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
               auto entry = ctx->store.get_quarantine(std::stoll(r.path_params[0]));
               if (!entry) return store_error(entry.error());
               if (!*entry) return http::Response::error(404, "no such quarantine entry");
               return http::Response::json(200, dump(quarantine_json(**entry, true)));
             });

  server.post("/v1/quarantine/replay", "/v1/quarantine/replay",
              [ctx, unauthorized](const http::Request& r) {
                if (!ctx->keys.authenticate_admin(r, "admin")) return unauthorized();
                auto body = parse_json(r.body, JsonLimits{1024 * 1024, 8});
                if (!body || !body->is_object() || !body->contains("ids") ||
                    !(*body)["ids"].is_array()) {
                  return http::Response::error(400, "body must be {\"ids\": [<id>, ...]}");
                }
                std::vector<std::int64_t> ids;
                for (const auto& id : (*body)["ids"]) {
                  if (!id.is_number_integer()) {
                    return http::Response::error(400, "ids must be integers");
                  }
                  ids.push_back(id.get<std::int64_t>());
                }
                auto report = ctx->ingest.replay(ids);
                if (!report) return store_error(report.error());
                json failures = json::array();
                for (const auto& f : report->still_invalid) {
                  failures.push_back(
                      {{"id", f.id}, {"reason", f.reason}, {"errors", errors_to_json(f.errors)}});
                }
                return http::Response::json(
                    200, dump({{"accepted", report->accepted},
                               {"duplicates", report->duplicates},
                               {"still_invalid", std::move(failures)}}));
              });

  server.get("/v1/events", "/v1/events", [ctx, unauthorized](const http::Request& r) {
    if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
    EventQuery q;
    q.store_id = r.param("store");
    q.type = r.param("type");
    if (!parse_since(r.param("since"), q.since) || !parse_count(r.param("limit"), q.limit)) {
      return http::Response::error(400, "bad query: since is RFC 3339 or Unix ms");
    }
    if (!r.has_param("limit")) q.limit = 100;
    q.limit = std::min<std::size_t>(q.limit, 1000);
    auto events = ctx->store.list_events(q);
    if (!events) return store_error(events.error());
    json items = json::array();
    for (const auto& e : *events) items.push_back(event_json(e));
    return http::Response::json(200, dump({{"events", std::move(items)}}));
  });

  server.get("/v1/events/([0-9a-fA-F-]{36})", "/v1/events/{id}",
             [ctx, unauthorized](const http::Request& r) {
               if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
               auto event = ctx->store.get_event(r.path_params[0]);
               if (!event) return store_error(event.error());
               if (!*event) return http::Response::error(404, "no such event");
               return http::Response::json(200, dump(event_json(**event)));
             });

  server.get("/v1/agents", "/v1/agents", [ctx, unauthorized](const http::Request& r) {
    if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
    json agents = json::array();
    for (const auto& a : ctx->tracker.agents()) {
      agents.push_back({{"store_id", a.store_id},
                        {"agent_id", a.agent_id},
                        {"stream_id", a.stream_id},
                        {"last_seen", a.last_seen ? format_rfc3339_ms(a.last_seen) : ""},
                        {"clock_skew_ms", a.clock_skew_ms},
                        {"lag_ms", a.lag_ms},
                        {"backlog", a.backlog},
                        {"batches", a.batches},
                        {"events", a.events},
                        {"contiguous_batch_seq", a.contiguous_batch_seq},
                        {"max_batch_seq", a.max_batch_seq},
                        {"gaps", a.gaps}});
    }
    return http::Response::json(200, dump({{"agents", std::move(agents)}}));
  });

  server.get("/healthz", "/healthz", [ctx](const http::Request&) {
    auto count = ctx->store.count_events();
    if (!count) return store_error(count.error());
    return http::Response::json(200, dump({{"status", "ok"},
                                           {"mqtt_connected", ctx->mqtt_connected()}}));
  });

  server.get("/metrics", "/metrics", [ctx](const http::Request&) {
    http::Response response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = ctx->metrics.render();
    return response;
  });

  server.get("/v1/status", "/v1/status", [ctx](const http::Request&) {
    auto events = ctx->store.count_events();
    auto quarantined = ctx->store.count_quarantine("");
    if (!events) return store_error(events.error());
    if (!quarantined) return store_error(quarantined.error());
    return http::Response::json(
        200, dump({{"version", AISLE_VERSION},
                   {"events_stored", *events},
                   {"quarantined", *quarantined},
                   {"agents", ctx->tracker.agents().size()},
                   {"ingest_queue_batches", ctx->queued_batches()},
                   {"mqtt_connected", ctx->mqtt_connected()}}));
  });
}

}  // namespace aisle::collector
