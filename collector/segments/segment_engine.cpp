// The segment engine's control side: opening, definitions and versions, backfill jobs, threads
// and the read API. The per-event path is in segment_engine_eval.cpp.
#include "collector/segments/segment_engine.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "collector/segments/segment_engine_impl.hpp"
#include "common/json_text.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

std::string refs_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& id : path) out += (out.empty() ? "" : " -> ") + id;
  return out;
}

// Finds the condition node that references `id` (for an error naming its JSON path).
const Condition* find_ref(const Condition& c, NodeKind kind, const std::string& name) {
  if (c.kind == kind && c.name == name) return &c;
  for (const auto& child : c.children) {
    if (const Condition* found = find_ref(child, kind, name)) return found;
  }
  return nullptr;
}

}  // namespace

SegmentEngine::Impl::Impl(SegmentOptions o, SegmentEngineDeps d, std::unique_ptr<SegmentStore> s)
    : options(std::move(o)), deps(std::move(d)), store(std::move(s)) {
  metrics::Registry& m = *deps.metrics;
  events = &m.counter("aisle_collector_segments_events_total",
                      "Profiled events that updated segment window state");
  events_ignored = &m.counter("aisle_collector_segments_events_ignored_total",
                              "Profiled events no active segment depends on (nothing touched)");
  late_events = &m.counter("aisle_collector_segments_late_events_total",
                           "Events older than the allowed lateness (ignored for windows)");
  evaluations = &m.counter("aisle_collector_segments_evaluations_total",
                           "Segment conditions evaluated for one profile");
  expiries = &m.counter("aisle_collector_segments_timer_evaluations_total",
                        "Profiles re-evaluated because a window moved (no new event)");
  entered = &m.counter("aisle_collector_segments_changes_total", "Segment entries and exits",
                       {{"kind", "entered"}});
  exited = &m.counter("aisle_collector_segments_changes_total", "Segment entries and exits",
                      {{"kind", "exited"}});
  refused = &m.counter("aisle_collector_segments_definitions_refused_total",
                       "Segment definitions refused (schema, limits, references, cycles)");
  backfill_events = &m.counter("aisle_collector_segments_backfill_events_total",
                               "Stored events replayed by backfill jobs");
  flush_errors = &m.counter("aisle_collector_segments_flush_errors_total",
                            "Failed writes of membership changes to segments.db (retried)");
  profiles_gauge = &m.gauge("aisle_collector_segments_profiles",
                            "Profiles holding segment window state or membership");
  pending_gauge = &m.gauge("aisle_collector_segments_pending_writes",
                           "Membership changes not yet written to segments.db");
}

void SegmentEngine::Impl::emit(const SegmentChange& change) {
  for (const auto& sink : sinks) sink->on_change(change);
}

Result<CompiledPtr> SegmentEngine::Impl::compile(const std::string& segment_id,
                                                 std::uint32_t version, UnixMillis created_at,
                                                 const json& document) {
  auto parsed = parse_segment_definition(document, options.definition);
  if (!parsed) return parsed.error();
  auto cv = std::make_shared<CompiledVersion>();
  cv->version = version;
  cv->created_at = created_at;
  cv->def = std::move(*parsed);
  if (deps.scores) {
    const auto models = deps.scores->models();
    for (const auto& model : cv->def.score_models) {
      if (std::find(models.begin(), models.end(), model) == models.end()) {
        const Condition* at = find_ref(cv->def.condition, NodeKind::kScore, model);
        return make_error(ErrorCode::kFailedPrecondition,
                          (at ? at->json_path : std::string("/condition")) +
                              ": no score model '" + model + "' is configured");
      }
    }
  }
  Status status;
  std::function<void(Condition&)> bind = [&](Condition& c) {
    if (!status) return;
    if (c.kind == NodeKind::kFeature || c.kind == NodeKind::kRecency) {
      c.slot = intern_feature(c.feature);
      if (std::find(cv->features.begin(), cv->features.end(), c.slot) == cv->features.end()) {
        cv->features.push_back(c.slot);
      }
      cv->horizon_ms = std::max(cv->horizon_ms, c.kind == NodeKind::kRecency
                                                    ? options.definition.max_window_ms
                                                    : c.feature.window_ms);
      if (c.kind == NodeKind::kRecency) {
        cv->recency.emplace_back(c.slot, static_cast<std::int64_t>(c.number));
      }
    } else if (c.kind == NodeKind::kSegment) {
      auto it = slots.find(c.name);
      if (c.name != segment_id &&
          (it == slots.end() || !segments[it->second]->target || segments[it->second]->retired)) {
        status = make_error(ErrorCode::kFailedPrecondition,
                            c.json_path + ": segment '" + c.name + "' does not exist");
        return;
      }
      if (c.name == segment_id) {
        status = make_error(ErrorCode::kFailedPrecondition,
                            c.json_path + ": segment '" + segment_id +
                                "' refers to itself (cycle " + segment_id + " -> " + segment_id +
                                ")");
        return;
      }
      c.slot = it->second;
      if (std::find(cv->segment_refs.begin(), cv->segment_refs.end(), c.slot) ==
          cv->segment_refs.end()) {
        cv->segment_refs.push_back(c.slot);
      }
    }
    for (auto& child : c.children) bind(child);
  };
  bind(cv->def.condition);
  if (!status) return status.error();
  return CompiledPtr(cv);
}

