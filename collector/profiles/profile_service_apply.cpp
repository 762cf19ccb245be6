// ProfileService::apply: identity resolution and profile updates for committed events.
#include <algorithm>
#include <chrono>
#include <map>

#include "collector/profiles/profile_service.hpp"
#include "collector/profiles/profile_service_impl.hpp"

namespace aisle::collector::profiles {
namespace {

using nlohmann::json;

// A profile's state while one apply() runs.
struct Pending {
  ProfileState state;
  PurposeMask changed = 0;  // purposes whose consent changed
  bool grown = false;       // gained identifiers (new ones or a merged profile's)
};

json purposes_json(const ProfileState& state, PurposeMask mask) {
  json out = json::object();
  for (std::size_t p = 0; p < kPurposeNames.size(); ++p) {
    if (mask & (1u << p)) out[kPurposeNames[p]] = consent_state_name(state.consent[p].state);
  }
  return out;
}

}  // namespace

Result<ApplyResult> ProfileService::apply(const std::vector<const Event*>& events) {
  Impl& d = *impl_;
  std::lock_guard write_lock(d.write_mutex);
  const auto started = std::chrono::steady_clock::now();
  const UnixMillis now = d.clock->now_unix_ms();
  ApplyResult result;
  result.profile_ids.assign(events.size(), std::string());
  result.discarded_erased.assign(events.size(), false);
  std::vector<std::uint32_t> anchors(events.size(), kNoNode);
  GraphChanges changes;
  {
    std::unique_lock lock(d.graph_mutex);
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (events[i] == nullptr) continue;
      if (d.erased_locked(*events[i])) {
        result.discarded_erased[i] = true;
        continue;
      }
      anchors[i] = d.graph->resolve(events[i]->identities, events[i]->occurred_at, changes);
    }
  }
  const std::uint64_t version_before = d.consent_version.load();
  IdentityGraph& g = *d.graph;  // only this writer mutates it; reads need no lock here

  std::map<std::uint32_t, Pending> pending;
  auto pending_of = [&d, &pending](std::uint32_t slot) -> Result<Pending*> {
    auto it = pending.find(slot);
    if (it != pending.end()) return &it->second;
    auto state = d.load_state(slot);
    if (!state) return state.error();
    Pending& p = pending[slot];
    p.state = std::move(*state);
    return &p;
  };

