// ProfileService: unmerge, consent decisions by API, erasure.
#include <algorithm>
#include <set>
#include <unordered_set>

#include "collector/profiles/profile_service.hpp"
#include "collector/profiles/profile_service_impl.hpp"

namespace aisle::collector::profiles {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.profiles");

Error no_profile(const std::string& profile_id) {
  return make_error(ErrorCode::kNotFound, "no profile " + profile_id.substr(0, 64));
}

Result<std::vector<std::string>> stored_event_ids(SqliteDb& db, std::uint32_t slot) {
  auto stmt = db.cached("SELECT event_id FROM profile_events WHERE slot = ?1 ORDER BY row");
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  (*stmt)->bind_int64(1, slot);
  std::vector<std::string> ids;
  for (;;) {
    auto row = (*stmt)->step();
    if (!row) return row.error();
    if (!*row) return ids;
    ids.emplace_back((*stmt)->column_text(0));
  }
}

Status run_with_slot(SqliteDb& db, const char* sql, std::int64_t slot) {
  auto stmt = db.cached(sql);
  if (!stmt) return stmt.error();
  (*stmt)->bind_int64(1, slot);
  return (*stmt)->run();
}

}  // namespace

Result<UnmergeResult> ProfileService::unmerge(const std::string& profile_id,
                                              const std::vector<std::string>& identities,
                                              const std::string& actor, const EventLoader& load) {
  Impl& d = *impl_;
  std::lock_guard write_lock(d.write_mutex);
  IdentityGraph& g = *d.graph;
  const std::uint32_t slot = g.live_profile(g.slot_of(profile_id));
  if (slot == kNoProfile) return no_profile(profile_id);
  if (identities.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "identifiers: at least one is required");
  }
  std::vector<std::uint32_t> nodes;
  std::set<std::string> moved_keys;
  for (std::size_t i = 0; i < identities.size(); ++i) {
    std::string_view type;
    std::string_view value;
    const std::string where = "identifiers[" + std::to_string(i) + "]";
    if (!split_identity(identities[i], type, value)) {
      return make_error(ErrorCode::kInvalidArgument,
                        where + ": '" + identities[i].substr(0, 64) + "' is not \"type:value\"");
    }
    const std::uint32_t node = g.node(identities[i]);
    if (node == kNoNode || g.profile_of(node) != slot) {
      return make_error(ErrorCode::kInvalidArgument, where + ": " + identities[i].substr(0, 64) +
                                                         " is not an identifier of profile " +
                                                         g.profile_id(slot));
    }
    if (moved_keys.insert(identities[i]).second) nodes.push_back(node);
  }
  const std::vector<std::uint32_t> members = g.members(slot);
  if (nodes.size() >= members.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "identifiers: cannot split off every identifier of the profile (" +
                          std::to_string(members.size()) + ")");
  }
  auto ids = stored_event_ids(d.writer, slot);
  if (!ids) return ids.error();
  if (ids->size() > d.options.max_unmerge_events) {
    return make_error(ErrorCode::kResourceExhausted,
                      "profile has " + std::to_string(ids->size()) +
                          " events, more than max_unmerge_events (" +
                          std::to_string(d.options.max_unmerge_events) + ")");
  }
  auto loaded = load(*ids);
  if (!loaded) return loaded.error();
  auto old_state = d.load_state(slot);
  if (!old_state) return old_state.error();

  const UnixMillis now = d.clock->now_unix_ms();
  const std::uint64_t version_before = d.consent_version.load();
  GraphChanges changes;
  std::uint32_t created = kNoProfile;
  {
    std::unique_lock lock(d.graph_mutex);
    created = g.split(slot, nodes, changes);
  }
  UnmergeResult result;
  result.profile_id = g.profile_id(slot);
  result.new_profile_id = g.profile_id(created);
  result.moved.assign(moved_keys.begin(), moved_keys.end());
  std::unordered_set<std::string> rest_keys;
  for (std::uint32_t node : g.members(slot)) rest_keys.emplace(g.key(node));

  ProfileState kept;
  ProfileState split_off;
  auto run = [&]() -> Status {
    if (auto status = d.writer.exec("BEGIN IMMEDIATE"); !status) return status;
    if (auto status = d.persist(changes, now, actor); !status) return status;
    auto move_event =
        d.writer.cached("UPDATE profile_events SET slot = ?2 WHERE slot = ?1 AND event_id = ?3");
    if (!move_event) return move_event.error();
    std::string key;
    for (const Event& e : *loaded) {
      bool in_moved = false;
      bool in_rest = false;
      for (const auto& [type, value] : e.identities) {
        key.assign(type).append(":").append(value);
        in_moved = in_moved || moved_keys.count(key) > 0;
        in_rest = in_rest || rest_keys.count(key) > 0;
      }
      // An event carrying identifiers of both sides (the link being undone) stays with the
      // profile that kept the rest.
      if (in_moved && !in_rest) {
        apply_event(split_off, e, d.options.last_events);
        (*move_event)->bind_int64(1, slot);
        (*move_event)->bind_int64(2, created);
        (*move_event)->bind_text(3, e.event_id);
        if (auto status = (*move_event)->run(); !status) return status;
        ++result.events_moved;
      } else {
        apply_event(kept, e, d.options.last_events);
      }
      ++result.events_recomputed;
    }
    // Decisions taken through the API are not in any event: the profile that keeps its id keeps
    // them where they are newer than what its events say.
    for (std::size_t p = 0; p < kept.consent.size(); ++p) {
      const PurposeConsent& old = old_state->consent[p];
      if (old.source == "api" && (kept.consent[p].state == ConsentState::kUnknown ||
                                  old.decided_at >= kept.consent[p].decided_at)) {
        kept.consent[p] = old;
      }
    }
    for (auto [profile, state] : {std::pair{slot, &kept}, std::pair{created, &split_off}}) {
      auto change = d.record_consent(profile, *state, 0xff);
      if (!change) return change.error();
      result.consent_changes.push_back(std::move(*change));
      if (auto status = d.store_state(profile, *state); !status) return status;
    }
    if (auto status = d.add_history(slot, now, "unmerged",
                                    {{"identifiers", result.moved},
                                     {"new_profile", result.new_profile_id},
                                     {"actor", actor},
                                     {"events_moved", result.events_moved}});
        !status) {
      return status;
    }
    if (auto status = d.add_history(
            created, now, "split_from",
            {{"profile", result.profile_id}, {"identifiers", result.moved}, {"actor", actor}});
        !status) {
      return status;
    }
    if (auto status = d.store_consent_version(); !status) return status;
    return d.writer.exec("COMMIT");
  };
  if (Status status = run(); !status) {
    d.writer.rollback_quietly();
    d.consent_version.store(version_before);
    d.reload_after_failure(status.error(), "unmerge");
    return status.error();
  }
  {
    std::unique_lock lock(d.graph_mutex);
    g.set_consent(slot, consent_flags(kept));
    g.set_consent(created, consent_flags(split_off));
  }
  d.unmerges.inc();
  d.update_gauges();
  kLog.info("profile unmerged", {{"profile_id", result.profile_id},
                                 {"new_profile_id", result.new_profile_id},
                                 {"identifiers", result.moved.size()},
                                 {"actor", actor}});
  return result;
}

