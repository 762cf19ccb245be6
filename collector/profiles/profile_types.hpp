// The data ProfileService hands out: apply results, profile views, unmerge and erasure outcomes.
// Plain structs; JSON for the API is in collector/api/profile_api.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collector/profiles/profile_state.hpp"
#include "common/event.hpp"
#include "common/result.hpp"

namespace aisle::collector::profiles {

// A profile's consent changed (or identifiers joined it, which changes their consent).
struct ConsentChange {
  std::string profile_id;
  ConsentFlags flags;
  UnixMillis decided_at = 0;  // the latest decision over the purposes
  std::uint64_t version = 0;  // global consent version assigned to this change (only grows)
  std::vector<std::string> identities;  // every "type:value" of the profile after the change
  // false only from set_consent() when the decision was older than the one held: nothing
  // changed and `version` is the one that set the held state (nothing to broadcast).
  bool changed = true;
};

struct MergeRecord {
  std::string into;             // the surviving (older) profile
  std::string from;             // the profile merged into it
  std::string reason_identity;  // "type:value" whose link joined them
  UnixMillis at = 0;            // collector clock
};

struct ApplyResult {
  std::vector<std::string> profile_ids;  // parallel to the input: "" when not attributed
  std::vector<bool> discarded_erased;    // parallel: an identifier is erased; discard the event
  std::vector<MergeRecord> merges;
  std::vector<ConsentChange> consent_changes;
  std::vector<std::string> refused_links;  // human-readable, also kept in history
};

struct IdentifierInfo {
  std::string type;
  std::string value;
  UnixMillis first_seen = 0;  // occurred_at of the first / latest event carrying it
  UnixMillis last_seen = 0;
  bool shared = false;
};

struct HistoryEntry {
  std::int64_t id = 0;
  UnixMillis at = 0;  // collector clock
  // "created", "merged" (another profile merged into this one), "unmerged", "split_from",
  // "link_refused", "consent"
  std::string kind;
  nlohmann::json details;
};

struct ProfileView {
  std::string profile_id;
  UnixMillis created_at = 0;
  std::vector<IdentifierInfo> identifiers;
  ProfileState state;                 // traits, consent, counters, last events
  std::vector<HistoryEntry> history;  // newest first, at most history_limit
};

struct UnmergeResult {
  std::string profile_id;          // the profile that kept the other identifiers
  std::string new_profile_id;      // the profile of the identifiers split off
  std::vector<std::string> moved;  // "type:value" split off
  std::size_t events_recomputed = 0;
  std::size_t events_moved = 0;
  std::vector<ConsentChange> consent_changes;  // both profiles
};

struct ErasedProfile {
  std::string profile_id;
  std::vector<std::string> identities;          // "type:value", for the erasure broadcast
  std::vector<std::string> event_ids;           // for the event store's delete
  std::vector<std::string> merged_profile_ids;  // ids that had been merged into it (also gone)
};

// Loads stored events by id (the event store); ids it no longer has are left out.
using EventLoader =
    std::function<Result<std::vector<Event>>(const std::vector<std::string>& event_ids)>;

}  // namespace aisle::collector::profiles