Status SegmentEngine::Impl::check_cycles(const std::string& segment_id,
                                         const CompiledVersion& candidate) const {
  auto refs_of = [&](std::uint32_t slot) -> std::vector<std::uint32_t> {
    const Segment& s = *segments[slot];
    if (s.id == segment_id) return candidate.segment_refs;
    if (s.retired || !s.target) return {};
    return s.target->segment_refs;
  };
  const std::uint32_t start = slots.at(segment_id);
  std::vector<std::string> path{segment_id};
  std::vector<bool> visited(segments.size(), false);
  std::function<bool(std::uint32_t)> dfs = [&](std::uint32_t slot) {
    for (std::uint32_t ref : refs_of(slot)) {
      path.push_back(segments[ref]->id);
      if (ref == start) return true;
      if (!visited[ref]) {
        visited[ref] = true;
        if (dfs(ref)) return true;
      }
      path.pop_back();
    }
    return false;
  };
  if (dfs(start)) {
    const Condition* at = find_ref(candidate.def.condition, NodeKind::kSegment, path[1]);
    return make_error(ErrorCode::kFailedPrecondition,
                      (at ? at->json_path : std::string("/condition")) +
                          ": segment references form a cycle: " + refs_path(path));
  }
  return ok_status();
}

void SegmentEngine::Impl::compute_ranks() {
  std::vector<int> state(segments.size(), 0);  // 0 new, 1 visiting, 2 done
  std::function<int(std::uint32_t)> rank = [&](std::uint32_t slot) -> int {
    Segment& s = *segments[slot];
    if (state[slot] == 2) return s.rank;
    if (state[slot] == 1) return 0;  // transient cycle between an old and a new version
    state[slot] = 1;
    int r = 0;
    for (const CompiledPtr& cv : {s.active, s.target}) {
      if (!cv) continue;
      for (std::uint32_t ref : cv->segment_refs) r = std::max(r, rank(ref) + 1);
    }
    s.rank = r;
    state[slot] = 2;
    return r;
  };
  for (std::uint32_t slot = 0; slot < segments.size(); ++slot) rank(slot);
}

void SegmentEngine::Impl::queue_job(std::vector<std::pair<std::uint32_t, CompiledPtr>> targets,
                                    std::string reason, UnixMillis now) {
  auto job = std::make_unique<BackfillJob>();
  std::sort(targets.begin(), targets.end(), [&](const auto& a, const auto& b) {
    return segments[a.first]->rank < segments[b.first]->rank;
  });
  std::int64_t horizon = 0;
  for (const auto& [slot, cv] : targets) horizon = std::max(horizon, cv->horizon_ms);
  job->since = now - horizon - options.allowed_lateness.count();
  job->reason = std::move(reason);
  job->targets = std::move(targets);
  for (const auto& [slot, cv] : job->targets) {
    BackfillProgress& b = segments[slot]->backfill;
    b = BackfillProgress{};
    b.state = "queued";
    b.version = cv->version;
    b.reason = job->reason;
    b.since = job->since;
  }
  queued_jobs.push_back(std::move(job));
  jobs_changed.notify_all();
}