Result<ConsentChange> ProfileService::set_consent(const std::string& profile_id,
                                                  const ConsentFlags& purposes, std::string source,
                                                  UnixMillis decided_at, const std::string& actor) {
  Impl& d = *impl_;
  std::lock_guard write_lock(d.write_mutex);
  IdentityGraph& g = *d.graph;
  const std::uint32_t slot = g.live_profile(g.slot_of(profile_id));
  if (slot == kNoProfile) return no_profile(profile_id);
  if (all_unknown(purposes)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "purposes: at least one of analytics, personalization, marketing must be "
                      "granted or denied");
  }
  const UnixMillis now = d.clock->now_unix_ms();
  const std::uint64_t version_before = d.consent_version.load();
  ConsentChange change;
  ProfileState state;
  auto run = [&]() -> Status {
    if (auto status = d.writer.exec("BEGIN IMMEDIATE"); !status) return status;
    auto loaded = d.load_state(slot);
    if (!loaded) return loaded.error();
    state = std::move(*loaded);
    const PurposeMask mask = apply_consent(state, purposes, decided_at, source);
    if (mask == 0) {
      change.profile_id = g.profile_id(slot);
      change.flags = consent_flags(state);
      change.decided_at = latest_decision(state);
      for (const auto& c : state.consent) change.version = std::max(change.version, c.version);
      change.identities = d.identities_of(slot);
      change.changed = false;
      return d.writer.exec("ROLLBACK");
    }
    auto recorded = d.record_consent(slot, state, mask);
    if (!recorded) return recorded.error();
    change = std::move(*recorded);
    json changed = json::object();
    for (std::size_t p = 0; p < kPurposeNames.size(); ++p) {
      if (mask & (1u << p)) changed[kPurposeNames[p]] = consent_state_name(state.consent[p].state);
    }
    if (auto status = d.add_history(slot, now, "consent",
                                    {{"purposes", changed},
                                     {"source", source},
                                     {"actor", actor},
                                     {"decided_at", decided_at},
                                     {"version", change.version}});
        !status) {
      return status;
    }
    if (auto status = d.store_state(slot, state); !status) return status;
    if (auto status = d.store_consent_version(); !status) return status;
    return d.writer.exec("COMMIT");
  };
  if (Status status = run(); !status) {
    d.writer.rollback_quietly();
    d.consent_version.store(version_before);
    return status.error();
  }
  if (change.changed) {
    std::unique_lock lock(d.graph_mutex);
    g.set_consent(slot, change.flags);
  }
  d.update_gauges();
  return change;
}

