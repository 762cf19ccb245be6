// SegmentEngine: real-time behavioural segments (docs/segments.md).
//
// It is a ProfileListener: the identity-resolution thread hands it every committed event with
// its profile id; the engine updates only that profile's window state, re-evaluates only the
// segments whose conditions depend on the event's type (and segments depending on those through
// membership), and reports entries and exits to its SegmentChangeSinks. A min-heap keyed by each
// profile's next window expiry re-evaluates profiles whose windows move without new events
// (tick(), driven by the engine's thread every tick_interval, or directly by tests).
//
// Definitions are versioned. A new version (PUT, rollback, and every active segment at start)
// is computed by a backfill job: stored events since (now - longest window - lateness) are
// replayed through the `replay` callback into a shadow window state, live events arriving
// meanwhile are applied to the shadow as well (deduplicated by event id), and when the replay
// ends the new version replaces the old one atomically and the membership differences are
// emitted with reason "backfill". The old version serves until then.
//
// Thread-safety: every public method may be called from any thread; one mutex serializes the
// state. Sinks are called with that mutex held, in decision order: they must queue and return.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collector/profiles/profile_listener.hpp"
#include "collector/segments/score_provider.hpp"
#include "collector/segments/segment_change.hpp"
#include "collector/segments/segment_definition.hpp"
#include "collector/segments/segment_options.hpp"
#include "collector/segments/segment_store.hpp"
#include "collector/segments/window_state.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/uuid.hpp"

namespace aisle::collector::segments {

// Streams stored events whose occurred_at >= `since`, in commit order, each with its current
// (surviving) profile id; events without a profile may be left out. Returns when all were
// delivered. Called from the engine's backfill thread (or the caller of run_backfills()).
using StoredEventReplay = std::function<Status(
    UnixMillis since, const std::function<void(const profiles::ProfiledEvent&)>& each)>;

struct SegmentEngineDeps {
  ClockPtr clock = SystemClock::instance();
  metrics::Registry* metrics = nullptr;        // required
  std::shared_ptr<ScoreProvider> scores;       // optional: score() conditions are false without
  StoredEventReplay replay;                    // optional: without it a new version starts from
                                               // an empty window state (documented)
  // Optional: run by every tick() after the engine's own expiries, outside the engine's lock
  // (the collector closes the propensity model's idle sessions with it, so they end while no
  // events arrive).
  std::function<void()> on_tick;
};

struct BackfillProgress {
  std::string state;  // "queued", "running", "done", "failed", "" (never ran)
  std::uint32_t version = 0;
  std::string reason;             // "put", "rollback", "start"
  UnixMillis since = 0;           // replayed events occurred at or after this
  UnixMillis started_at = 0;
  UnixMillis finished_at = 0;
  std::uint64_t events_replayed = 0;
  UnixMillis replayed_up_to = 0;  // occurred_at of the latest replayed event
  std::string error;
};

struct SegmentVersionInfo {
  std::uint32_t version = 0;
  UnixMillis created_at = 0;
  nlohmann::json definition;
};

struct SegmentInfo {
  std::string segment_id;
  std::uint32_t active_version = 0;  // serving; 0 until the first backfill completed
  std::uint32_t latest_version = 0;
  bool retired = false;
  std::size_t members = 0;
  nlohmann::json definition;  // of the active version (latest when none is active yet)
  BackfillProgress backfill;
  std::vector<SegmentVersionInfo> versions;  // only from get(), ascending
};

struct MembershipInfo {
  std::string segment_id;
  std::uint32_t version = 0;
  UnixMillis entered_at = 0;
};

struct MemberPage {
  std::vector<std::pair<std::string, UnixMillis>> members;  // profile id, entered_at
  std::string next_cursor;  // "" at the end
};

class SegmentEngine final : public profiles::ProfileListener {
 public:
  // Opens segments.db, loads definitions, memberships and the definitions directory, and queues
  // the start-up backfill of every active segment.
  static Result<std::unique_ptr<SegmentEngine>> open(SegmentOptions options, SegmentEngineDeps deps);
  ~SegmentEngine() override;

  // Before start(): sinks receive every change.
  void add_sink(std::shared_ptr<SegmentChangeSink> sink);
  // Starts the tick thread (expiries, membership flush) and the backfill thread.
  void start();
  // Stops both threads and flushes membership. Idempotent.
  void stop();

  // ProfileListener.
  void on_events(const std::vector<profiles::ProfiledEvent>& events) override;
  void on_merge(const profiles::MergeRecord& merge) override;
  void on_erase(const profiles::ErasedProfile& erased) override;

  // Re-evaluates the profiles whose windows changed by `now`, then runs deps.on_tick. Returns
  // how many profiles were evaluated.
  std::size_t tick(UnixMillis now);
  // Runs queued backfill jobs on the calling thread (tests; the thread does it otherwise).
  void run_backfills();
  // Writes pending membership changes to SQLite (the tick thread does it every tick).
  Status flush();

  // API. Errors: kInvalidArgument (bad definition, naming the JSON path), kNotFound,
  // kFailedPrecondition (a cycle, a reference to an unknown segment or model, a retired
  // segment still referenced), kResourceExhausted (limits).
  Result<std::uint32_t> put(const std::string& segment_id, const nlohmann::json& definition);
  Result<std::uint32_t> rollback(const std::string& segment_id, std::uint32_t version);
  Status retire(const std::string& segment_id);
  Result<SegmentInfo> get(const std::string& segment_id) const;
  std::vector<SegmentInfo> list() const;
  Result<MemberPage> members(const std::string& segment_id, const std::string& cursor,
                             std::size_t limit) const;
  std::vector<MembershipInfo> segments_of(const std::string& profile_id) const;
  bool is_member(const std::string& segment_id, const std::string& profile_id) const;

  // Bytes of window state held (features, extras), and profiles held; for metrics and bench.
  std::size_t state_bytes() const;
  std::size_t profile_count() const;
  const SegmentOptions& options() const { return options_; }

 private:
  struct Impl;
  SegmentEngine(SegmentOptions options, SegmentEngineDeps deps, std::unique_ptr<SegmentStore> store);

  SegmentOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aisle::collector::segments