bool SegmentEngine::Impl::run_one_job() {
  std::unique_lock lock(mutex);
  if (queued_jobs.empty() || running_job) return false;
  std::unique_ptr<BackfillJob> job = std::move(queued_jobs.front());
  queued_jobs.pop_front();
  // A later PUT or rollback superseded this version: its own job will compute it.
  std::erase_if(job->targets, [&](const auto& t) { return segments[t.first]->target != t.second; });
  if (job->targets.empty()) return true;
  const UnixMillis now = deps.clock->now_unix_ms();
  job->started_at = now;
  std::vector<std::pair<std::uint32_t, CompiledPtr>> versions = job->targets;
  job->plans = build_plans(versions);
  for (const auto& [slot, cv] : job->targets) {
    segments[slot]->backfill.state = "running";
    segments[slot]->backfill.started_at = now;
  }
  running_job = std::move(job);
  BackfillJob* running = running_job.get();
  const UnixMillis since = running->since;
  // Events that occurred this recently may also still reach on_events: remember their ids.
  const UnixMillis dedup_after = now - options.allowed_lateness.count() - 60'000;
  lock.unlock();

  Status status;
  std::uint64_t replayed = 0;
  UnixMillis up_to = 0;
  if (deps.replay) {
    std::vector<std::pair<Event, std::string>> batch;
    batch.reserve(options.backfill_batch_size);
    auto apply_batch = [&] {
      const std::lock_guard guard(mutex);
      for (auto& [event, profile_id] : batch) {
        const bool recent = event.occurred_at >= dedup_after;
        if (recent ? !running->seen.insert(event.event_id).second
                   : running->seen.count(event.event_id) > 0) {
          continue;
        }
        profiles::ProfiledEvent pe{&event, profile_id};
        apply(running->shadow, running->plans, pe, false);
        up_to = std::max(up_to, event.occurred_at);
      }
      replayed += batch.size();
      backfill_events->inc(static_cast<double>(batch.size()));
      for (const auto& [slot, cv] : running->targets) {
        segments[slot]->backfill.events_replayed = replayed;
        segments[slot]->backfill.replayed_up_to = up_to;
      }
      batch.clear();
    };
    status = deps.replay(since, [&](const profiles::ProfiledEvent& pe) {
      if (pe.event == nullptr || pe.profile_id.empty()) return;
      batch.emplace_back(*pe.event, pe.profile_id);
      if (batch.size() >= options.backfill_batch_size) apply_batch();
    });
    if (!batch.empty()) apply_batch();
  }

  lock.lock();
  std::unique_ptr<BackfillJob> done = std::move(running_job);
  const UnixMillis finished = deps.clock->now_unix_ms();
  if (!status) {
    log.warn("segment backfill failed; the previous version keeps serving",
             {{"reason", done->reason}, {"error", status.error().message}});
    for (const auto& [slot, cv] : done->targets) {
      Segment& seg = *segments[slot];
      seg.backfill.state = "failed";
      seg.backfill.error = status.error().message;
      seg.backfill.finished_at = finished;
      seg.target = seg.active;
      // A start-up replay that failed still serves: persisted membership, windows from now on.
      if (seg.active) seg.live = true;
    }
    compute_ranks();
    rebuild_live_plans();
    return true;
  }
  finish_job(*done, finished);
  return true;
}

void SegmentEngine::Impl::finish_job(BackfillJob& job, UnixMillis now) {
  // 1. Window state the serving versions did not keep comes from the shadow (which saw the
  // replay and every live event since the job started).
  const std::vector<bool> used = live_plans.feature_used;
  job.shadow.for_each([&](std::uint32_t, ProfileEntry& sp) {
    ProfileEntry& lp = live.at(live.find_or_add(sp.id));
    for (auto& [fid, state] : sp.features) {
      if (fid < used.size() && used[fid]) continue;
      lp.feature_or_add(fid) = std::move(state);
    }
    if (sp.extras) {
      if (!lp.extras) {
        lp.extras = std::move(sp.extras);
      } else {
        extras_merge(*lp.extras, *sp.extras);
      }
    }
    if (lp.agent_id.empty()) {
      lp.store_id = sp.store_id;
      lp.agent_id = sp.agent_id;
    }
  });
  // 2. Switch atomically (we hold the mutex) and emit the differences.
  for (const auto& [slot, cv] : job.targets) {
    Segment& seg = *segments[slot];
    seg.active = cv;
    seg.live = true;
    seg.backfill.state = "done";
    seg.backfill.finished_at = now;
    if (auto s = store->set_active(seg.id, cv->version, false); !s) {
      log.warn("cannot record the active segment version",
               {{"segment", seg.id}, {"error", s.error().message}});
    }
  }
  compute_ranks();
  rebuild_live_plans();
  std::vector<std::uint32_t> handles;
  live.for_each([&](std::uint32_t h, ProfileEntry&) { handles.push_back(h); });
  // The new versions, then (rank order) every segment that refers to one of them.
  std::vector<std::uint32_t> affected;
  for (std::uint32_t slot : live_order) {
    const bool target = std::any_of(job.targets.begin(), job.targets.end(),
                                    [&](const auto& t) { return t.first == slot; });
    const auto& refs = segments[slot]->active->segment_refs;
    const bool dependent = std::any_of(refs.begin(), refs.end(), [&](std::uint32_t ref) {
      return std::find(affected.begin(), affected.end(), ref) != affected.end();
    });
    if (target || dependent) affected.push_back(slot);
  }
  for (std::uint32_t slot : affected) {
    for (std::uint32_t h : handles) {
      if (live.at(h).used) evaluate(slot, h, now, "backfill", "");
    }
  }
  for (std::uint32_t h : handles) {
    if (live.at(h).used) reschedule(h, now);
  }
  publish_metrics();
  log.info("segment backfill done", {{"reason", job.reason},
                                     {"segments", job.targets.size()},
                                     {"profiles", job.shadow.size()}});
}

