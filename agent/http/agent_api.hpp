// The agent's local HTTP API (docs/protocol.md#agent-http-api):
//   POST /v1/events   ingest (one event, a JSON array, or NDJSON)
//   GET  /healthz     liveness: 200 when the outbox is writable
//   GET  /metrics     Prometheus text
//   GET  /v1/status   JSON summary (backlog, forwarder, connection)
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "agent/forwarder/forwarder.hpp"
#include "agent/ingest/ingest.hpp"
#include "agent/outbox/outbox.hpp"
#include "common/http/http_server.hpp"
#include "common/http/ingest_endpoint.hpp"
#include "common/metrics.hpp"

namespace aisle::agent {

struct AgentApiContext {
  Ingest& ingest;
  Outbox& outbox;
  const Forwarder* forwarder = nullptr;  // null in tests without a broker
  metrics::Registry& metrics;
  http::IngestEndpointLimits limits;
  std::string store_id;
  std::string agent_id;
  // False while shutting down: ingest answers 503 so producers retry elsewhere/later.
  std::function<bool()> accepting = [] { return true; };
  // The firmware adapters' state and counters for /v1/status (a JSON array); null: none.
  std::function<nlohmann::json()> adapters = nullptr;
  // The consent cache (version, entries, sync state) for /v1/status as "consent"; null: none.
  std::function<nlohmann::json()> consent = nullptr;
};

void register_agent_api(http::HttpServer& server, AgentApiContext context);

}  // namespace aisle::agent
