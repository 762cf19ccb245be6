// The segment part of the collector's HTTP API (docs/segments.md, "API"):
//   GET    /v1/segments                          every segment (admin key, scope read)
//   GET    /v1/segments/{id}                     definition, versions, backfill progress (read)
//   PUT    /v1/segments/{id}                     a definition: creates version n+1 (admin)
//   DELETE /v1/segments/{id}                     retires it; members exit (admin)
//   POST   /v1/segments/{id}/rollback {"version":n}  serve version n again after its backfill
//   GET    /v1/segments/{id}/members?cursor=&limit=  members by profile id, paged (read)
//   GET    /v1/segments/{id}/stats               KPIs from the optional stats function (read)
// Segment ids match [a-z0-9_-]{1,64}; "stream" is reserved for GET /v1/segments/stream (served by
// the notifier), so these routes never match it.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "collector/api/api_keys.hpp"
#include "collector/segments/segment_engine.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

struct SegmentApiContext {
  segments::SegmentEngine& engine;
  const ApiKeys& keys;
  metrics::Registry& metrics;
  // GET /v1/segments/{id}/stats: the KPI engineer's function (null: 501 Not Implemented).
  std::function<nlohmann::json(const std::string& segment_id)> stats;
  // Every admin call (put, delete, rollback) is recorded.
  std::function<void(const std::string& actor, const std::string& action, const std::string& target,
                     const nlohmann::json& details)>
      audit =
          [](const std::string&, const std::string&, const std::string&, const nlohmann::json&) {};
  std::size_t default_page_members = 100;
};

void register_segment_api(http::HttpServer& server, SegmentApiContext context);

// [{"segment_id":..., "version":n, "entered_at":"RFC 3339"}] for GET /v1/profiles/{id}.
nlohmann::json segment_memberships_json(const segments::SegmentEngine& engine,
                                        const std::string& profile_id);

// A segment's summary (GET /v1/segments entries; GET /v1/segments/{id} adds "versions").
nlohmann::json segment_info_json(const segments::SegmentInfo& info);

}  // namespace aisle::collector