  auto run = [&]() -> Status {
    if (auto status = d.writer.exec("BEGIN IMMEDIATE"); !status) return status;
    if (auto status = d.persist(changes, now, "apply"); !status) return status;
    for (std::uint32_t slot : changes.new_profiles) {
      if (auto status = d.add_history(slot, now, "created", json::object()); !status) return status;
    }
    for (const GraphMerge& m : changes.merges) {
      auto survivor = pending_of(m.survivor);
      if (!survivor) return survivor.error();
      auto merged = pending_of(m.merged);
      if (!merged) return merged.error();
      (*survivor)->changed |=
          merge_state((*survivor)->state, (*merged)->state, d.options.last_events);
      (*survivor)->changed |= (*merged)->changed;
      (*survivor)->grown = true;
      pending.erase(m.merged);
      auto mark = d.writer.cached(
          "UPDATE profiles SET merged_into = ?2, state = '', consent = 0 WHERE slot = ?1");
      auto move_events = d.writer.cached("UPDATE profile_events SET slot = ?2 WHERE slot = ?1");
      auto move_history = d.writer.cached("UPDATE OR IGNORE history SET slot = ?2 WHERE slot = ?1");
      auto drop_history = d.writer.cached("DELETE FROM history WHERE slot = ?1");
      for (auto* stmt : {&mark, &move_events, &move_history}) {
        if (!*stmt) return (*stmt).error();
        (**stmt)->bind_int64(1, m.merged);
        (**stmt)->bind_int64(2, m.survivor);
        if (auto status = (**stmt)->run(); !status) return status;
      }
      if (!drop_history) return drop_history.error();
      (*drop_history)->bind_int64(1, m.merged);
      if (auto status = (*drop_history)->run(); !status) return status;
      MergeRecord record{g.profile_id(m.survivor), g.profile_id(m.merged),
                         std::string(g.key(m.reason_node)), now};
      if (auto status = d.add_history(m.survivor, now, "merged",
                                      {{"from", record.from},
                                       {"into", record.into},
                                       {"reason_identity", record.reason_identity}});
          !status) {
        return status;
      }
      result.merges.push_back(std::move(record));
    }
    for (const GraphRefusal& r : changes.refusals) {
      const std::uint32_t slot = g.live_profile(r.profile);
      if (slot != kNoProfile) {
        if (auto status = d.add_history(slot, now, "link_refused",
                                        {{"identity", std::string(g.key(r.node))},
                                         {"reason", refusal_reason_name(r.reason)},
                                         {"text", r.text}},
                                        r.text);
            !status) {
          return status;
        }
      }
      result.refused_links.push_back(r.text);
    }

    auto insert_event =
        d.writer.cached("INSERT INTO profile_events (slot, event_id) VALUES (?1, ?2)");
    if (!insert_event) return insert_event.error();
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (anchors[i] == kNoNode) continue;
      const Event& e = *events[i];
      const std::uint32_t slot = g.profile_of(anchors[i]);
      result.profile_ids[i] = g.profile_id(slot);
      auto p = pending_of(slot);
      if (!p) return p.error();
      const PurposeMask mask = apply_event((*p)->state, e, d.options.last_events);
      (*p)->changed |= mask;
      if (mask != 0) {
        if (auto status = d.add_history(slot, now, "consent",
                                        {{"event_id", e.event_id},
                                         {"purposes", purposes_json((*p)->state, mask)},
                                         {"occurred_at", e.occurred_at}});
            !status) {
          return status;
        }
      }
      (*insert_event)->bind_int64(1, slot);
      (*insert_event)->bind_text(2, e.event_id);
      if (auto status = (*insert_event)->run(); !status) return status;
    }
    std::vector<std::uint32_t> grown = changes.grown_profiles;
    grown.insert(grown.end(), changes.new_profiles.begin(), changes.new_profiles.end());
    for (std::uint32_t slot : grown) {
      const std::uint32_t live = g.live_profile(slot);
      if (live == kNoProfile) continue;
      auto p = pending_of(live);
      if (!p) return p.error();
      (*p)->grown = true;
    }
    for (auto& [slot, p] : pending) {
      if (!g.is_live(slot)) continue;
      const ConsentFlags flags = consent_flags(p.state);
      if (p.changed != 0 || (p.grown && !all_unknown(flags))) {
        auto change = d.record_consent(slot, p.state, p.changed);
        if (!change) return change.error();
        result.consent_changes.push_back(std::move(*change));
      }
      if (auto status = d.store_state(slot, p.state); !status) return status;
    }
    if (d.consent_version.load() != version_before) {
      if (auto status = d.store_consent_version(); !status) return status;
    }
    return d.writer.exec("COMMIT");
  };

  if (Status status = run(); !status) {
    d.writer.rollback_quietly();
    d.consent_version.store(version_before);
    d.reload_after_failure(status.error(), "apply");
    return status.error();
  }
  {
    std::unique_lock lock(d.graph_mutex);
    for (const auto& [slot, p] : pending) {
      if (g.is_live(slot)) g.set_consent(slot, consent_flags(p.state));
    }
  }
  std::size_t attributed = 0;
  std::size_t discarded = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!result.profile_ids[i].empty()) ++attributed;
    if (result.discarded_erased[i]) ++discarded;
  }
  d.events_attributed.inc(static_cast<double>(attributed));
  d.events_discarded_erased.inc(static_cast<double>(discarded));
  d.events_unattributed.inc(static_cast<double>(events.size() - attributed - discarded));
  d.merges.inc(static_cast<double>(result.merges.size()));
  for (const GraphRefusal& r : changes.refusals) {
    if (r.reason == RefusalReason::kLimit) d.refused_limit.inc();
    if (r.reason == RefusalReason::kSeparated) d.refused_separated.inc();
  }
  d.marked_shared.inc(static_cast<double>(changes.marked_shared.size()));
  d.update_gauges();
  d.apply_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return result;
}

}  // namespace aisle::collector::profiles
