#include "common/schema/validator_node.hpp"

namespace aisle::schema::detail {

void StringIndex::build(std::vector<std::string> values) {
  blob_.clear();
  std::size_t capacity = 8;
  while (capacity < values.size() * 4) capacity *= 2;  // at most 1/4 full: short probes
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (find(values[i]) >= 0) continue;  // a duplicate: the first index wins
    std::size_t slot = hash(values[i]) & mask_;
    while (slots_[slot].index >= 0) slot = (slot + 1) & mask_;
    slots_[slot] = Slot{static_cast<std::uint32_t>(blob_.size()),
                        static_cast<std::uint32_t>(values[i].size()), static_cast<std::int32_t>(i)};
    blob_ += values[i];
  }
}

}  // namespace aisle::schema::detail
