// The `http` config section the agent and the collector share (listen address, worker pool, body
// and header limits, timeouts): one parser, so both daemons read the same keys the same way. The
// section has passed the daemon's JSON Schema before (types and spellings are not re-checked).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/http/http_server.hpp"
#include "common/result.hpp"

namespace aisle::http {

// Fills `out` from `section`; keys it does not name keep `out`'s values, except the documented
// defaults below (listen 127.0.0.1:`default_port`, 32 threads, 16 MiB bodies, 5 s read/write,
// 30 s idle, 10,000 requests per keep-alive connection). kInvalidArgument naming
// `<origin>: /http/listen` for an address that is not host:port.
Status parse_http_section(const nlohmann::json& section, int default_port, std::string_view origin,
                          ServerOptions& out);

}  // namespace aisle::http
