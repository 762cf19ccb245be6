// ApiKeys: authentication of the collector's HTTP API. Keys are presented as
// "Authorization: Bearer <key>" (or "X-Aisle-Key: <key>"); only their SHA-256 is configured, and
// the comparison is constant-time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collector/collector_config.hpp"
#include "common/http/http_server.hpp"

namespace aisle::collector {

class ApiKeys {
 public:
  ApiKeys(std::vector<ApiKey> write_keys, std::vector<ApiKey> admin_keys)
      : write_keys_(std::move(write_keys)), admin_keys_(std::move(admin_keys)) {}

  // The write key matching the request, if any.
  std::optional<ApiKey> authenticate_write(const http::Request& request) const;
  // The admin key matching the request with at least `scope` ("read" or "admin").
  std::optional<ApiKey> authenticate_admin(const http::Request& request,
                                           const std::string& scope) const;

 private:
  static std::optional<ApiKey> match(const std::vector<ApiKey>& keys, const std::string& presented);
  std::vector<ApiKey> write_keys_;
  std::vector<ApiKey> admin_keys_;
};

// The key presented by a request ("" when none).
std::string presented_key(const http::Request& request);

}  // namespace aisle::collector
