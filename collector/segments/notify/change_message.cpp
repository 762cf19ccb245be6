#include "collector/segments/notify/change_message.hpp"

namespace aisle::collector::segments {

wire::SegmentChangeMessage to_message(const SegmentChange& change) {
  wire::SegmentChangeMessage m;
  m.change_id = change.change_id;
  m.entered = change.kind == SegmentChangeKind::kEntered;
  m.profile_id = change.profile_id;
  m.segment_id = change.segment_id;
  m.version = change.version;
  m.at = change.at;
  m.trigger_event_id = change.trigger_event_id;
  m.reason = change.reason;
  m.store_id = change.store_id;
  m.agent_id = change.agent_id;
  return m;
}

std::string change_json(const SegmentChange& change) {
  return wire::encode_segment_change(to_message(change));
}

}  // namespace aisle::collector::segments
