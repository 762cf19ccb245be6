// The segment engine's internal state, shared by segment_engine.cpp (definitions, backfill,
// threads, API) and segment_engine_eval.cpp (window updates, evaluation, timers). Not a public
// interface: everything here is touched with Impl::mutex held.
#pragma once

#include <queue>

#include "collector/segments/segment_engine.hpp"
#include "common/log.hpp"

namespace aisle::collector::segments {

inline constexpr std::uint32_t kNoHandle = 0xffffffffu;

// A definition version with its condition tree bound to feature ids and segment slots.
struct CompiledVersion {
  std::uint32_t version = 0;
  UnixMillis created_at = 0;
  SegmentDefinition def;
  std::vector<std::uint32_t> features;         // feature ids used, deduplicated
  std::vector<std::uint32_t> segment_refs;     // slots of referenced segments
  // Recency tests: (feature id, duration); their truth flips at last + duration.
  std::vector<std::pair<std::uint32_t, std::int64_t>> recency;
  std::int64_t horizon_ms = 0;  // how far back the replay must go for this version
};
using CompiledPtr = std::shared_ptr<const CompiledVersion>;

// One segment a profile is a member of (kept on the profile, sorted by slot).
struct Membership {
  std::uint32_t slot = 0;
  std::uint32_t version = 0;   // the version that decided the entry
  std::uint32_t position = 0;  // index of the profile's handle in Segment::member_handles
  UnixMillis entered_at = 0;
};

// A membership change not yet written to segments.db. Ids are resolved to strings on the flush
// thread, not per change: a profile handle with pending writes is not reused before the flush
// (ProfileTable pins it).
struct PendingWrite {
  std::uint32_t slot = 0;
  std::uint32_t handle = 0;
  std::uint32_t version = 0;
  bool entered = true;
  UnixMillis at = 0;
};

struct Segment {
  std::string id;
  std::map<std::uint32_t, SegmentVersionInfo> versions;
  CompiledPtr active;  // serving (nullptr: none yet, or retired)
  CompiledPtr target;  // the version that will serve once its backfill ends (== active if none)
  bool live = false;   // evaluated incrementally; false while its start-up backfill runs
  bool retired = false;
  // Handles of the member profiles (live table), unordered: an entry appends, an exit swaps
  // the last one into the hole (Membership::position finds it). No string per member.
  std::vector<std::uint32_t> member_handles;
  BackfillProgress backfill;
  int rank = 0;        // topological: a segment is evaluated after those it references
  metrics::Gauge* size_gauge = nullptr;
};

struct ProfileEntry {
  std::string id;
  bool used = false;
  bool pinned = false;  // has membership writes not yet flushed (its handle is not reused)
  std::vector<std::pair<std::uint32_t, FeatureState>> features;  // sorted by feature id
  std::unique_ptr<ProfileExtras> extras;
  std::vector<Membership> member_of;  // sorted by slot (live table only)
  std::string store_id;  // where the shopper was last seen through an agent
  std::string agent_id;
  UnixMillis scheduled_at = kNoDeadline;

  FeatureState* feature(std::uint32_t id);
  const FeatureState* feature(std::uint32_t id) const;
  FeatureState& feature_or_add(std::uint32_t id);
  bool member(std::uint32_t slot) const;
  const Membership* membership(std::uint32_t slot) const;
};

class ProfileTable {
 public:
  std::uint32_t find(const std::string& id) const;
  std::uint32_t find_or_add(const std::string& id);
  // Forgets a profile. A pinned entry keeps its id and its handle is held back (not reused)
  // until release_held(), so pending writes naming the handle still resolve to the right id.
  void erase(std::uint32_t handle);
  void release_held();
  ProfileEntry& at(std::uint32_t handle) { return entries_[handle]; }
  const ProfileEntry& at(std::uint32_t handle) const { return entries_[handle]; }
  std::size_t size() const { return used_; }
  std::size_t slots() const { return entries_.size(); }  // handles are below this
  std::size_t index_bytes() const { return index_.capacity() * sizeof(std::uint64_t); }
  template <typename F>
  void for_each(F&& f) {
    for (std::uint32_t h = 0; h < entries_.size(); ++h) {
      if (entries_[h].used) f(h, entries_[h]);
    }
  }

 private:
  // Profile id -> handle: open addressing with linear probing over (32-bit hash << 32 |
  // handle + 1) words, 0 = empty, at most half full. The id itself lives only in its entry, so
  // a lookup touches one index word and the entry the event updates anyway (a node-based map
  // costs a bucket, a node and a second copy of the id per profile).
  std::size_t probe(std::uint32_t hash, const std::string& id) const;  // its word or the empty one
  void grow();
  void unlink(std::size_t at);  // backward-shift deletion
  std::vector<std::uint64_t> index_;
  std::size_t used_ = 0;
  std::vector<ProfileEntry> entries_;
  std::vector<std::uint32_t> free_;
  std::vector<std::uint32_t> held_;  // erased while pinned
};

// What an event of one type touches.
struct Plan {
  std::vector<std::uint32_t> features;
  std::vector<std::uint32_t> segments;  // in evaluation (rank) order, dependents included
};

struct PlanSet {
  std::unordered_map<std::string, Plan> by_type;
  Plan any;  // types without their own plan (session and score segments depend on every type)
  bool session = false;
  bool traits = false;
  bool consent = false;
  std::vector<bool> feature_used;  // by feature id
  // Recency tests of every version, deduplicated: (feature id, duration).
  std::vector<std::pair<std::uint32_t, std::int64_t>> recency;
  // For window expiries: the segments (slots) using each feature id, and those using the session.
  std::vector<std::vector<std::uint32_t>> feature_segments;
  std::vector<std::uint32_t> session_segments;
  const Plan* plan_for(const std::string& type) const;
};

struct BackfillJob {
  std::vector<std::pair<std::uint32_t, CompiledPtr>> targets;  // rank order
  std::string reason;
  UnixMillis since = 0;
  UnixMillis started_at = 0;
  ProfileTable shadow;
  PlanSet plans;
  std::unordered_set<std::string> seen;  // event ids applied (live and replay may overlap)
};

struct TimerEntry {
  UnixMillis due = 0;
  std::uint32_t handle = 0;
  bool operator>(const TimerEntry& o) const { return due > o.due; }
};

struct SegmentEngine::Impl {
  SegmentOptions options;
  SegmentEngineDeps deps;
  std::unique_ptr<SegmentStore> store;
  log::Logger log{"collector.segments"};

