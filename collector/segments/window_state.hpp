// Window state: what the segment engine keeps per profile so conditions are evaluated without
// reading events back (docs/segments.md, "Window state and memory").
//
// A windowed feature (count/sum/avg/max/min of events of one type matching predicates) is kept
// as time buckets of `granularity_ms` (window / buckets_per_window, at least 1 s). Semantics,
// shared with the brute-force reference of the tests: an event that occurred at t lies in bucket
// b = floor(t / g) and counts at time `now` while now < (b + 1) * g + window, i.e. it stays in
// the window at most one bucket longer than the window itself. Only non-empty buckets are
// stored, so a profile costs 16 bytes per (feature, non-empty bucket), at most
// buckets_per_window + 1 buckets per feature.
//
// Plain data; the engine serializes access.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "collector/segments/segment_definition.hpp"
#include "common/event.hpp"

namespace aisle::collector::segments {

inline constexpr UnixMillis kNever = std::numeric_limits<UnixMillis>::min();
inline constexpr UnixMillis kNoDeadline = std::numeric_limits<UnixMillis>::max();

// A feature as the engine interned it.
struct Feature {
  FeatureSpec spec;
  std::int64_t granularity_ms = 1000;
  std::size_t max_distinct = 64;  // distinct values remembered per profile (oldest evicted)
};

std::int64_t window_granularity_ms(std::int64_t window_ms, std::size_t buckets_per_window);

struct Bucket {
  std::uint32_t index = 0;  // floor(occurred_at / granularity)
  std::uint32_t count = 0;
  double value = 0;         // sum (sum, avg), max, or min of the bucket
};

struct DistinctEntry {
  std::uint64_t hash = 0;   // of the value's JSON text
  std::uint32_t bucket = 0; // the latest bucket it was seen in
};

struct FeatureState {
  std::vector<Bucket> buckets;         // ascending index
  std::vector<DistinctEntry> distinct; // distinct features only
  UnixMillis last_at = kNever;         // latest matching event (all features)
};

// Does the event match the feature's type and predicates? Sets *value to the aggregated
// property (nullptr when the feature needs one and the event lacks it or it is not numeric).
bool feature_matches(const Feature& feature, const Event& event);
// Adds a matching event that occurred at `t`.
void feature_add(FeatureState& state, const Feature& feature, const Event& event);
// The feature's value at `now` (count/sum/distinct: 0 when empty; avg/max/min: nullopt when
// empty; last: the time of the latest event or nullopt).
std::optional<double> feature_value(const FeatureState& state, const Feature& feature,
                                    UnixMillis now);
// Drops buckets that left the window at `now`; true when nothing is left.
bool feature_prune(FeatureState& state, const Feature& feature, UnixMillis now);
// The next time after `now` the value changes without new events (kNoDeadline if never).
UnixMillis feature_next_expiry(const FeatureState& state, const Feature& feature, UnixMillis now);
void feature_merge(FeatureState& into, const FeatureState& from, const Feature& feature);
std::size_t feature_bytes(const FeatureState& state);

// The current session (docs/segments.md, "Session state").
struct SessionState {
  UnixMillis started_at = kNever;  // kNever: no session
  UnixMillis last_at = kNever;
  std::uint32_t events = 0;
  std::int32_t cart_items = 0;
  std::string store_id;  // current store (in-store channels)
  std::string zone_id;   // current zone (beacon_proximity / dwell)
};

struct ProfileExtras {
  std::map<std::string, std::pair<nlohmann::json, UnixMillis>, std::less<>> traits;
  std::array<std::pair<ConsentState, UnixMillis>, 3> consent{};  // analytics, personalization,
                                                                 // marketing
  SessionState session;
};

// Updates traits (identify), consent (consent events) and, when `session_timeout_ms` > 0, the
// session.
void extras_apply(ProfileExtras& extras, const Event& event, std::int64_t session_timeout_ms,
                  bool update_session);
bool session_active(const SessionState& session, std::int64_t timeout_ms, UnixMillis now);
void extras_merge(ProfileExtras& into, const ProfileExtras& from);
std::size_t extras_bytes(const ProfileExtras& extras);

}  // namespace aisle::collector::segments
