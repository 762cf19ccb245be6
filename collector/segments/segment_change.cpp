#include "collector/segments/segment_change.hpp"

namespace aisle::collector::segments {

const char* segment_change_kind_name(SegmentChangeKind kind) {
  return kind == SegmentChangeKind::kEntered ? "segment_entered" : "segment_exited";
}

}  // namespace aisle::collector::segments
