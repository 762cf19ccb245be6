#include "common/http/server_config.hpp"

#include <chrono>
#include <string>

#include "common/config.hpp"

namespace aisle::http {
namespace {

std::chrono::milliseconds duration_or(const nlohmann::json& j, const char* key,
                                      std::chrono::milliseconds fallback) {
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  return std::chrono::milliseconds(parse_duration_ms(*it).value_or(fallback.count()));
}

std::size_t size_or(const nlohmann::json& j, const char* key, std::size_t fallback) {
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  return static_cast<std::size_t>(
      parse_size_bytes(*it).value_or(static_cast<std::int64_t>(fallback)));
}

}  // namespace

Status parse_http_section(const nlohmann::json& section, int default_port, std::string_view origin,
                          ServerOptions& out) {
  out.host = "127.0.0.1";
  out.port = default_port;
  if (auto it = section.find("listen"); it != section.end()) {
    if (!parse_listen_address(it->get<std::string>(), out.host, out.port)) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string(origin) + ": /http/listen: not host:port");
    }
  }
  out.threads = section.value("threads", 32);
  out.max_streams = section.value("max_streams", out.max_streams);
  out.max_body_bytes = size_or(section, "max_body_bytes", 16 * 1024 * 1024);
  out.read_timeout = duration_or(section, "read_timeout", std::chrono::seconds(5));
  out.write_timeout = duration_or(section, "write_timeout", std::chrono::seconds(5));
  out.idle_timeout = duration_or(section, "idle_timeout", std::chrono::seconds(30));
  out.max_keep_alive_requests = section.value("max_keep_alive_requests", 10000);
  out.max_connections = section.value("max_connections", out.max_connections);
  out.max_header_bytes = size_or(section, "max_header_bytes", out.max_header_bytes);
  out.header_timeout = duration_or(section, "header_timeout", out.header_timeout);
  out.request_timeout = duration_or(section, "request_timeout", out.request_timeout);
  return ok_status();
}

}  // namespace aisle::http
