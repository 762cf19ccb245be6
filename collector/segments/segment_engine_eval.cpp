// The hot path of the segment engine: window updates, condition evaluation, membership changes
// and window-expiry timers. Every function runs with Impl::mutex held.
#include <algorithm>
#include <functional>

#include "collector/segments/segment_engine_impl.hpp"

namespace aisle::collector::segments {

// ---- ProfileEntry / ProfileTable / PlanSet ------------------------------------------------

FeatureState* ProfileEntry::feature(std::uint32_t feature_id) {
  auto it = std::lower_bound(features.begin(), features.end(), feature_id,
                             [](const auto& f, std::uint32_t i) { return f.first < i; });
  return it != features.end() && it->first == feature_id ? &it->second : nullptr;
}

const FeatureState* ProfileEntry::feature(std::uint32_t feature_id) const {
  return const_cast<ProfileEntry*>(this)->feature(feature_id);
}

FeatureState& ProfileEntry::feature_or_add(std::uint32_t feature_id) {
  auto it = std::lower_bound(features.begin(), features.end(), feature_id,
                             [](const auto& f, std::uint32_t i) { return f.first < i; });
  if (it == features.end() || it->first != feature_id) {
    // Profiles hold a few features: skip the 1 -> 2 -> 4 growth steps (each moves every state).
    if (features.capacity() == 0) {
      features.reserve(4);
      it = features.begin();
    }
    it = features.insert(it, {feature_id, FeatureState{}});
  }
  return it->second;
}

const Membership* ProfileEntry::membership(std::uint32_t slot) const {
  auto it = std::lower_bound(member_of.begin(), member_of.end(), slot,
                             [](const Membership& m, std::uint32_t s) { return m.slot < s; });
  return it != member_of.end() && it->slot == slot ? &*it : nullptr;
}

bool ProfileEntry::member(std::uint32_t slot) const { return membership(slot) != nullptr; }

namespace {

std::uint32_t id_hash(const std::string& id) {
  const std::uint64_t h = std::hash<std::string>{}(id);
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

}  // namespace

std::size_t ProfileTable::probe(std::uint32_t hash, const std::string& id) const {
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const std::uint64_t word = index_[i];
    if (word == 0) return i;
    if (static_cast<std::uint32_t>(word >> 32) == hash &&
        entries_[static_cast<std::uint32_t>(word) - 1].id == id) {
      return i;
    }
  }
}

void ProfileTable::grow() {
  std::vector<std::uint64_t> old = std::move(index_);
  index_.assign(old.empty() ? 1024 : old.size() * 2, 0);
  const std::size_t mask = index_.size() - 1;
  for (std::uint64_t word : old) {
    if (word == 0) continue;
    std::size_t i = static_cast<std::uint32_t>(word >> 32) & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = word;
  }
}

void ProfileTable::unlink(std::size_t at) {
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = at;
  for (std::size_t j = (at + 1) & mask; index_[j] != 0; j = (j + 1) & mask) {
    const std::size_t home = static_cast<std::uint32_t>(index_[j] >> 32) & mask;
    // The word at j may fill the hole when its home is not cyclically within (hole, j].
    const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (stays) continue;
    index_[hole] = index_[j];
    hole = j;
  }
  index_[hole] = 0;
}

std::uint32_t ProfileTable::find(const std::string& id) const {
  if (index_.empty()) return kNoHandle;
  const std::uint64_t word = index_[probe(id_hash(id), id)];
  return word == 0 ? kNoHandle : static_cast<std::uint32_t>(word) - 1;
}

std::uint32_t ProfileTable::find_or_add(const std::string& id) {
  if ((used_ + 1) * 2 > index_.size()) grow();
  const std::uint32_t hash = id_hash(id);
  const std::size_t at = probe(hash, id);
  if (index_[at] != 0) return static_cast<std::uint32_t>(index_[at]) - 1;
  std::uint32_t handle;
  if (!free_.empty()) {
    handle = free_.back();
    free_.pop_back();
  } else {
    handle = static_cast<std::uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  ProfileEntry& e = entries_[handle];
  e = ProfileEntry{};
  e.id = id;
  e.used = true;
  index_[at] = (static_cast<std::uint64_t>(hash) << 32) | (static_cast<std::uint64_t>(handle) + 1);
  ++used_;
  return handle;
}

void ProfileTable::erase(std::uint32_t handle) {
  ProfileEntry& e = entries_[handle];
  if (!e.used) return;
  unlink(probe(id_hash(e.id), e.id));
  --used_;
  if (e.pinned) {
    std::string id = std::move(e.id);
    e = ProfileEntry{};
    e.id = std::move(id);
    e.pinned = true;
    held_.push_back(handle);
    return;
  }
  e = ProfileEntry{};
  free_.push_back(handle);
}

void ProfileTable::release_held() {
  for (std::uint32_t handle : held_) {
    entries_[handle] = ProfileEntry{};
    free_.push_back(handle);
  }
  held_.clear();
}

const Plan* PlanSet::plan_for(const std::string& type) const {
  auto it = by_type.find(type);
  if (it != by_type.end()) return &it->second;
  return any.segments.empty() ? nullptr : &any;
}

// ---- plans ---------------------------------------------------------------------------------

std::uint32_t SegmentEngine::Impl::intern_feature(const FeatureSpec& spec) {
  auto it = feature_ids.find(spec.key);
  if (it != feature_ids.end()) return it->second;
  Feature f;
  f.spec = spec;
  f.granularity_ms = spec.window_ms ? window_granularity_ms(spec.window_ms,
                                                            options.buckets_per_window)
                                    : 1000;
  f.max_distinct = options.max_distinct_values;
  const auto id = static_cast<std::uint32_t>(features.size());
  features.push_back(std::move(f));
  feature_ids.emplace(spec.key, id);
  return id;
}

PlanSet SegmentEngine::Impl::build_plans(
    const std::vector<std::pair<std::uint32_t, CompiledPtr>>& versions) const {
  PlanSet plans;
  plans.feature_used.assign(features.size(), false);
  std::vector<std::uint32_t> all_slots;
  for (const auto& [slot, cv] : versions) {
    const SegmentDefinition& def = cv->def;
    for (std::uint32_t f : cv->features) {
      Plan& plan = plans.by_type[features[f].spec.event_type];
      plan.features.push_back(f);
      plan.segments.push_back(slot);
      plans.feature_used[f] = true;
    }
    if (def.uses_session || !def.score_models.empty()) plans.any.segments.push_back(slot);
    if (def.uses_session) plans.session_segments.push_back(slot);
    for (const auto& r : cv->recency) {
      if (std::find(plans.recency.begin(), plans.recency.end(), r) == plans.recency.end()) {
        plans.recency.push_back(r);
      }
    }
    if (def.uses_traits) plans.by_type["identify"].segments.push_back(slot);
    if (def.uses_consent) plans.by_type["consent"].segments.push_back(slot);
    plans.session = plans.session || def.uses_session;
    plans.traits = plans.traits || def.uses_traits;
    plans.consent = plans.consent || def.uses_consent;
    all_slots.push_back(slot);
  }
  // Dependents: a segment referencing an affected segment is affected too (transitively).
  auto close = [&](std::vector<std::uint32_t>& affected) {
    bool grew = true;
    while (grew) {
      grew = false;
      for (const auto& [slot, cv] : versions) {
        if (std::find(affected.begin(), affected.end(), slot) != affected.end()) continue;
        for (std::uint32_t ref : cv->segment_refs) {
          if (std::find(affected.begin(), affected.end(), ref) != affected.end()) {
            affected.push_back(slot);
            grew = true;
            break;
          }
        }
      }
    }
  };
  auto by_rank = [&](std::uint32_t a, std::uint32_t b) {
    return segments[a]->rank != segments[b]->rank ? segments[a]->rank < segments[b]->rank : a < b;
  };
  auto finish = [&](Plan& plan, bool with_any) {
    if (with_any) {
      plan.segments.insert(plan.segments.end(), plans.any.segments.begin(),
                           plans.any.segments.end());
    }
    close(plan.segments);
    std::sort(plan.segments.begin(), plan.segments.end(), by_rank);
    plan.segments.erase(std::unique(plan.segments.begin(), plan.segments.end()),
                        plan.segments.end());
    std::sort(plan.features.begin(), plan.features.end());
    plan.features.erase(std::unique(plan.features.begin(), plan.features.end()),
                        plan.features.end());
  };
  for (auto& [type, plan] : plans.by_type) finish(plan, true);
  finish(plans.any, false);
  // Segments referring to an affected one are affected too (a window expiry of s1 can change
  // a segment defined as membership of s1).
  plans.feature_segments.assign(features.size(), {});
  for (const auto& [slot, cv] : versions) {
    for (std::uint32_t f : cv->features) plans.feature_segments[f].push_back(slot);
  }
  for (auto& users : plans.feature_segments) {
    if (!users.empty()) close(users);
  }
  close(plans.session_segments);
  return plans;
}

void SegmentEngine::Impl::rebuild_live_plans() {
  std::vector<std::pair<std::uint32_t, CompiledPtr>> live_versions;
  live_order.clear();
  for (std::uint32_t slot = 0; slot < segments.size(); ++slot) {
    const Segment& s = *segments[slot];
    if (s.live && s.active && !s.retired) {
      live_versions.emplace_back(slot, s.active);
      live_order.push_back(slot);
    }
  }
  std::sort(live_order.begin(), live_order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return segments[a]->rank != segments[b]->rank ? segments[a]->rank < segments[b]->rank : a < b;
  });
  live_plans = build_plans(live_versions);
  live_rank.assign(segments.size(), kNoHandle);
  for (std::uint32_t i = 0; i < live_order.size(); ++i) live_rank[live_order[i]] = i;
}

// ---- events --------------------------------------------------------------------------------

std::uint32_t SegmentEngine::Impl::apply(ProfileTable& table, const PlanSet& plans,
                                         const profiles::ProfiledEvent& pe, bool late) {
  return apply(table, plans, plans.plan_for(pe.event->type), pe, late);
}

std::uint32_t SegmentEngine::Impl::apply(ProfileTable& table, const PlanSet& plans,
                                         const Plan* plan, const profiles::ProfiledEvent& pe,
                                         bool late) {
  const Event& event = *pe.event;
  if (plan == nullptr || pe.profile_id.empty()) return kNoHandle;
  const std::uint32_t handle = table.find_or_add(pe.profile_id);
  ProfileEntry& p = table.at(handle);
  if (!late) {
    for (std::uint32_t f : plan->features) {
      const Feature& feature = features[f];
      if (feature_matches(feature, event)) feature_add(p.feature_or_add(f), feature, event);
    }
  }
  const bool extras = (plans.traits && event.type == "identify") ||
                      (plans.consent && event.type == "consent") || (plans.session && !late);
  if (extras) {
    if (!p.extras) p.extras = std::make_unique<ProfileExtras>();
    extras_apply(*p.extras, event, options.session_timeout.count(), plans.session && !late);
  }
  // Compared first: a shopper's events mostly come through the same agent (no copy then).
  if (!event.source.agent_id.empty()) {
    if (p.store_id != event.source.store_id) p.store_id = event.source.store_id;
    if (p.agent_id != event.source.agent_id) p.agent_id = event.source.agent_id;
  }
  return handle;
}

namespace {

bool compare_json(const nlohmann::json* value, CompareOp op, const nlohmann::json& operand) {
  Predicate p;
  p.op = op;
  p.operand = operand;
  return predicate_matches(p, value);
}

}  // namespace

bool SegmentEngine::Impl::eval(const Condition& c, const ProfileEntry& p, UnixMillis now) const {
  switch (c.kind) {
    case NodeKind::kAll:
      for (const auto& child : c.children) {
        if (!eval(child, p, now)) return false;
      }
      return true;
    case NodeKind::kAny:
      for (const auto& child : c.children) {
        if (eval(child, p, now)) return true;
      }
      return false;
    case NodeKind::kNot: return !eval(c.children[0], p, now);
    case NodeKind::kFeature: {
      const FeatureState* state = p.feature(c.slot);
      std::optional<double> value;
      if (state) {
        value = feature_value(*state, features[c.slot], now);
      } else if (c.feature.aggregate == Aggregate::kCount ||
                 c.feature.aggregate == Aggregate::kSum ||
                 c.feature.aggregate == Aggregate::kDistinct) {
        value = 0.0;
      }
      return value && compare_number(*value, c.op, c.number);
    }
    case NodeKind::kRecency: {
      const FeatureState* state = p.feature(c.slot);
      if (state == nullptr || state->last_at == kNever) return c.if_never;
      return compare_number(static_cast<double>(now - state->last_at), c.op, c.number);
    }
    case NodeKind::kSession: {
      const bool active = p.extras && session_active(p.extras->session,
                                                     options.session_timeout.count(), now);
      const SessionState* s = active ? &p.extras->session : nullptr;
      double number = 0;
      const std::string* text = nullptr;
      switch (c.session_metric) {
        case SessionMetric::kLengthSeconds:
          number = s ? static_cast<double>(s->last_at - s->started_at) / 1000.0 : 0.0;
          break;
        case SessionMetric::kEvents: number = s ? s->events : 0; break;
        case SessionMetric::kCartItems: number = s ? s->cart_items : 0; break;
        case SessionMetric::kStore: text = s && !s->store_id.empty() ? &s->store_id : nullptr; break;
        case SessionMetric::kZone: text = s && !s->zone_id.empty() ? &s->zone_id : nullptr; break;
      }
      const bool textual = c.session_metric == SessionMetric::kStore ||
                           c.session_metric == SessionMetric::kZone;
      // Evaluated on every event of the profile: no JSON is built on the common paths.
      if (c.op == CompareOp::kExists) return !textual || text != nullptr;
      if (!textual && c.operand.is_number()) return compare_number(number, c.op, c.number);
      if (textual && c.operand.is_string() &&
          (c.op == CompareOp::kEq || c.op == CompareOp::kNe)) {
        const bool equal = text != nullptr && *text == c.operand.get_ref<const std::string&>();
        return c.op == CompareOp::kEq ? equal : !equal;
      }
      nlohmann::json value;
      if (textual) {
        if (text) value = *text;
      } else {
        value = number;
      }
      return compare_json(value.is_null() ? nullptr : &value, c.op, c.operand);
    }
    case NodeKind::kTrait: {
      if (!p.extras) return predicate_matches(c.trait, nullptr);
      auto it = p.extras->traits.find(c.name);
      return predicate_matches(c.trait,
                               it == p.extras->traits.end() ? nullptr : &it->second.first);
    }
    case NodeKind::kConsent: {
      const ConsentState state =
          p.extras ? p.extras->consent[static_cast<std::size_t>(c.purpose)].first
                   : ConsentState::kUnknown;
      return c.consent_state == consent_state_name(state);
    }
    case NodeKind::kSegment: return p.member(c.slot);
    case NodeKind::kScore: {
      if (!deps.scores) return false;
      auto score = deps.scores->score(c.name, p.id);
      return score && compare_number(*score, c.op, c.number);
    }
  }
  return false;
}

void SegmentEngine::Impl::add_member(std::uint32_t slot, std::uint32_t handle,
                                     std::uint32_t version, UnixMillis entered_at) {
  Segment& seg = *segments[slot];
  auto& member_of = live.at(handle).member_of;
  auto pos = std::lower_bound(member_of.begin(), member_of.end(), slot,
                              [](const Membership& m, std::uint32_t s) { return m.slot < s; });
  if (pos != member_of.end() && pos->slot == slot) return;
  member_of.insert(pos, Membership{slot, version,
                                   static_cast<std::uint32_t>(seg.member_handles.size()),
                                   entered_at});
  seg.member_handles.push_back(handle);
  sizes_changed = true;
}

void SegmentEngine::Impl::remove_member(std::uint32_t slot, std::uint32_t handle) {
  Segment& seg = *segments[slot];
  auto& member_of = live.at(handle).member_of;
  auto pos = std::lower_bound(member_of.begin(), member_of.end(), slot,
                              [](const Membership& m, std::uint32_t s) { return m.slot < s; });
  if (pos == member_of.end() || pos->slot != slot) return;
  const std::uint32_t hole = pos->position;
  const std::uint32_t last = seg.member_handles.back();
  if (last != handle) {
    seg.member_handles[hole] = last;
    auto& moved = live.at(last).member_of;
    auto m = std::lower_bound(moved.begin(), moved.end(), slot,
                              [](const Membership& x, std::uint32_t s) { return x.slot < s; });
    m->position = hole;
  }
  seg.member_handles.pop_back();
  member_of.erase(pos);
  sizes_changed = true;
}

void SegmentEngine::Impl::set_membership(std::uint32_t slot, std::uint32_t handle, bool in,
                                         UnixMillis now, const char* reason,
                                         const std::string& trigger_event_id) {
  ProfileEntry& p = live.at(handle);
  if (in == p.member(slot)) return;
  Segment& seg = *segments[slot];
  const std::uint32_t version = seg.active ? seg.active->version : 0;
  if (in) {
    add_member(slot, handle, version, now);
    ++n_entered;
  } else {
    remove_member(slot, handle);
    ++n_exited;
  }
  // The profile's handle stays pinned (not reused) until the flush has read its id.
  pending_writes.push_back(PendingWrite{slot, handle, version, in, now});
  live.at(handle).pinned = true;
  if (sinks.empty()) return;
  SegmentChange change;
  change.change_id = change_ids.next(now);
  change.kind = in ? SegmentChangeKind::kEntered : SegmentChangeKind::kExited;
  change.profile_id = p.id;
  change.segment_id = seg.id;
  change.version = version;
  change.at = now;
  change.trigger_event_id = trigger_event_id;
  change.reason = reason;
  change.store_id = p.store_id;
  change.agent_id = p.agent_id;
  emit(change);
}

void SegmentEngine::Impl::evaluate(std::uint32_t slot, std::uint32_t handle, UnixMillis now,
                                   const char* reason, const std::string& trigger_event_id) {
  const Segment& seg = *segments[slot];
  if (!seg.live || !seg.active || seg.retired) return;
  ++n_evaluations;
  const bool in = eval(seg.active->def.condition, live.at(handle), now);
  set_membership(slot, handle, in, now, reason, trigger_event_id);
}

void SegmentEngine::Impl::reschedule(std::uint32_t handle, UnixMillis now) {
  ProfileEntry& p = live.at(handle);
  const bool job_running = running_job != nullptr || !queued_jobs.empty();
  UnixMillis next = kNoDeadline;
  std::erase_if(p.features, [&](auto& entry) {
    const auto id = entry.first;
    const bool used = id < live_plans.feature_used.size() && live_plans.feature_used[id];
    // Features no serving version uses are dropped (kept while a backfill may switch to them).
    if (!used && !job_running) return true;
    if (feature_prune(entry.second, features[id], now)) return true;
    next = std::min(next, feature_next_expiry(entry.second, features[id], now));
    return false;
  });
  for (const auto& [fid, duration] : live_plans.recency) {
    const FeatureState* state = p.feature(fid);
    if (state == nullptr || state->last_at == kNever) continue;
    for (UnixMillis at : {state->last_at + duration, state->last_at + duration + 1}) {
      if (at > now) next = std::min(next, at);
    }
  }
  if (p.extras && live_plans.session &&
      session_active(p.extras->session, options.session_timeout.count(), now)) {
    next = std::min(next, p.extras->session.last_at + options.session_timeout.count());
  }
  const bool extras_worth_keeping =
      p.extras && (!p.extras->traits.empty() ||
                   std::any_of(p.extras->consent.begin(), p.extras->consent.end(),
                               [](const auto& c) { return c.second != 0; }) ||
                   session_active(p.extras->session, options.session_timeout.count(), now));
  if (p.features.empty() && p.member_of.empty() && !extras_worth_keeping) {
    live.erase(handle);  // nothing left to remember: bounded memory for one-off visitors
    return;
  }
  if (next < p.scheduled_at) {
    p.scheduled_at = next;
    timers.push(TimerEntry{next, handle});
    // An earlier deadline leaves the profile's later entry behind (skipped when it falls due,
    // which for a 30-day window is a month away): rebuild the heap from the live deadlines
    // once superseded entries outnumber them, so it stays O(profiles), not O(events).
    if (timers.size() > 2 * live.size() + 4096) compact_timers();
  }
}

void SegmentEngine::Impl::compact_timers() {
  std::vector<TimerEntry> entries;
  entries.reserve(live.size());
  live.for_each([&](std::uint32_t h, ProfileEntry& p) {
    if (p.scheduled_at != kNoDeadline) entries.push_back(TimerEntry{p.scheduled_at, h});
  });
  timers = decltype(timers)(std::greater<>{}, std::move(entries));
}

std::size_t SegmentEngine::Impl::fire_timers(UnixMillis now) {
  std::size_t fired = 0;
  while (!timers.empty() && timers.top().due <= now) {
    const TimerEntry t = timers.top();
    timers.pop();
    if (t.handle >= live.slots()) continue;
    ProfileEntry& p = live.at(t.handle);
    if (!p.used || p.scheduled_at != t.due) continue;  // superseded or forgotten
    p.scheduled_at = kNoDeadline;
    ++fired;
    ++n_expiries;
    // Only segments the profile holds window or session state for can have moved: they are
    // gathered from the profile's features, then evaluated in rank order.
    std::vector<std::uint32_t>& affected = scratch_slots;
    affected.clear();
    for (const auto& [fid, state] : p.features) {
      if (fid >= live_plans.feature_segments.size()) continue;
      const auto& users = live_plans.feature_segments[fid];
      affected.insert(affected.end(), users.begin(), users.end());
    }
    if (p.extras) {
      affected.insert(affected.end(), live_plans.session_segments.begin(),
                      live_plans.session_segments.end());
    }
    std::sort(affected.begin(), affected.end(), [&](std::uint32_t a, std::uint32_t b) {
      return live_rank[a] < live_rank[b];
    });
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    for (std::uint32_t slot : affected) evaluate(slot, t.handle, now, "window_expired", "");
    reschedule(t.handle, now);
  }
  return fired;
}

void SegmentEngine::Impl::process_events(const std::vector<profiles::ProfiledEvent>& batch,
                                         UnixMillis now) {
  // Expiries due by now are decided first, so an event never prunes state a timer still needs.
  fire_timers(now);
  const UnixMillis late_before = now - options.allowed_lateness.count();
  std::uint64_t applied = 0;
  std::uint64_t ignored = 0;
  std::uint64_t late_count = 0;
  for (const auto& pe : batch) {
    if (pe.event == nullptr) continue;
    const bool late = pe.event->occurred_at < late_before;
    if (late) ++late_count;
    if (deps.scores && !pe.profile_id.empty()) deps.scores->observe(pe);
    if (running_job && running_job->seen.insert(pe.event->event_id).second) {
      apply(running_job->shadow, running_job->plans, pe, late);
    }
    const Plan* plan = live_plans.plan_for(pe.event->type);
    const std::uint32_t handle = apply(live, live_plans, plan, pe, late);
    if (handle == kNoHandle) {
      ++ignored;
      continue;
    }
    ++applied;
    for (std::uint32_t slot : plan->segments) {
      evaluate(slot, handle, now, "event", pe.event->event_id);
    }
    reschedule(handle, now);
  }
  if (applied) events->inc(static_cast<double>(applied));
  if (ignored) events_ignored->inc(static_cast<double>(ignored));
  if (late_count) late_events->inc(static_cast<double>(late_count));
  publish_metrics();
}

void SegmentEngine::Impl::publish_metrics() {
  if (n_evaluations) evaluations->inc(static_cast<double>(n_evaluations));
  if (n_entered) entered->inc(static_cast<double>(n_entered));
  if (n_exited) exited->inc(static_cast<double>(n_exited));
  if (n_expiries) expiries->inc(static_cast<double>(n_expiries));
  n_evaluations = n_entered = n_exited = n_expiries = 0;
  if (!sizes_changed) return;
  sizes_changed = false;
  for (const auto& seg : segments) {
    if (seg->size_gauge) seg->size_gauge->set(static_cast<double>(seg->member_handles.size()));
  }
}

void SegmentEngine::Impl::resolve_pending(std::vector<MemberWrite>& out) {
  out.reserve(out.size() + pending_writes.size());
  for (const PendingWrite& w : pending_writes) {
    out.push_back(MemberWrite{w.entered, StoredMember{segments[w.slot]->id, live.at(w.handle).id,
                                                      w.version, w.entered ? w.at : 0}});
  }
  for (const PendingWrite& w : pending_writes) live.at(w.handle).pinned = false;
  pending_writes.clear();
  live.release_held();
}

void SegmentEngine::Impl::merge_entries(ProfileTable& table, const profiles::MergeRecord& merge,
                                        bool live_table, UnixMillis now) {
  const std::uint32_t from = table.find(merge.from);
  if (from == kNoHandle) return;
  const std::uint32_t into = table.find_or_add(merge.into);
  // find_or_add may grow the table: take references only now.
  ProfileEntry& src = table.at(from);
  ProfileEntry& dst = table.at(into);
  for (auto& [id, state] : src.features) feature_merge(dst.feature_or_add(id), state, features[id]);
  if (src.extras) {
    if (!dst.extras) {
      dst.extras = std::move(src.extras);
    } else {
      extras_merge(*dst.extras, *src.extras);
    }
  }
  if (dst.agent_id.empty()) {
    dst.store_id = src.store_id;
    dst.agent_id = src.agent_id;
  }
  if (!live_table) {
    table.erase(from);
    return;
  }
  // The merged-away profile leaves its segments; the survivor is decided again.
  const std::vector<Membership> was_member_of = src.member_of;
  for (const Membership& m : was_member_of) set_membership(m.slot, from, false, now, "merge", "");
  table.erase(from);
  for (std::uint32_t slot : live_order) evaluate(slot, into, now, "merge", "");
  reschedule(into, now);
}

}  // namespace aisle::collector::segments
