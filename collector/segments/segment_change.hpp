// SegmentChange: a profile entered or left a segment. The segment engine produces them; the
// notifiers (agent downlink, webhooks, the SSE stream) and the KPIs consume them. Its JSON form is
// the payload every channel delivers (docs/segments.md).
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.hpp"

namespace aisle::collector::segments {

enum class SegmentChangeKind { kEntered, kExited };

struct SegmentChange {
  std::string change_id;  // unique (UUIDv7 text, ChangeIdGenerator), for idempotent consumers
  SegmentChangeKind kind = SegmentChangeKind::kEntered;
  std::string profile_id;
  std::string segment_id;
  std::uint32_t version = 0;  // segment definition version that decided it
  UnixMillis at = 0;          // collector clock when decided
  // The event whose arrival decided it; "" when a window expired (timer) or a definition change
  // (backfill) decided it.
  std::string trigger_event_id;
  std::string reason;  // "event", "window_expired", "backfill", "merge", "erasure", ...
  // Where the shopper was last seen (for the agent downlink): empty when unknown (web only).
  std::string store_id;
  std::string agent_id;
};

const char* segment_change_kind_name(SegmentChangeKind kind);

// Change ids: UUIDv7 text whose 48-bit time is the decision time and whose other 74 bits are a
// per-generator random start plus a counter. Unique within the generator's life without a lock,
// a clock read or a random draw per change (the engine decides millions of changes); across
// restarts the random start keeps collisions as unlikely as between random 74-bit values.
// Not thread-safe: the engine calls it with its mutex held.
class ChangeIdGenerator {
 public:
  ChangeIdGenerator();  // random start from std::random_device
  explicit ChangeIdGenerator(std::uint64_t seed);
  std::string next(UnixMillis at);

 private:
  std::uint64_t start_ = 0;   // 62 bits used
  std::uint16_t rand_a_ = 0;  // 12 bits used
  std::uint64_t counter_ = 0;
};  // "segment_entered" / "segment_exited"

// Consumers of changes. Called from the engine's thread: implementations queue and return fast.
class SegmentChangeSink {
 public:
  virtual ~SegmentChangeSink() = default;
  virtual void on_change(const SegmentChange& change) = 0;
};

}  // namespace aisle::collector::segments
