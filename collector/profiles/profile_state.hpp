// ProfileState: what a profile aggregates from its events (counters, traits, consent, last
// events), how one event updates it and how two states combine when profiles merge.
//
// Every update is order-insensitive where it matters, so a merge, a restart or an unmerge's
// recomputation gives the same state whatever order the events were applied in: counters add,
// traits and consent keep the latest by occurred_at per key (ties: the later applied), last
// events are kept sorted by occurred_at.
//
// Stored as JSON text in profiles.state (docs/profiles.md, "Storage"). Plain data; no locking.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/event.hpp"
#include "common/result.hpp"

namespace aisle::collector::profiles {

enum class Purpose : std::uint8_t { kAnalytics = 0, kPersonalization = 1, kMarketing = 2 };
inline constexpr std::array<const char*, 3> kPurposeNames = {"analytics", "personalization",
                                                             "marketing"};

struct PurposeConsent {
  ConsentState state = ConsentState::kUnknown;
  UnixMillis decided_at = 0;  // occurred_at of the consent event, or the API call's time
  std::uint64_t version = 0;  // global consent version of the change that set it
  std::string source;         // "cmp", "kiosk", "pos", "app", "api"
  friend bool operator==(const PurposeConsent&, const PurposeConsent&) = default;
};

struct ProfileCounters {
  std::uint64_t events = 0;
  std::map<std::string, std::uint64_t> by_type;
  std::uint64_t purchases = 0;  // purchase events with transaction_type "sale"
  // Per currency, in millionths: sales add their total, returns and voids subtract theirs.
  std::map<std::string, std::int64_t> spend_micros;
  UnixMillis first_seen = 0;  // earliest occurred_at (0 = no event yet)
  UnixMillis last_seen = 0;
  std::set<std::string> stores;    // store_ids, at most kMaxStores (the rest are not listed)
  std::set<std::string> channels;  // channel names
  friend bool operator==(const ProfileCounters&, const ProfileCounters&) = default;
};

struct TraitValue {
  nlohmann::json value;
  UnixMillis at = 0;  // occurred_at of the identify event that set it
  friend bool operator==(const TraitValue&, const TraitValue&) = default;
};

struct LastEvent {
  std::string event_id;
  std::string type;
  UnixMillis occurred_at = 0;
  friend bool operator==(const LastEvent&, const LastEvent&) = default;
};

struct ProfileState {
  ProfileCounters counters;
  std::map<std::string, TraitValue> traits;
  std::array<PurposeConsent, 3> consent;  // indexed by Purpose
  std::vector<LastEvent> last_events;     // newest first, at most the service's last_events
  friend bool operator==(const ProfileState&, const ProfileState&) = default;

  static constexpr std::size_t kMaxStores = 256;
};

// Bit i set = purpose i changed state (granted/denied/unknown) or decision time.
using PurposeMask = std::uint8_t;

// Adds one event. Consent events update consent per purpose when not older than the current
// decision; the returned mask says which purposes changed (their `version` is left for the caller
// to set).
PurposeMask apply_event(ProfileState& state, const Event& event, std::size_t last_events_limit);

// A consent decision for the purposes not kUnknown in `flags`, taken at `decided_at`; a purpose
// changes only when the decision is not older than the one held (latest wins).
PurposeMask apply_consent(ProfileState& state, const ConsentFlags& flags, UnixMillis decided_at,
                          const std::string& source);

// Combines `from` into `into` (profiles merging). Returns the purposes whose consent changed in
// `into`.
PurposeMask merge_state(ProfileState& into, const ProfileState& from,
                        std::size_t last_events_limit);

ConsentFlags consent_flags(const ProfileState& state);
// The decided_at of the latest decision over all purposes (0 when none).
UnixMillis latest_decision(const ProfileState& state);
ConsentState flag_of(const ConsentFlags& flags, Purpose purpose);

nlohmann::json to_json(const ProfileState& state);
// Parses what to_json wrote. kDataLoss names the first field that does not fit.
Result<ProfileState> profile_state_from_json(std::string_view text);

}  // namespace aisle::collector::profiles
