#include "collector/api/webhook_api.hpp"

#include <charconv>
#include <memory>

#include "common/json_text.hpp"
#include "common/time_format.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;
using segments::Webhook;

constexpr const char* kIdPattern = "([0-9a-fA-F-]{36})";
const JsonLimits kBodyLimits{64 * 1024, 4};

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

json webhook_json(const Webhook& w, bool with_secret) {
  json j = {{"id", w.id},
            {"url", w.url},
            {"segments", w.segments.empty() ? json("all") : json(w.segments)},
            {"enabled", w.enabled},
            {"created_at", format_rfc3339_ms(w.created_at)}};
  if (with_secret) j["secret"] = w.secret;
  return j;
}

json dead_letter_json(const segments::DeadLetter& l) {
  return {{"id", l.id},
          {"change_id", l.change_id},
          {"type", l.event_type},
          {"attempts", l.attempts},
          {"queued_at", format_rfc3339_ms(l.created_at)},
          {"failed_at", format_rfc3339_ms(l.failed_at)},
          {"last_error", l.last_error},
          {"change", json::parse(l.body, nullptr, false)}};
}

http::Response error_answer(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument: return http::Response::error(400, error.message);
    case ErrorCode::kNotFound: return http::Response::error(404, error.message);
    case ErrorCode::kResourceExhausted: return http::Response::error(409, error.message);
    default: return http::Response::error(503, "webhook store unavailable: " + error.message);
  }
}

// The registration body: every field checked, unknown fields refused.
Result<segments::WebhookSpec> parse_spec(std::string_view body) {
  auto parsed = parse_json(body, kBodyLimits);
  if (!parsed) return make_error(ErrorCode::kInvalidArgument, "body: " + parsed.error().message);
  if (!parsed->is_object()) return make_error(ErrorCode::kInvalidArgument, "body: not an object");
  segments::WebhookSpec spec;
  for (const auto& [key, value] : parsed->items()) {
    if (key == "url") {
      if (!value.is_string()) return make_error(ErrorCode::kInvalidArgument, "url: not a string");
      spec.url = value.get<std::string>();
    } else if (key == "secret") {
      if (!value.is_string()) {
        return make_error(ErrorCode::kInvalidArgument, "secret: not a string");
      }
      spec.secret = value.get<std::string>();
    } else if (key == "enabled") {
      if (!value.is_boolean()) {
        return make_error(ErrorCode::kInvalidArgument, "enabled: not true or false");
      }
      spec.enabled = value.get<bool>();
    } else if (key == "segments") {
      if (value.is_string() && value.get<std::string>() == "all") continue;
      if (!value.is_array()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "segments: must be \"all\" or an array of segment ids");
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) {
          return make_error(ErrorCode::kInvalidArgument,
                            "segments[" + std::to_string(i) + "]: not a string");
        }
        spec.segments.push_back(value[i].get<std::string>());
      }
    } else {
      return make_error(ErrorCode::kInvalidArgument, key + ": unknown field");
    }
  }
  if (spec.url.empty()) return make_error(ErrorCode::kInvalidArgument, "url: required");
  return spec;
}

}  // namespace

