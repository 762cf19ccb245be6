// Segment change messages (docs/segment-triggers.md): the JSON form of a profile entering or
// leaving a segment, as every channel delivers it — the agent downlink
// (aisle/v1/<tenant>/<store>/<agent>/down/segment, a JSON array of changes), webhooks (one object
// per POST) and the Server-Sent Events stream (one object per event's data line).
//
//   {"agent_id":"agent-1","change_id":"0190...","profile_id":"...","reason":"event",
//    "segment_id":"vip","store_id":"store-1","time":"2026-11-29T15:01:02.345Z",
//    "trigger_event_id":"...","type":"segment_entered","version":3}
// (keys in alphabetical order; consumers read them by name)
//
// The collector's SegmentChange converts to and from this struct (collector/segments/notify);
// it lives here because the agent decodes it too, and the agent never includes collector code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::wire {

struct SegmentChangeMessage {
  std::string change_id;  // unique per change: consumers deduplicate on it (at-least-once)
  bool entered = true;    // "segment_entered" / "segment_exited"
  std::string profile_id;
  std::string segment_id;
  std::uint32_t version = 0;  // segment definition version that decided it
  UnixMillis at = 0;          // when the collector decided it
  std::string trigger_event_id;  // "" when a timer or a backfill decided it
  std::string reason;            // "event", "window_expired", "backfill", ...
  std::string store_id;          // where the shopper was last seen; "" when unknown
  std::string agent_id;
  friend bool operator==(const SegmentChangeMessage&, const SegmentChangeMessage&) = default;
};

// Limits of decoding (a downlink message may batch many changes).
struct SegmentChangeLimits {
  std::size_t max_bytes = 1024 * 1024;
  std::size_t max_changes = 1000;
  std::size_t max_field_bytes = 256;  // any id or reason
};

const char* segment_change_type(bool entered);  // "segment_entered" / "segment_exited"

// One change as a JSON object (no trailing newline).
std::string encode_segment_change(const SegmentChangeMessage& change);
// Several changes as a JSON array (the downlink payload).
std::string encode_segment_changes(const std::vector<SegmentChangeMessage>& changes);

// Decodes one object. Errors (kInvalidArgument) name the field: "segment change: 'version' must
// be an integer from 0 to 4294967295".
Result<SegmentChangeMessage> decode_segment_change(std::string_view payload,
                                                   const SegmentChangeLimits& limits = {});
// Decodes an array of objects, or a single object as a one-element list. The error names the
// element: "segment change [3]: 'time' must be an RFC 3339 date-time".
Result<std::vector<SegmentChangeMessage>> decode_segment_changes(
    std::string_view payload, const SegmentChangeLimits& limits = {});

}  // namespace aisle::wire