// ---- SegmentEngine -------------------------------------------------------------------------

SegmentEngine::SegmentEngine(SegmentOptions options, SegmentEngineDeps deps,
                             std::unique_ptr<SegmentStore> store)
    : options_(options),
      impl_(std::make_unique<Impl>(std::move(options), std::move(deps), std::move(store))) {}

SegmentEngine::~SegmentEngine() { stop(); }

Result<std::unique_ptr<SegmentEngine>> SegmentEngine::open(SegmentOptions options,
                                                           SegmentEngineDeps deps) {
  if (deps.metrics == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "segment engine needs a metrics registry");
  }
  if (!deps.clock) deps.clock = SystemClock::instance();
  auto store = SegmentStore::open(options.path, options.synchronous_full);
  if (!store) return store.error();
  std::unique_ptr<SegmentEngine> engine(
      new SegmentEngine(options, std::move(deps), std::move(*store)));
  Impl& d = *engine->impl_;
  auto stored = d.store->load_segments();
  if (!stored) return stored.error();
  // Slots first, so definitions can refer to each other whatever their order.
  for (const auto& s : *stored) {
    auto seg = std::make_unique<Segment>();
    seg->id = s.segment_id;
    seg->retired = s.retired;
    d.slots[s.segment_id] = static_cast<std::uint32_t>(d.segments.size());
    d.segments.push_back(std::move(seg));
  }
  std::vector<std::pair<std::uint32_t, CompiledPtr>> active;
  for (const auto& s : *stored) {
    const std::uint32_t slot = d.slots[s.segment_id];
    Segment& seg = *d.segments[slot];
    for (const auto& v : s.versions) {
      seg.versions[v.version] =
          SegmentVersionInfo{v.version, v.created_at, json::parse(v.definition, nullptr, false)};
    }
    seg.size_gauge = &d.deps.metrics->gauge("aisle_collector_segments_members",
                                            "Profiles in a segment", {{"segment", seg.id}});
  }
  // Compile active versions; a segment referenced by another is given a target first.
  bool progress = true;
  std::vector<std::string> pending;
  std::map<std::string, std::uint32_t> active_versions;
  for (const auto& s : *stored) {
    if (s.active_version && !s.retired) pending.push_back(s.segment_id);
    active_versions[s.segment_id] = s.active_version;
  }
  while (progress && !pending.empty()) {
    progress = false;
    std::vector<std::string> still;
    for (const auto& id : pending) {
      Segment& seg = *d.segments[d.slots[id]];
      const std::uint32_t v = active_versions[id];
      auto it = seg.versions.find(v);
      if (it == seg.versions.end()) {
        return make_error(ErrorCode::kDataLoss,
                          "segments.db: segment " + id + " has no version " + std::to_string(v));
      }
      auto cv = d.compile(id, v, it->second.created_at, it->second.definition);
      if (!cv) {
        if (cv.error().code == ErrorCode::kFailedPrecondition) {
          still.push_back(id);
          continue;
        }
        return make_error(cv.error().code, "segments.db: segment " + id + " version " +
                                                std::to_string(v) + ": " + cv.error().message);
      }
      seg.active = *cv;
      seg.target = *cv;
      active.emplace_back(d.slots[id], *cv);
      progress = true;
    }
    pending = std::move(still);
  }
  if (!pending.empty()) {
    return make_error(ErrorCode::kDataLoss,
                      "segments.db: segment " + pending.front() + " cannot be compiled");
  }
  d.compute_ranks();
  auto members = d.store->load_members();
  if (!members) return members.error();
  for (const auto& m : *members) {
    auto it = d.slots.find(m.segment_id);
    if (it == d.slots.end() || !d.segments[it->second]->active) continue;
    d.add_member(it->second, d.live.find_or_add(m.profile_id), m.version, m.entered_at);
  }
  d.publish_metrics();
  const UnixMillis now = d.deps.clock->now_unix_ms();
  if (d.deps.replay && !active.empty()) {
    d.queue_job(active, "start", now);  // serves persisted membership until it is done
  } else {
    for (const auto& [slot, cv] : active) d.segments[slot]->live = true;
  }
  d.rebuild_live_plans();

  if (!d.options.definitions_dir.empty()) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(d.options.definitions_dir, ec)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    if (ec) {
      return make_error(ErrorCode::kIo, "segments.definitions_dir " + d.options.definitions_dir +
                                            ": " + ec.message());
    }
    std::sort(files.begin(), files.end());
    std::vector<std::pair<std::string, json>> todo;
    for (const auto& file : files) {
      const std::string id = file.stem().string();
      if (!valid_segment_id(id)) {
        return make_error(ErrorCode::kInvalidArgument,
                          file.string() + ": file name is not a segment id ([a-z0-9_-]{1,64})");
      }
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      auto doc = parse_json(text.str(), JsonLimits{d.options.definition.max_bytes, 256});
      if (!doc) return make_error(ErrorCode::kInvalidArgument, file.string() + ": " + doc.error().message);
      todo.emplace_back(id, std::move(*doc));
    }
    // Definitions may refer to each other: retry those waiting for another until none moves.
    while (!todo.empty()) {
      std::vector<std::pair<std::string, json>> waiting;
      Error last_error;
      for (auto& [id, doc] : todo) {
        auto slot = d.slots.find(id);
        if (slot != d.slots.end()) {
          const Segment& seg = *d.segments[slot->second];
          if (!seg.retired && !seg.versions.empty() && seg.versions.rbegin()->second.definition == doc) {
            continue;  // unchanged since the last start
          }
        }
        auto v = engine->put(id, doc);
        if (!v) {
          if (v.error().code != ErrorCode::kFailedPrecondition) {
            return make_error(v.error().code, d.options.definitions_dir + "/" + id +
                                                  ".json: " + v.error().message);
          }
          last_error = v.error();
          waiting.emplace_back(id, std::move(doc));
        }
      }
      if (waiting.size() == todo.size()) {
        return make_error(ErrorCode::kFailedPrecondition,
                          d.options.definitions_dir + "/" + waiting.front().first +
                              ".json: " + last_error.message);
      }
      todo = std::move(waiting);
    }
  }
  return engine;
}

