// The recommendation part of the collector's HTTP API (docs/recommendations.md, "API";
// docs/experiments.md):
//   GET /v1/recommendations?profile=|identity=<type>:<value>&store=&context_item=&placement=&n=
//       a write key (a source or an agent; a key bound to a store may only ask for that store)
//       or an admin key (scope read)
//   GET /v1/recommendations/stats            impressions, clicks, carts, conversions per
//                                            placement and strategy; experiments (read)
//   GET /v1/experiments                      every placement's experiment (read)
//   GET /v1/experiments/{placement}          one, with its per-arm statistics (read)
//   PUT /v1/experiments/{placement}          install or replace (admin)
//   DELETE /v1/experiments/{placement}       (admin)
//   GET /v1/recs/snapshot?store=             the store's snapshot for its agent (zstd JSON,
//                                            wire/rec_snapshot.hpp): a write key of that store
//                                            (or of any store), or an admin key (read)
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "collector/api/api_keys.hpp"
#include "collector/recs/serving/recommendation_service.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

// The profile of an identifier (ProfileService::lookup), nullopt when unknown.
using IdentityLookup =
    std::function<std::optional<std::string>(std::string_view type, std::string_view value)>;

struct RecsApiContext {
  recs::RecommendationService& service;
  const ApiKeys& keys;
  metrics::Registry& metrics;
  IdentityLookup lookup_identity;
  // Appends to the audit log (experiment changes).
  std::function<void(const std::string& actor, const std::string& action, const std::string& target,
                     const nlohmann::json& details)>
      audit =
          [](const std::string&, const std::string&, const std::string&, const nlohmann::json&) {};
};

void register_recs_api(http::HttpServer& server, RecsApiContext context);

// The stats document of GET /v1/recommendations/stats (exposed for tests and the CLI).
nlohmann::json recommendation_stats_json(const recs::RecommendationService& service);

}  // namespace aisle::collector