Result<ErasedProfile> ProfileService::erase(const std::string& profile_id,
                                            const std::string& actor) {
  Impl& d = *impl_;
  std::lock_guard write_lock(d.write_mutex);
  IdentityGraph& g = *d.graph;
  const std::uint32_t slot = g.live_profile(g.slot_of(profile_id));
  if (slot == kNoProfile) return no_profile(profile_id);
  const UnixMillis now = d.clock->now_unix_ms();
  ErasedProfile erased;
  erased.profile_id = g.profile_id(slot);
  erased.identities = d.identities_of(slot);
  const std::vector<std::uint32_t> nodes = g.members(slot);
  std::vector<std::uint32_t> slots = g.merged_into(slot);
  for (std::uint32_t s : slots) erased.merged_profile_ids.push_back(g.profile_id(s));
  slots.push_back(slot);
  auto ids = stored_event_ids(d.writer, slot);
  if (!ids) return ids.error();
  erased.event_ids = std::move(*ids);
  std::vector<std::string> digests;
  for (const std::string& identity : erased.identities) digests.push_back(d.digest(identity));

  auto run = [&]() -> Status {
    if (auto status = d.writer.exec("BEGIN IMMEDIATE"); !status) return status;
    for (std::uint32_t s : slots) {
      for (const char* sql :
           {"DELETE FROM profiles WHERE slot = ?1", "DELETE FROM profile_events WHERE slot = ?1",
            "DELETE FROM history WHERE slot = ?1"}) {
        if (auto status = run_with_slot(d.writer, sql, s); !status) return status;
      }
    }
    for (std::uint32_t node : nodes) {
      for (const char* sql : {"DELETE FROM identities WHERE node = ?1",
                              "DELETE FROM shared_watch WHERE node = ?1 OR user_node = ?1",
                              "DELETE FROM separations WHERE a = ?1 OR b = ?1"}) {
        if (auto status = run_with_slot(d.writer, sql, node); !status) return status;
      }
    }
    auto consent = d.writer.cached("DELETE FROM consent_by_identity WHERE identity = ?1");
    if (!consent) return consent.error();
    for (const std::string& identity : erased.identities) {
      (*consent)->bind_text(1, identity);
      if (auto status = (*consent)->run(); !status) return status;
    }
    auto stone =
        d.writer.cached("INSERT OR IGNORE INTO tombstones (digest, erased_at) VALUES (?1, ?2)");
    if (!stone) return stone.error();
    for (const std::string& digest : digests) {
      (*stone)->bind_text(1, digest);
      (*stone)->bind_int64(2, now);
      if (auto status = (*stone)->run(); !status) return status;
    }
    return d.writer.exec("COMMIT");
  };
  if (Status status = run(); !status) {
    d.writer.rollback_quietly();
    return status.error();
  }
  {
    std::unique_lock lock(d.graph_mutex);
    g.erase_profile(slot);
    d.tombstones.insert(digests.begin(), digests.end());
  }
  d.erasures.inc();
  d.update_gauges();
  kLog.info("profile erased", {{"profile_id", erased.profile_id},
                               {"identifiers", erased.identities.size()},
                               {"events", erased.event_ids.size()},
                               {"actor", actor}});
  return erased;
}

}  // namespace aisle::collector::profiles
