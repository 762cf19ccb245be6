#include "common/aislectl/collector_client.hpp"

#include <httplib.h>

#include <cstdlib>
#include <fstream>

namespace aisle::ctl {
namespace {

Result<HttpAnswer> to_answer(const httplib::Result& result, const std::string& url) {
  if (!result) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot reach " + url + ": " + httplib::to_string(result.error()));
  }
  return HttpAnswer{result->status, result->body};
}

httplib::Headers auth_headers(const CollectorEndpoint& endpoint) {
  httplib::Headers headers;
  if (!endpoint.admin_key.empty()) {
    headers.emplace("Authorization", "Bearer " + endpoint.admin_key);
  }
  return headers;
}

}  // namespace

Result<CollectorEndpoint> endpoint_from_args(const std::vector<std::string>& args,
                                             std::vector<std::string>& rest) {
  CollectorEndpoint endpoint;
  if (const char* url = std::getenv("AISLE_COLLECTOR_URL"); url && *url) endpoint.url = url;
  if (const char* key = std::getenv("AISLE_ADMIN_KEY"); key && *key) endpoint.admin_key = key;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--url" && i + 1 < args.size()) {
      endpoint.url = args[++i];
    } else if (args[i] == "--key" && i + 1 < args.size()) {
      endpoint.admin_key = args[++i];
    } else if (args[i] == "--env" && i + 1 < args.size()) {
      const std::string path = args[++i] + "/env.json";
      std::ifstream in(path);
      if (!in) return make_error(ErrorCode::kNotFound, "cannot read " + path);
      const auto env = nlohmann::json::parse(in, nullptr, false);
      if (env.is_discarded() || !env.is_object()) {
        return make_error(ErrorCode::kInvalidArgument, path + " is not valid JSON");
      }
      endpoint.url = env.value("collector_http", endpoint.url);
      endpoint.admin_key = env.value("admin_key", endpoint.admin_key);
    } else {
      rest.push_back(args[i]);
    }
  }
  return endpoint;
}

Result<HttpAnswer> http_get(const CollectorEndpoint& endpoint, const std::string& path_and_query) {
  httplib::Client client(endpoint.url);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  return to_answer(client.Get(path_and_query, auth_headers(endpoint)), endpoint.url);
}

Result<HttpAnswer> http_post(const CollectorEndpoint& endpoint, const std::string& path,
                             const std::string& body, const std::string& content_type) {
  httplib::Client client(endpoint.url);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  return to_answer(client.Post(path, auth_headers(endpoint), body, content_type), endpoint.url);
}

}  // namespace aisle::ctl