void SegmentEngine::add_sink(std::shared_ptr<SegmentChangeSink> sink) {
  const std::lock_guard lock(impl_->mutex);
  impl_->sinks.push_back(std::move(sink));
}

void SegmentEngine::start() {
  Impl& d = *impl_;
  if (d.tick_thread.joinable()) return;
  d.stopping = false;
  d.tick_thread = std::thread([this, &d] {
    std::unique_lock lock(d.wake_mutex);
    while (!d.stopping) {
      d.wake.wait_for(lock, d.options.tick_interval, [&] { return d.stopping.load(); });
      if (d.stopping) break;
      lock.unlock();
      tick(d.deps.clock->now_unix_ms());
      (void)flush();
      lock.lock();
    }
  });
  d.backfill_thread = std::thread([&d] {
    while (true) {
      {
        std::unique_lock lock(d.mutex);
        d.jobs_changed.wait(lock, [&] { return d.stopping || !d.queued_jobs.empty(); });
        if (d.stopping) return;
      }
      d.run_one_job();
    }
  });
}

void SegmentEngine::stop() {
  Impl& d = *impl_;
  {
    const std::lock_guard lock(d.mutex);
    const std::lock_guard wake_lock(d.wake_mutex);
    d.stopping = true;
  }
  d.wake.notify_all();
  d.jobs_changed.notify_all();
  // A running replay is not interrupted: it ends when the stored events are read.
  if (d.tick_thread.joinable()) d.tick_thread.join();
  if (d.backfill_thread.joinable()) d.backfill_thread.join();
  (void)flush();
}

