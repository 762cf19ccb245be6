// The collector's erasure API (docs/api.md, docs/privacy.md):
//   DELETE /v1/profiles/{id}   erase a person everywhere (admin key, scope admin) -> 202 + state
//   GET    /v1/erasures        recent erasures with their state (read)
//   GET    /v1/erasures/{id}   one erasure: events deleted, agents confirmed (read)
// Every call is authenticated by ApiKeys and the erasure itself is audited by ErasureService.
#pragma once

#include "collector/api/api_keys.hpp"
#include "collector/privacy/erasure_service.hpp"
#include "common/http/http_server.hpp"

namespace aisle::collector {

struct PrivacyApiContext {
  ErasureService& erasures;
  const ApiKeys& keys;
};

void register_privacy_api(http::HttpServer& server, PrivacyApiContext context);

nlohmann::json erasure_json(const ErasureStatus& status);

}  // namespace aisle::collector
