#include "collector/segments/segment_change.hpp"

#include <random>

#include "common/uuid.hpp"

namespace aisle::collector::segments {

const char* segment_change_kind_name(SegmentChangeKind kind) {
  return kind == SegmentChangeKind::kEntered ? "segment_entered" : "segment_exited";
}

ChangeIdGenerator::ChangeIdGenerator()
    : ChangeIdGenerator((static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                        std::random_device{}()) {}

ChangeIdGenerator::ChangeIdGenerator(std::uint64_t seed) {
  std::mt19937_64 mix(seed);
  start_ = mix();
  rand_a_ = static_cast<std::uint16_t>(mix() & 0x0fff);
}

std::string ChangeIdGenerator::next(UnixMillis at) {
  // make_uuid_v7 keeps the low 62 bits of rand_b: start_ + counter_ repeats only after 2^62.
  return make_uuid_v7(at < 0 ? 0 : at, rand_a_, start_ + counter_++).to_string();
}

}  // namespace aisle::collector::segments
