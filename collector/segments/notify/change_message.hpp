// The wire form of a SegmentChange (common/wire/segment_change_wire.hpp), shared by all channels.
#pragma once

#include <string>

#include "collector/segments/segment_change.hpp"
#include "common/wire/segment_change_wire.hpp"

namespace aisle::collector::segments {

wire::SegmentChangeMessage to_message(const SegmentChange& change);
// The JSON object every channel delivers for this change.
std::string change_json(const SegmentChange& change);

}  // namespace aisle::collector::segments