  mutable std::mutex mutex;
  std::vector<std::shared_ptr<SegmentChangeSink>> sinks;
  std::vector<Feature> features;
  std::unordered_map<std::string, std::uint32_t> feature_ids;
  std::vector<std::unique_ptr<Segment>> segments;  // by slot
  std::unordered_map<std::string, std::uint32_t> slots;
  std::vector<std::uint32_t> live_order;           // live segments in rank order
  PlanSet live_plans;
  ProfileTable live;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers;
  std::vector<PendingWrite> pending_writes;  // in decision order
  std::vector<MemberWrite> retry_writes;     // resolved writes whose flush failed (go first)
  ChangeIdGenerator change_ids;
  // Evaluation order of each live slot (index in live_order; kNoHandle when not live).
  std::vector<std::uint32_t> live_rank;
  std::vector<std::uint32_t> scratch_slots;  // reused by fire_timers

  // Counts of the hot path, added to the metrics once per call (atomics per evaluation cost
  // more than the evaluation).
  std::uint64_t n_evaluations = 0;
  std::uint64_t n_entered = 0;
  std::uint64_t n_exited = 0;
  std::uint64_t n_expiries = 0;
  bool sizes_changed = false;

  std::deque<std::unique_ptr<BackfillJob>> queued_jobs;
  std::unique_ptr<BackfillJob> running_job;
  std::condition_variable jobs_changed;
  std::mutex flush_mutex;

  std::atomic<bool> stopping{false};
  std::thread tick_thread;
  std::thread backfill_thread;
  std::mutex wake_mutex;
  std::condition_variable wake;

  // Metrics.
  metrics::Counter* events = nullptr;
  metrics::Counter* events_ignored = nullptr;
  metrics::Counter* late_events = nullptr;
  metrics::Counter* evaluations = nullptr;
  metrics::Counter* expiries = nullptr;
  metrics::Counter* entered = nullptr;
  metrics::Counter* exited = nullptr;
  metrics::Counter* refused = nullptr;
  metrics::Counter* backfill_events = nullptr;
  metrics::Counter* flush_errors = nullptr;
  metrics::Gauge* profiles_gauge = nullptr;
  metrics::Gauge* pending_gauge = nullptr;

  Impl(SegmentOptions o, SegmentEngineDeps d, std::unique_ptr<SegmentStore> s);

  // segment_engine_eval.cpp
  std::uint32_t intern_feature(const FeatureSpec& spec);
  PlanSet build_plans(const std::vector<std::pair<std::uint32_t, CompiledPtr>>& versions) const;
  void rebuild_live_plans();
  // Applies one event to a table. Returns the profile's handle, or kNoHandle when no plan
  // wanted the event (nothing touched).
  std::uint32_t apply(ProfileTable& table, const PlanSet& plans,
                      const profiles::ProfiledEvent& event, bool late);
  // The same with the event type's plan already looked up (plans.plan_for(type), may be null).
  std::uint32_t apply(ProfileTable& table, const PlanSet& plans, const Plan* plan,
                      const profiles::ProfiledEvent& event, bool late);
  bool eval(const Condition& c, const ProfileEntry& p, UnixMillis now) const;
  void evaluate(std::uint32_t slot, std::uint32_t handle, UnixMillis now, const char* reason,
                const std::string& trigger_event_id);
  void set_membership(std::uint32_t slot, std::uint32_t handle, bool in, UnixMillis now,
                      const char* reason, const std::string& trigger_event_id);
  // Prunes expired state, schedules the next expiry, and forgets an empty profile.
  void reschedule(std::uint32_t handle, UnixMillis now);
  std::size_t fire_timers(UnixMillis now);
  // Rebuilds the timer heap with one entry per scheduled profile (drops superseded entries).
  void compact_timers();
  void process_events(const std::vector<profiles::ProfiledEvent>& events, UnixMillis now);
  void merge_entries(ProfileTable& table, const profiles::MergeRecord& merge, bool live_table,
                     UnixMillis now);

  // segment_engine.cpp
  Result<CompiledPtr> compile(const std::string& segment_id, std::uint32_t version,
                              UnixMillis created_at, const nlohmann::json& document);
  Status check_cycles(const std::string& segment_id, const CompiledVersion& candidate) const;
  void compute_ranks();
  void queue_job(std::vector<std::pair<std::uint32_t, CompiledPtr>> targets, std::string reason,
                 UnixMillis now);
  bool run_one_job();
  void finish_job(BackfillJob& job, UnixMillis now);
  void emit(const SegmentChange& change);
  void publish_metrics();
  // Moves pending writes (resolved to ids) after `out`'s content, unpins their profiles and
  // releases held handles.
  void resolve_pending(std::vector<MemberWrite>& out);
  void add_member(std::uint32_t slot, std::uint32_t handle, std::uint32_t version,
                  UnixMillis entered_at);
  void remove_member(std::uint32_t slot, std::uint32_t handle);
};

}  // namespace aisle::collector::segments
