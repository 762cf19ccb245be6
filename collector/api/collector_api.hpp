// The collector's HTTP API (docs/api.md):
//   POST /v1/events                 web/mobile ingest (write key)
//   GET  /v1/quarantine             list quarantined input (admin key, scope read)
//   GET  /v1/quarantine/{id}        one entry with its raw payload (read)
//   POST /v1/quarantine/replay      re-validate entries after a schema fix (admin)
//   GET  /v1/events, /v1/events/{id} stored events (read)
//   GET  /v1/agents                 per-agent last-seen, lag, skew, batches, gaps (read)
//   GET  /healthz, /metrics, /v1/status
#pragma once

#include <functional>

#include "collector/api/api_keys.hpp"
#include "collector/ingest/batch_pipeline.hpp"
#include "collector/ingest/http_ingest.hpp"
#include "collector/ingest/stream_tracker.hpp"
#include "collector/store/event_store.hpp"
#include "common/http/http_server.hpp"
#include "common/http/ingest_endpoint.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

struct CollectorApiContext {
  HttpIngest& ingest;
  EventStore& store;
  StreamTracker& tracker;
  const ApiKeys& keys;
  metrics::Registry& metrics;
  http::IngestEndpointLimits limits;
  std::function<bool()> mqtt_connected = [] { return false; };
  std::function<std::size_t()> queued_batches = [] { return std::size_t{0}; };
};

void register_collector_api(http::HttpServer& server, CollectorApiContext context);

}  // namespace aisle::collector
