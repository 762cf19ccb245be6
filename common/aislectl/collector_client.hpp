// CollectorClient: aislectl's HTTP client for the collector's admin API. The endpoint and key
// come from flags, from $AISLE_COLLECTOR_URL / $AISLE_ADMIN_KEY, or from a devenv's env.json.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace aisle::ctl {

struct CollectorEndpoint {
  std::string url = "http://127.0.0.1:8780";
  std::string admin_key;
};

// Consumes --url, --key and --env DIR from args (leaving the rest in `rest`).
Result<CollectorEndpoint> endpoint_from_args(const std::vector<std::string>& args,
                                             std::vector<std::string>& rest);

struct HttpAnswer {
  int status = 0;
  std::string body;
};

Result<HttpAnswer> http_get(const CollectorEndpoint& endpoint, const std::string& path_and_query);
Result<HttpAnswer> http_post(const CollectorEndpoint& endpoint, const std::string& path,
                             const std::string& body, const std::string& content_type);

}  // namespace aisle::ctl
