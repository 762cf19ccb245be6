// The agent's local segment routes for kiosks (docs/segment-triggers.md, "Agent"):
//   GET /v1/segments/changes?since=<seq>&limit=&wait_ms=   changes after `since`; with wait_ms,
//        a long poll that answers as soon as one arrives (at most segments.max_wait).
//        {"changes":[{"seq":..., "type":"segment_entered", ...}], "next":<seq>, "reset":false}
//   GET /v1/segments/memberships?profile=<id>   {"profile_id":..., "segments":[{"segment_id",
//        "version", "entered_at"}]}; 404 when the agent knows nothing about the profile.
#pragma once

#include "agent/segments/segment_listener.hpp"
#include "common/http/http_server.hpp"

namespace aisle::agent {

void register_segment_routes(http::HttpServer& server, SegmentListener& listener);

}  // namespace aisle::agent
