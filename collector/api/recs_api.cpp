#include "collector/api/recs_api.hpp"

#include <charconv>
#include <memory>

#include "collector/profiles/identity_graph.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

constexpr const char* kPlacementPattern = "([a-z0-9_.-]{1,64})";
constexpr std::size_t kMaxParamLength = 256;
const JsonLimits kBodyLimits{64 * 1024, 8};

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

http::Response unauthorized() {
  auto r = http::Response::error(401, "missing or invalid API key");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

bool valid_placement(const std::string& p) {
  if (p.empty() || p.size() > 64) return false;
  for (char c : p) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == '-';
    if (!ok) return false;
  }
  return true;
}

struct Shared {
  RecsApiContext ctx;
  metrics::Counter& bad_requests;
  http::Response bad_request(const std::string& message) {
    bad_requests.inc();
    return http::Response::error(400, message);
  }
  // The store a caller may ask about: a write key bound to a store only for that store; an
  // unbound write key or a read admin key for any. Nullopt when the key is not accepted.
  std::optional<std::string> store_scope(const http::Request& r) const {
    if (auto write = ctx.keys.authenticate_write(r)) return write->store_id;
    if (ctx.keys.authenticate_admin(r, "read")) return std::string();
    return std::nullopt;
  }
};

json item_json(const recs::RecItem& item) {
  return {{"sku", item.sku}, {"score", item.score}, {"source", item.source}};
}

}  // namespace

json recommendation_stats_json(const recs::RecommendationService& service) {
  json placements = json::array();
  for (const auto& [key, c] : service.exposures().stats()) {
    const double n = static_cast<double>(c.impressions);
    const auto ctr = recs::wilson_interval(c.clicks, c.impressions);
    const auto conversion = recs::wilson_interval(c.conversions, c.impressions);
    placements.push_back({{"placement", key.first},
                          {"strategy", key.second},
                          {"impressions", c.impressions},
                          {"clicks", c.clicks},
                          {"cart_adds", c.carts},
                          {"conversions", c.conversions},
                          {"ctr", c.impressions ? static_cast<double>(c.clicks) / n : 0.0},
                          {"ctr_ci95", {ctr.low, ctr.high}},
                          {"conversion_rate",
                           c.impressions ? static_cast<double>(c.conversions) / n : 0.0},
                          {"conversion_ci95", {conversion.low, conversion.high}}});
  }
  json experiments = json::object();
  for (const auto& [placement, config] : service.experiments().all()) {
    if (auto stats = service.experiments().stats(placement)) {
      experiments[placement] = recs::experiment_stats_json(*stats);
    }
  }
  return {{"placements", std::move(placements)},
          {"experiments", std::move(experiments)},
          {"profiles_held", service.profiles_held()},
          {"exposures_held", service.exposures().size()}};
}