void SegmentEngine::on_events(const std::vector<profiles::ProfiledEvent>& events) {
  const std::lock_guard lock(impl_->mutex);
  impl_->process_events(events, impl_->deps.clock->now_unix_ms());
}

void SegmentEngine::on_merge(const profiles::MergeRecord& merge) {
  Impl& d = *impl_;
  const std::lock_guard lock(d.mutex);
  if (d.deps.scores) d.deps.scores->on_merge(merge);
  if (d.running_job) d.merge_entries(d.running_job->shadow, merge, false, 0);
  d.merge_entries(d.live, merge, true, d.deps.clock->now_unix_ms());
  d.publish_metrics();
}

void SegmentEngine::on_erase(const profiles::ErasedProfile& erased) {
  Impl& d = *impl_;
  const std::lock_guard lock(d.mutex);
  const UnixMillis now = d.deps.clock->now_unix_ms();
  std::vector<std::string> ids = erased.merged_profile_ids;
  ids.push_back(erased.profile_id);
  for (const auto& id : ids) {
    if (d.deps.scores) d.deps.scores->forget(id);
    if (d.running_job) {
      if (auto h = d.running_job->shadow.find(id); h != kNoHandle) d.running_job->shadow.erase(h);
    }
    const std::uint32_t h = d.live.find(id);
    if (h == kNoHandle) continue;
    const std::vector<Membership> member_of = d.live.at(h).member_of;
    for (const Membership& m : member_of) d.set_membership(m.slot, h, false, now, "erasure", "");
    d.live.erase(h);
  }
  d.publish_metrics();
}

std::size_t SegmentEngine::tick(UnixMillis now) {
  Impl& d = *impl_;
  std::size_t fired = 0;
  {
    const std::lock_guard lock(d.mutex);
    fired = d.fire_timers(now);
    d.publish_metrics();
    d.profiles_gauge->set(static_cast<double>(d.live.size()));
    d.pending_gauge->set(static_cast<double>(d.pending_writes.size() + d.retry_writes.size()));
  }
  if (d.deps.on_tick) d.deps.on_tick();
  return fired;
}

void SegmentEngine::run_backfills() {
  while (impl_->run_one_job()) {
  }
}

Status SegmentEngine::flush() {
  Impl& d = *impl_;
  const std::lock_guard flush_lock(d.flush_mutex);
  std::vector<MemberWrite> writes;
  {
    // Ids are turned into strings here, on the flush thread, instead of once per change.
    const std::lock_guard lock(d.mutex);
    writes.swap(d.retry_writes);
    d.resolve_pending(writes);
  }
  if (writes.empty()) return ok_status();
  auto status = d.store->write_members(writes);
  if (!status) {
    d.flush_errors->inc();
    d.log.warn("cannot write segment membership; retrying next tick",
               {{"changes", writes.size()}, {"error", status.error().message}});
    // Only this function fills retry_writes (flush_mutex held): they go before newer changes.
    const std::lock_guard lock(d.mutex);
    d.retry_writes.swap(writes);
  }
  return status;
}

Result<std::uint32_t> SegmentEngine::put(const std::string& segment_id, const json& definition) {
  Impl& d = *impl_;
  if (!valid_segment_id(segment_id)) {
    d.refused->inc();
    return make_error(ErrorCode::kInvalidArgument,
                      "segment id '" + segment_id +
                          "' must match [a-z0-9_-]{1,64} and not be the reserved 'stream'");
  }
  const std::lock_guard lock(d.mutex);
  const UnixMillis now = d.deps.clock->now_unix_ms();
  auto it = d.slots.find(segment_id);
  if (it == d.slots.end() || d.segments[it->second]->retired ||
      !d.segments[it->second]->target) {
    std::size_t serving = 0;
    for (const auto& s : d.segments) serving += (!s->retired && s->target) ? 1 : 0;
    if (serving >= d.options.max_segments) {
      d.refused->inc();
      return make_error(ErrorCode::kResourceExhausted,
                        "already " + std::to_string(serving) + " segments, limit " +
                            std::to_string(d.options.max_segments) + " (segments.max_segments)");
    }
  }
  if (it == d.slots.end()) {
    auto seg = std::make_unique<Segment>();
    seg->id = segment_id;
    seg->size_gauge = &d.deps.metrics->gauge("aisle_collector_segments_members",
                                             "Profiles in a segment", {{"segment", segment_id}});
    it = d.slots.emplace(segment_id, static_cast<std::uint32_t>(d.segments.size())).first;
    d.segments.push_back(std::move(seg));
  }
  Segment& seg = *d.segments[it->second];
  const std::uint32_t version = seg.versions.empty() ? 1 : seg.versions.rbegin()->first + 1;
  if (seg.versions.size() >= d.options.max_versions) {
    d.refused->inc();
    return make_error(ErrorCode::kResourceExhausted,
                      "segment " + segment_id + " has " + std::to_string(seg.versions.size()) +
                          " versions, limit " + std::to_string(d.options.max_versions));
  }
  auto cv = d.compile(segment_id, version, now, definition);
  if (!cv) {
    d.refused->inc();
    return cv.error();
  }
  if (auto s = d.check_cycles(segment_id, **cv); !s) {
    d.refused->inc();
    return s.error();
  }
  if (auto s = d.store->add_version(segment_id, StoredVersion{version, definition.dump(), now});
      !s) {
    return s.error();
  }
  seg.versions[version] = SegmentVersionInfo{version, now, definition};
  seg.target = *cv;
  seg.retired = false;
  d.compute_ranks();
  d.queue_job({{it->second, *cv}}, "put", now);
  d.log.info("segment version created", {{"segment", segment_id}, {"version", version}});
  return version;
}

