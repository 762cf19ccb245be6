// The kiosks' recommendation endpoint on the agent's local HTTP port:
//
//   GET /v1/recommendations?identity=<type>:<value>|profile=<id>&context_item=&placement=&n=
//       [&store=<this store>]
//     200 {"rec_id","mode":"live|cache|offline|popularity","strategy","items":[{"sku","score",
//          "source"}]} — always, whatever the WAN does;
//     400 {"error": "..."} only for the kiosk's own mistakes (a malformed identity, n out of
//          range, another store), naming the parameter.
//   GET /v1/recs/status  the breaker state, cache and history sizes, the held snapshot.
#pragma once

#include "agent/recs/recs_service.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"

namespace aisle::agent::recs {

// Reads and checks the query parameters; the error names the parameter.
Result<RecQuery> parse_rec_query(const http::Request& request, const RecsOptions& options,
                                 const std::string& store_id);

// `service` must outlive the server's handlers.
void register_recs_routes(http::HttpServer& server, RecsService& service,
                          const std::string& store_id, metrics::Registry& metrics);

}  // namespace aisle::agent::recs