void register_webhook_api(http::HttpServer& server, WebhookApiContext context) {
  auto ctx = std::make_shared<WebhookApiContext>(std::move(context));
  auto& bad = ctx->metrics.counter("aisle_collector_webhook_api_bad_requests_total",
                                   "Webhook API requests refused as malformed");
  auto unauthorized = [] {
    auto r = http::Response::error(401, "missing or invalid API key");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };

  server.post("/v1/webhooks", "/v1/webhooks", [ctx, &bad, unauthorized](const http::Request& r) {
    auto key = ctx->keys.authenticate_admin(r, "admin");
    if (!key) return unauthorized();
    auto spec = parse_spec(r.body);
    if (!spec) {
      bad.inc();
      return http::Response::error(400, spec.error().message);
    }
    auto created = ctx->webhooks.create(*spec);
    if (!created) {
      if (created.error().code == ErrorCode::kInvalidArgument) bad.inc();
      return error_answer(created.error());
    }
    ctx->audit("admin:" + key->name, "webhook.create", created->id,
               {{"url", created->url}, {"segments", created->segments}});
    auto response = http::Response::json(201, dump(webhook_json(*created, true)));
    response.headers.emplace_back("Location", "/v1/webhooks/" + created->id);
    return response;
  });

  server.get("/v1/webhooks", "/v1/webhooks", [ctx, unauthorized](const http::Request& r) {
    if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
    auto list = ctx->webhooks.list();
    if (!list) return error_answer(list.error());
    json items = json::array();
    for (const auto& w : *list) items.push_back(webhook_json(w, false));
    return http::Response::json(200, dump({{"webhooks", std::move(items)}}));
  });

  const std::string one = std::string("/v1/webhooks/") + kIdPattern;
  server.get(one, "/v1/webhooks/{id}", [ctx, unauthorized](const http::Request& r) {
    if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
    auto found = ctx->webhooks.get(r.path_params[0]);
    if (!found) return error_answer(found.error());
    if (!*found) return http::Response::error(404, "no webhook " + r.path_params[0]);
    return http::Response::json(200, dump(webhook_json(**found, false)));
  });

  server.del(one, "/v1/webhooks/{id}", [ctx, unauthorized](const http::Request& r) {
    auto key = ctx->keys.authenticate_admin(r, "admin");
    if (!key) return unauthorized();
    auto removed = ctx->webhooks.remove(r.path_params[0]);
    if (!removed) return error_answer(removed.error());
    if (!*removed) return http::Response::error(404, "no webhook " + r.path_params[0]);
    ctx->audit("admin:" + key->name, "webhook.delete", r.path_params[0], json::object());
    return http::Response::json(200, dump({{"deleted", r.path_params[0]}}));
  });

  server.get(one + "/dead-letters", "/v1/webhooks/{id}/dead-letters",
             [ctx, &bad, unauthorized](const http::Request& r) {
               if (!ctx->keys.authenticate_admin(r, "read")) return unauthorized();
               std::size_t limit = 100;
               if (const std::string text = r.param("limit"); !text.empty()) {
                 const auto [ptr, ec] =
                     std::from_chars(text.data(), text.data() + text.size(), limit);
                 if (ec != std::errc() || ptr != text.data() + text.size() || limit == 0 ||
                     limit > ctx->max_dead_letters_page) {
                   bad.inc();
                   return http::Response::error(
                       400, "limit must be an integer from 1 to " +
                                std::to_string(ctx->max_dead_letters_page));
                 }
               }
               auto found = ctx->webhooks.get(r.path_params[0]);
               if (!found) return error_answer(found.error());
               if (!*found) return http::Response::error(404, "no webhook " + r.path_params[0]);
               auto letters = ctx->webhooks.dead_letters(r.path_params[0], limit);
               if (!letters) return error_answer(letters.error());
               json items = json::array();
               for (const auto& l : *letters) items.push_back(dead_letter_json(l));
               return http::Response::json(200, dump({{"dead_letters", std::move(items)}}));
             });

  server.post(one + "/dead-letters/redeliver", "/v1/webhooks/{id}/dead-letters/redeliver",
              [ctx, unauthorized](const http::Request& r) {
                auto key = ctx->keys.authenticate_admin(r, "admin");
                if (!key) return unauthorized();
                auto found = ctx->webhooks.get(r.path_params[0]);
                if (!found) return error_answer(found.error());
                if (!*found) return http::Response::error(404, "no webhook " + r.path_params[0]);
                auto moved = ctx->webhooks.redeliver(r.path_params[0]);
                if (!moved) return error_answer(moved.error());
                ctx->audit("admin:" + key->name, "webhook.redeliver", r.path_params[0],
                           {{"deliveries", *moved}});
                return http::Response::json(202, dump({{"redelivering", *moved}}));
              });
}

}  // namespace aisle::collector