Result<std::uint32_t> SegmentEngine::rollback(const std::string& segment_id,
                                              std::uint32_t version) {
  Impl& d = *impl_;
  const std::lock_guard lock(d.mutex);
  auto it = d.slots.find(segment_id);
  if (it == d.slots.end() || d.segments[it->second]->versions.empty()) {
    return make_error(ErrorCode::kNotFound, "no segment " + segment_id);
  }
  Segment& seg = *d.segments[it->second];
  auto v = seg.versions.find(version);
  if (v == seg.versions.end()) {
    return make_error(ErrorCode::kNotFound, "segment " + segment_id + " has no version " +
                                                std::to_string(version));
  }
  auto cv = d.compile(segment_id, version, v->second.created_at, v->second.definition);
  if (!cv) return cv.error();
  if (auto s = d.check_cycles(segment_id, **cv); !s) return s.error();
  seg.target = *cv;
  seg.retired = false;
  d.compute_ranks();
  d.queue_job({{it->second, *cv}}, "rollback", d.deps.clock->now_unix_ms());
  return version;
}

Status SegmentEngine::retire(const std::string& segment_id) {
  Impl& d = *impl_;
  const std::lock_guard lock(d.mutex);
  auto it = d.slots.find(segment_id);
  if (it == d.slots.end() || d.segments[it->second]->versions.empty() ||
      d.segments[it->second]->retired) {
    return make_error(ErrorCode::kNotFound, "no segment " + segment_id);
  }
  const std::uint32_t slot = it->second;
  for (const auto& other : d.segments) {
    if (other->retired || !other->target || other->id == segment_id) continue;
    const auto& refs = other->target->segment_refs;
    if (std::find(refs.begin(), refs.end(), slot) != refs.end()) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "segment " + other->id + " refers to " + segment_id +
                            ": change or delete it first");
    }
  }
  const UnixMillis now = d.deps.clock->now_unix_ms();
  Segment& seg = *d.segments[slot];
  // Members leave (reason "retired"), so kiosks and webhooks drop what they hold for them.
  const std::vector<std::uint32_t> members = seg.member_handles;
  for (std::uint32_t h : members) d.set_membership(slot, h, false, now, "retired", "");
  d.publish_metrics();
  seg.retired = true;
  seg.target = nullptr;
  seg.live = false;
  if (auto s = d.store->set_active(segment_id, seg.active ? seg.active->version : 0, true); !s) {
    return s;
  }
  d.compute_ranks();
  d.rebuild_live_plans();
  return ok_status();
}

namespace {

SegmentInfo info_of(const Segment& seg) {
  SegmentInfo info;
  info.segment_id = seg.id;
  info.active_version = seg.active ? seg.active->version : 0;
  info.latest_version = seg.versions.empty() ? 0 : seg.versions.rbegin()->first;
  info.retired = seg.retired;
  info.members = seg.member_handles.size();
  if (seg.active) {
    info.definition = seg.active->def.document;
  } else if (!seg.versions.empty()) {
    info.definition = seg.versions.rbegin()->second.definition;
  }
  info.backfill = seg.backfill;
  return info;
}

}  // namespace