void register_recs_api(http::HttpServer& server, RecsApiContext context) {
  auto& bad = context.metrics.counter("aisle_collector_recs_api_bad_requests_total",
                                      "Recommendation API requests refused as malformed");
  auto s = std::make_shared<Shared>(Shared{std::move(context), bad});

  server.get("/v1/recommendations", "/v1/recommendations", [s](const http::Request& r) {
    auto scope = s->store_scope(r);
    if (!scope) return unauthorized();
    recs::RecRequest request;
    request.store_id = r.param("store");
    request.context_item = r.param("context_item");
    request.placement = r.param("placement");
    for (const auto* p : {&request.store_id, &request.context_item}) {
      if (p->size() > kMaxParamLength) {
        return s->bad_request("store and context_item: at most " +
                              std::to_string(kMaxParamLength) + " characters");
      }
    }
    if (!request.placement.empty() && !valid_placement(request.placement)) {
      return s->bad_request("placement must match [a-z0-9_.-]{1,64}");
    }
    if (!scope->empty() && request.store_id != *scope) {
      return http::Response::error(403, "this key may only ask for store " + *scope);
    }
    if (const std::string n = r.param("n"); !n.empty()) {
      const auto max_n = s->ctx.service.options().max_n;
      const auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), request.n);
      if (ec != std::errc() || ptr != n.data() + n.size() || request.n == 0 ||
          request.n > max_n) {
        return s->bad_request("n must be an integer 1.." + std::to_string(max_n));
      }
    }
    const std::string profile = r.param("profile");
    const std::string identity = r.param("identity");
    if (!profile.empty() && !identity.empty()) {
      return s->bad_request("give profile or identity, not both");
    }
    if (profile.size() > kMaxParamLength || identity.size() > kMaxParamLength) {
      return s->bad_request("profile and identity: at most " + std::to_string(kMaxParamLength) +
                            " characters");
    }
    request.profile_id = profile;
    if (!identity.empty()) {
      std::string_view type;
      std::string_view value;
      if (!profiles::split_identity(identity, type, value)) {
        return s->bad_request("query parameter identity must be <type>:<value>");
      }
      // An identifier no profile has yet is an anonymous shopper: popular items, not an error.
      if (s->ctx.lookup_identity) {
        if (auto id = s->ctx.lookup_identity(type, value)) request.profile_id = *id;
      }
    }
    auto answer = s->ctx.service.recommend(request);
    json items = json::array();
    for (const auto& item : answer.items) items.push_back(item_json(item));
    json body = {{"rec_id", answer.rec_id},
                 {"mode", answer.mode},
                 {"strategy", answer.strategy},
                 {"placement", answer.placement},
                 {"items", std::move(items)}};
    if (answer.experiment) {
      body["experiment"] = {{"id", answer.experiment->experiment_id},
                            {"arm", answer.experiment->arm}};
    }
    return http::Response::json(200, dump(body));
  });

  server.get("/v1/recommendations/stats", "/v1/recommendations/stats",
             [s](const http::Request& r) {
               if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
               return http::Response::json(200, dump(recommendation_stats_json(s->ctx.service)));
             });

  server.get("/v1/experiments", "/v1/experiments", [s](const http::Request& r) {
    if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
    json all = json::object();
    for (const auto& [placement, config] : s->ctx.service.experiments().all()) {
      all[placement] = recs::experiment_to_json(config);
    }
    return http::Response::json(200, dump({{"experiments", std::move(all)}}));
  });

  server.get(std::string("/v1/experiments/") + kPlacementPattern, "/v1/experiments/{placement}",
             [s](const http::Request& r) {
               if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
               auto stats = s->ctx.service.experiments().stats(r.path_params[0]);
               if (!stats) {
                 return http::Response::error(404, "no experiment on placement " +
                                                       r.path_params[0]);
               }
               json body = recs::experiment_stats_json(*stats);
               body["placement"] = r.path_params[0];
               return http::Response::json(200, dump(body));
             });

  server.put(std::string("/v1/experiments/") + kPlacementPattern, "/v1/experiments/{placement}",
             [s](const http::Request& r) {
               auto key = s->ctx.keys.authenticate_admin(r, "admin");
               if (!key) return unauthorized();
               auto body = parse_json(r.body, kBodyLimits);
               if (!body) return s->bad_request("body: " + body.error().message);
               auto config = recs::experiment_from_json(*body, "body");
               if (!config) return s->bad_request(config.error().message);
               const std::string placement = r.path_params[0];
               if (auto set = s->ctx.service.set_experiment(placement, *config); !set) {
                 if (set.error().code == ErrorCode::kInvalidArgument) {
                   return s->bad_request(set.error().message);
                 }
                 return http::Response::error(503, set.error().message);
               }
               s->ctx.audit(key->name, "experiment.set", placement,
                            recs::experiment_to_json(*config));
               json answer = recs::experiment_to_json(*config);
               answer["placement"] = placement;
               return http::Response::json(200, dump(answer));
             });

  server.del(std::string("/v1/experiments/") + kPlacementPattern, "/v1/experiments/{placement}",
             [s](const http::Request& r) {
               auto key = s->ctx.keys.authenticate_admin(r, "admin");
               if (!key) return unauthorized();
               auto removed = s->ctx.service.remove_experiment(r.path_params[0]);
               if (!removed) return http::Response::error(503, removed.error().message);
               if (!*removed) {
                 return http::Response::error(404, "no experiment on placement " +
                                                       r.path_params[0]);
               }
               s->ctx.audit(key->name, "experiment.delete", r.path_params[0], json::object());
               return http::Response::json(200, dump({{"deleted", r.path_params[0]}}));
             });

  server.get("/v1/recs/snapshot", "/v1/recs/snapshot", [s](const http::Request& r) {
    auto scope = s->store_scope(r);
    if (!scope) return unauthorized();
    const std::string store = r.param("store");
    if (store.empty() || store.size() > kMaxParamLength) {
      return s->bad_request("query parameter store is required (1.." +
                            std::to_string(kMaxParamLength) + " characters)");
    }
    if (!scope->empty() && store != *scope) {
      return http::Response::error(403, "this key may only fetch the snapshot of store " + *scope);
    }
    auto snapshot = s->ctx.service.store_snapshot(store);
    if (!snapshot) return http::Response::error(503, snapshot.error().message);
    auto payload = wire::encode_rec_snapshot(*snapshot);
    if (!payload) return http::Response::error(500, payload.error().message);
    http::Response answer;
    answer.status = 200;
    answer.body = std::move(*payload);
    answer.content_type = std::string(wire::kRecSnapshotContentType);
    return answer;
  });
}

}  // namespace aisle::collector
