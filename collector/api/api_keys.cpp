#include "collector/api/api_keys.hpp"

#include "common/crypto.hpp"

namespace aisle::collector {

std::string presented_key(const http::Request& request) {
  const std::string authorization = request.header("Authorization");
  static constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      std::string_view(authorization).substr(0, kBearer.size()) == kBearer) {
    return authorization.substr(kBearer.size());
  }
  return request.header("X-Aisle-Key");
}

std::optional<ApiKey> ApiKeys::match(const std::vector<ApiKey>& keys,
                                     const std::string& presented) {
  if (presented.empty()) return std::nullopt;
  const std::string digest = crypto::sha256_hex(presented);
  std::optional<ApiKey> found;
  // Compare against every key (no early exit), so timing does not tell which one matched.
  for (const auto& key : keys) {
    if (crypto::constant_time_equals(digest, key.sha256) && !found) found = key;
  }
  return found;
}

std::optional<ApiKey> ApiKeys::authenticate_write(const http::Request& request) const {
  return match(write_keys_, presented_key(request));
}

std::optional<ApiKey> ApiKeys::authenticate_admin(const http::Request& request,
                                                  const std::string& scope) const {
  auto key = match(admin_keys_, presented_key(request));
  if (!key) return std::nullopt;
  if (scope == "admin" && key->scope != "admin") return std::nullopt;
  return key;
}

}  // namespace aisle::collector