Result<SegmentInfo> SegmentEngine::get(const std::string& segment_id) const {
  const std::lock_guard lock(impl_->mutex);
  auto it = impl_->slots.find(segment_id);
  if (it == impl_->slots.end() || impl_->segments[it->second]->versions.empty()) {
    return make_error(ErrorCode::kNotFound, "no segment " + segment_id);
  }
  const Segment& seg = *impl_->segments[it->second];
  SegmentInfo info = info_of(seg);
  for (const auto& [v, version] : seg.versions) info.versions.push_back(version);
  return info;
}

std::vector<SegmentInfo> SegmentEngine::list() const {
  const std::lock_guard lock(impl_->mutex);
  std::vector<SegmentInfo> out;
  for (const auto& seg : impl_->segments) {
    if (!seg->versions.empty()) out.push_back(info_of(*seg));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.segment_id < b.segment_id; });
  return out;
}

Result<MemberPage> SegmentEngine::members(const std::string& segment_id, const std::string& cursor,
                                          std::size_t limit) const {
  const std::lock_guard lock(impl_->mutex);
  auto it = impl_->slots.find(segment_id);
  if (it == impl_->slots.end() || impl_->segments[it->second]->versions.empty()) {
    return make_error(ErrorCode::kNotFound, "no segment " + segment_id);
  }
  // Members are held by profile handle, unordered: a page is the `limit` smallest ids after
  // the cursor, selected in O(members * log(limit)) (paging is rare; changes are not).
  const std::uint32_t slot = it->second;
  const Segment& seg = *impl_->segments[slot];
  MemberPage page;
  if (limit == 0) return page;
  struct Candidate {
    const std::string* id;
    UnixMillis entered_at;
  };
  auto less = [](const Candidate& a, const Candidate& b) { return *a.id < *b.id; };
  std::vector<Candidate> heap;  // max-heap of the smallest `limit + 1` ids seen
  for (std::uint32_t h : seg.member_handles) {
    const ProfileEntry& p = impl_->live.at(h);
    if (!cursor.empty() && p.id <= cursor) continue;
    const Membership* m = p.membership(slot);
    const Candidate c{&p.id, m ? m->entered_at : 0};
    if (heap.size() <= limit) {
      heap.push_back(c);
      std::push_heap(heap.begin(), heap.end(), less);
    } else if (less(c, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), less);
      heap.back() = c;
      std::push_heap(heap.begin(), heap.end(), less);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), less);
  const bool more = heap.size() > limit;
  if (more) heap.pop_back();
  for (const auto& c : heap) page.members.emplace_back(*c.id, c.entered_at);
  if (more) page.next_cursor = page.members.back().first;
  return page;
}

std::vector<MembershipInfo> SegmentEngine::segments_of(const std::string& profile_id) const {
  const std::lock_guard lock(impl_->mutex);
  std::vector<MembershipInfo> out;
  const std::uint32_t h = impl_->live.find(profile_id);
  if (h == kNoHandle) return out;
  for (const Membership& m : impl_->live.at(h).member_of) {
    out.push_back(MembershipInfo{impl_->segments[m.slot]->id, m.version, m.entered_at});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.segment_id < b.segment_id; });
  return out;
}

bool SegmentEngine::is_member(const std::string& segment_id, const std::string& profile_id) const {
  const std::lock_guard lock(impl_->mutex);
  auto it = impl_->slots.find(segment_id);
  if (it == impl_->slots.end()) return false;
  const std::uint32_t h = impl_->live.find(profile_id);
  return h != kNoHandle && impl_->live.at(h).member(it->second);
}

std::size_t SegmentEngine::state_bytes() const {
  const std::lock_guard lock(impl_->mutex);
  std::size_t bytes = 0;
  impl_->live.for_each([&](std::uint32_t, ProfileEntry& p) {
    bytes += sizeof(ProfileEntry) + p.id.capacity() + p.store_id.capacity() +
             p.agent_id.capacity() + p.member_of.capacity() * sizeof(Membership) +
             p.features.capacity() * sizeof(std::pair<std::uint32_t, FeatureState>);
    for (const auto& [id, f] : p.features) bytes += feature_bytes(f) - sizeof(FeatureState);
    if (p.extras) bytes += extras_bytes(*p.extras);
  });
  for (const auto& seg : impl_->segments) {
    bytes += seg->member_handles.capacity() * sizeof(std::uint32_t);
  }
  return bytes + impl_->live.index_bytes();
}

std::size_t SegmentEngine::profile_count() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->live.size();
}

}  // namespace aisle::collector::segments
