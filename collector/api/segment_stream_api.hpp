// GET /v1/segments/stream[?segment=a,b] — segment changes as Server-Sent Events
// (docs/segment-triggers.md, "Server-Sent Events"), for web front ends (through the retailer's
// backend: an admin key with scope read is required, and browsers' EventSource cannot send it).
//
//   retry: 3000
//
//   event: segment_entered
//   id: 1764428400123000017
//   data: {"type":"segment_entered","change_id":"...",...}
//
//   : heartbeat
//
// Last-Event-ID (header, or ?last_event_id= for clients that cannot set it) resumes after that
// id from the hub's ring; an id older than the ring answers first with
//   event: reset / id: <current> / data: {"reason":"...","last_event_id":...}
// after which the client should reload whatever state it derives from the stream.
//
// Register this route before the segment API's /v1/segments/{id} routes: both match GET under
// /v1/segments/, and the server tries routes in registration order.
#pragma once

#include "collector/api/api_keys.hpp"
#include "collector/segments/notify/segment_stream_hub.hpp"
#include "common/http/http_server.hpp"
#include "common/metrics.hpp"

namespace aisle::collector {

struct SegmentStreamApiContext {
  segments::SegmentStreamHub& hub;
  const ApiKeys& keys;
  metrics::Registry& metrics;
  // Longest wait of one producer call: bounds how long a stop() or a dead client goes unnoticed.
  std::chrono::milliseconds poll_slice{200};
};

void register_segment_stream_api(http::HttpServer& server, SegmentStreamApiContext context);

// "a,b" -> {"a","b"}; an empty text is all segments. kInvalidArgument naming a bad id.
Result<std::set<std::string>> parse_segment_filter(const std::string& text);

}  // namespace aisle::collector
