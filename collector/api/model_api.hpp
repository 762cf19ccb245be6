// The learned-model part of the collector's HTTP API (docs/propensity.md, "API"):
//   GET  /v1/models                          every model: name, version, examples, AUC, log-loss
//                                            (admin key, scope read)
//   GET  /v1/models/{name}                   one model, with its saved versions (read)
//   POST /v1/models/{name}/rollback {"version":n}  restore saved version n; it is saved again
//                                            as a new version (admin; audited)
// Errors have the usual shape {"error": "..."}: 400 bad body, 401 no key, 404 unknown model or
// version, 503 the version files cannot be read or written.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collector/api/api_keys.hpp"
#include "collector/segments/learned/managed_model.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

struct ModelApiContext {
  std::vector<segments::ManagedModel*> models;  // not owned; outlive the server
  const ApiKeys& keys;
  metrics::Registry& metrics;
  // Appends to the audit log (rollbacks).
  std::function<void(const std::string& actor, const std::string& action, const std::string& target,
                     const nlohmann::json& details)>
      audit =
          [](const std::string&, const std::string&, const std::string&, const nlohmann::json&) {};
};

void register_model_api(http::HttpServer& server, ModelApiContext context);

}  // namespace aisle::collector
