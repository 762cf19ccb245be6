// The catalog part of the collector's HTTP API (docs/recommendations.md, "Catalog"):
//   PUT    /v1/catalog/items         a JSON array, one object, or NDJSON of items (admin key,
//                                    scope admin); all or nothing: any invalid item refuses the
//                                    upload with every error naming its line and field
//   GET    /v1/catalog/items/{sku}   one item (admin key, scope read)
//   DELETE /v1/catalog/items/{sku}   (admin)
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "collector/api/api_keys.hpp"
#include "collector/recs/serving/catalog.hpp"
#include "collector/recs/serving/recs_options.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

struct CatalogApiContext {
  recs::Catalog& catalog;
  const ApiKeys& keys;
  metrics::Registry& metrics;
  recs::CatalogSectionOptions limits;
  // Appends to the audit log (uploads and deletions).
  std::function<void(const std::string& actor, const std::string& action, const std::string& target,
                     const nlohmann::json& details)>
      audit =
          [](const std::string&, const std::string&, const std::string&, const nlohmann::json&) {};
  std::size_t max_reported_errors = 100;  // errors listed in a refused upload's answer
};

void register_catalog_api(http::HttpServer& server, CatalogApiContext context);

}  // namespace aisle::collector
