// SegmentListener: the agent's side of the segment change downlink (docs/segment-triggers.md,
// "Agent"). The collector publishes each change of a shopper last seen in this store on
// aisle/v1/<tenant>/<store>/<agent>/down/segment (a JSON array, QoS 1); the listener decodes it,
// keeps the recent changes (a bounded ring, numbered locally) and each profile's current
// memberships (a bounded LRU of profiles), so that kiosks react locally through
// GET /v1/segments/changes (long poll) and GET /v1/segments/memberships (segment_routes.hpp).
//
// QoS 1 may deliver a message twice: a change whose change_id is still in the ring is ignored.
// Changes of one profile and segment may arrive out of order: the one decided last (`time`)
// wins the membership.
//
// Threads: on_message() on the MQTT client's thread (never blocks: only in-memory updates);
// changes_since() and memberships() on HTTP threads. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/forwarder/uplink.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/wire/segment_change_wire.hpp"
#include "common/wire/topics.hpp"

namespace aisle::agent {

// The agent config's "segments" section.
struct SegmentListenerOptions {
  bool enabled = true;
  std::size_t ring_capacity = 1000;    // recent changes kept for /v1/segments/changes
  std::size_t max_profiles = 10000;    // profiles whose memberships are kept (least recently
                                       // changed evicted first)
  std::size_t max_segments_per_profile = 256;
  std::chrono::milliseconds max_wait{25000};  // upper bound of a long poll's wait_ms
  std::size_t max_waiters = 8;  // long polls at once (each holds an HTTP thread); beyond, 503
  std::size_t max_page = 500;   // upper bound of ?limit=
};
Result<SegmentListenerOptions> parse_segment_listener_options(const nlohmann::json& section);

struct ReceivedChange {
  std::uint64_t seq = 0;  // local, grows across agent restarts (start time in ms x 1000 + n)
  wire::SegmentChangeMessage change;
  UnixMillis received_at = 0;
};

struct Membership {
  std::string segment_id;
  std::uint32_t version = 0;
  UnixMillis entered_at = 0;
};

class SegmentListener {
 public:
  SegmentListener(Uplink& uplink, wire::AgentAddress address, SegmentListenerOptions options,
                  metrics::Registry& metrics, ClockPtr clock = SystemClock::instance());
  ~SegmentListener();

  // Subscribes to this agent's down/segment (before the uplink's first connect).
  void attach();
  // Wakes and ends the long polls in progress (shutdown).
  void stop();

  // A downlink message (the subscription's handler; public for tests).
  void on_message(const std::string& payload);

  struct ChangesPage {
    std::vector<ReceivedChange> changes;
    std::uint64_t next = 0;  // pass as `since` next time
    // `since` is older than the ring (or from before a restart): changes may have been missed;
    // the page starts at the oldest change kept.
    bool reset = false;
  };
  // Changes after `since`, at most `limit`; when there are none, waits up to `wait` (capped at
  // max_wait) for the first. kResourceExhausted when max_waiters are already waiting.
  Result<ChangesPage> changes_since(std::uint64_t since, std::size_t limit,
                                    std::chrono::milliseconds wait);
  // The profile's current memberships; nullopt when nothing is known about it.
  std::optional<std::vector<Membership>> memberships(const std::string& profile_id);

  const SegmentListenerOptions& options() const { return options_; }
  std::uint64_t last_seq() const;

 private:
  struct SegmentState {
    bool member = false;
    std::uint32_t version = 0;
    UnixMillis at = 0;  // time of the change that decided this state
  };
  struct Profile {
    std::map<std::string, SegmentState> segments;
    std::list<std::string>::iterator lru;
  };
  void apply_locked(const wire::SegmentChangeMessage& change);
  ChangesPage page_locked(std::uint64_t since, std::size_t limit) const;

  Uplink& uplink_;
  wire::AgentAddress address_;
  SegmentListenerOptions options_;
  ClockPtr clock_;

  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  bool stopping_ = false;
  std::size_t waiters_ = 0;
  std::uint64_t last_seq_;
  std::deque<ReceivedChange> ring_;
  std::unordered_set<std::string> ring_ids_;  // change_ids in the ring (duplicates)
  std::unordered_map<std::string, Profile> profiles_;
  std::list<std::string> lru_;  // most recently changed first

  metrics::Counter& received_;
  metrics::Counter& duplicates_;
  metrics::Counter& refused_;
  metrics::Counter& stale_;
  metrics::Counter& evicted_;
  metrics::Counter& waiters_refused_;
};

}  // namespace aisle::agent
