#include "collector/segments/window_state.hpp"

#include <algorithm>
#include <functional>

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

// The value a predicate or aggregate reads: a property, or a source field for "$..." paths.
// `scratch` holds a source field turned into JSON.
const json* lookup(const Event& event, const std::vector<std::string>& path, json& scratch) {
  if (path.size() == 1 && !path[0].empty() && path[0][0] == '$') {
    const std::string& p = path[0];
    if (p == "$store_id") scratch = event.source.store_id;
    else if (p == "$channel") scratch = channel_name(event.source.channel);
    else if (p == "$agent_id") scratch = event.source.agent_id;
    else if (p == "$device_id") scratch = event.source.device_id;
    else return nullptr;
    if (scratch.get_ref<const std::string&>().empty()) return nullptr;
    return &scratch;
  }
  return find_property(event.properties, path);
}

std::uint32_t bucket_of(UnixMillis t, std::int64_t g) {
  if (t < 0) return 0;
  return static_cast<std::uint32_t>(t / g);
}

// A bucket counts at `now` while now < (index + 1) * g + window.
bool bucket_live(std::uint32_t index, const Feature& f, UnixMillis now) {
  return (static_cast<std::int64_t>(index) + 1) * f.granularity_ms + f.spec.window_ms > now;
}

std::uint64_t value_hash(const json& value) {
  if (value.is_string()) return std::hash<std::string>{}(value.get_ref<const std::string&>());
  return std::hash<std::string>{}(value.dump());
}

void combine(Bucket& into, std::uint32_t count, double value, Aggregate aggregate) {
  switch (aggregate) {
    case Aggregate::kSum:
    case Aggregate::kAvg: into.value += value; break;
    case Aggregate::kMax: into.value = into.count ? std::max(into.value, value) : value; break;
    case Aggregate::kMin: into.value = into.count ? std::min(into.value, value) : value; break;
    default: break;
  }
  into.count += count;
}

void add_bucket(std::vector<Bucket>& buckets, std::uint32_t index, std::uint32_t count,
                double value, Aggregate aggregate) {
  // Events arrive mostly in time order: the common case appends or hits the last bucket.
  if (buckets.empty() || buckets.back().index < index) {
    Bucket b{index, 0, 0};
    combine(b, count, value, aggregate);
    buckets.push_back(b);
    return;
  }
  auto it = std::lower_bound(buckets.begin(), buckets.end(), index,
                             [](const Bucket& b, std::uint32_t i) { return b.index < i; });
  if (it == buckets.end() || it->index != index) it = buckets.insert(it, Bucket{index, 0, 0});
  combine(*it, count, value, aggregate);
}

void add_distinct(std::vector<DistinctEntry>& entries, std::uint64_t hash, std::uint32_t bucket,
                  std::size_t cap) {
  for (auto& e : entries) {
    if (e.hash == hash) {
      e.bucket = std::max(e.bucket, bucket);
      return;
    }
  }
  if (entries.size() >= cap && cap > 0) {
    auto oldest = std::min_element(entries.begin(), entries.end(),
                                   [](const auto& a, const auto& b) { return a.bucket < b.bucket; });
    if (oldest->bucket > bucket) return;  // older than everything remembered
    *oldest = DistinctEntry{hash, bucket};
    return;
  }
  entries.push_back(DistinctEntry{hash, bucket});
}

}  // namespace

std::int64_t window_granularity_ms(std::int64_t window_ms, std::size_t buckets_per_window) {
  if (buckets_per_window == 0) buckets_per_window = 1;
  std::int64_t g = window_ms / static_cast<std::int64_t>(buckets_per_window);
  g -= g % 1000;
  return std::max<std::int64_t>(g, 1000);
}

bool feature_matches(const Feature& feature, const Event& event) {
  if (event.type != feature.spec.event_type) return false;
  json scratch;
  for (const auto& p : feature.spec.where) {
    if (!predicate_matches(p, lookup(event, p.path, scratch))) return false;
  }
  const Aggregate a = feature.spec.aggregate;
  if (a == Aggregate::kCount || a == Aggregate::kLast) return true;
  const json* v = lookup(event, feature.spec.property, scratch);
  if (v == nullptr || v->is_null()) return false;
  if (a == Aggregate::kDistinct) return v->is_primitive();
  return v->is_number();
}

void feature_add(FeatureState& state, const Feature& feature, const Event& event) {
  const UnixMillis t = event.occurred_at;
  state.last_at = std::max(state.last_at, t);
  const Aggregate a = feature.spec.aggregate;
  if (a == Aggregate::kLast) return;
  const std::uint32_t index = bucket_of(t, feature.granularity_ms);
  if (a == Aggregate::kCount) {
    add_bucket(state.buckets, index, 1, 0, a);
    return;
  }
  json scratch;
  const json* v = lookup(event, feature.spec.property, scratch);
  if (v == nullptr) return;
  if (a == Aggregate::kDistinct) {
    add_distinct(state.distinct, value_hash(*v), index, feature.max_distinct);
    return;
  }
  add_bucket(state.buckets, index, 1, v->get<double>(), a);
}

std::optional<double> feature_value(const FeatureState& state, const Feature& feature,
                                    UnixMillis now) {
  const Aggregate a = feature.spec.aggregate;
  if (a == Aggregate::kLast) {
    if (state.last_at == kNever) return std::nullopt;
    return static_cast<double>(state.last_at);
  }
  if (a == Aggregate::kDistinct) {
    double n = 0;
    for (const auto& e : state.distinct) n += bucket_live(e.bucket, feature, now) ? 1 : 0;
    return n;
  }
  std::uint64_t count = 0;
  double value = 0;
  for (const auto& b : state.buckets) {
    if (!bucket_live(b.index, feature, now)) continue;
    switch (a) {
      case Aggregate::kSum:
      case Aggregate::kAvg: value += b.value; break;
      case Aggregate::kMax: value = count ? std::max(value, b.value) : b.value; break;
      case Aggregate::kMin: value = count ? std::min(value, b.value) : b.value; break;
      default: break;
    }
    count += b.count;
  }
  switch (a) {
    case Aggregate::kCount: return static_cast<double>(count);
    case Aggregate::kSum: return value;
    case Aggregate::kAvg: return count ? std::optional<double>(value / static_cast<double>(count))
                                       : std::nullopt;
    default: return count ? std::optional<double>(value) : std::nullopt;
  }
}

bool feature_prune(FeatureState& state, const Feature& feature, UnixMillis now) {
  if (feature.spec.aggregate == Aggregate::kLast) return state.last_at == kNever;
  auto live = [&](std::uint32_t index) { return bucket_live(index, feature, now); };
  std::size_t drop = 0;
  while (drop < state.buckets.size() && !live(state.buckets[drop].index)) ++drop;
  state.buckets.erase(state.buckets.begin(), state.buckets.begin() + static_cast<long>(drop));
  std::erase_if(state.distinct, [&](const DistinctEntry& e) { return !live(e.bucket); });
  // last_at alone is no reason to keep a windowed feature.
  return state.buckets.empty() && state.distinct.empty();
}

UnixMillis feature_next_expiry(const FeatureState& state, const Feature& feature,
                               UnixMillis now) {
  if (feature.spec.aggregate == Aggregate::kLast) return kNoDeadline;
  UnixMillis next = kNoDeadline;
  auto consider = [&](std::uint32_t index) {
    const UnixMillis at =
        (static_cast<std::int64_t>(index) + 1) * feature.granularity_ms + feature.spec.window_ms;
    if (at > now) next = std::min(next, at);
  };
  // Buckets are sorted: the first live one expires first.
  for (const auto& b : state.buckets) {
    consider(b.index);
    if (next != kNoDeadline) break;
  }
  for (const auto& e : state.distinct) consider(e.bucket);
  return next;
}

void feature_merge(FeatureState& into, const FeatureState& from, const Feature& feature) {
  into.last_at = std::max(into.last_at, from.last_at);
  for (const auto& b : from.buckets) {
    add_bucket(into.buckets, b.index, b.count, b.value, feature.spec.aggregate);
  }
  for (const auto& e : from.distinct) {
    add_distinct(into.distinct, e.hash, e.bucket, feature.max_distinct);
  }
}

std::size_t feature_bytes(const FeatureState& state) {
  return sizeof(FeatureState) + state.buckets.capacity() * sizeof(Bucket) +
         state.distinct.capacity() * sizeof(DistinctEntry);
}

bool session_active(const SessionState& session, std::int64_t timeout_ms, UnixMillis now) {
  return session.started_at != kNever && session.last_at + timeout_ms > now;
}

void extras_apply(ProfileExtras& extras, const Event& event, std::int64_t session_timeout_ms,
                  bool update_session) {
  const json& props = event.properties;
  if (event.type == "identify" && props.is_object()) {
    auto traits = props.find("traits");
    if (traits != props.end() && traits->is_object()) {
      for (const auto& [key, value] : traits->items()) {
        auto it = extras.traits.find(key);
        if (it == extras.traits.end()) {
          extras.traits.emplace(key, std::make_pair(value, event.occurred_at));
        } else if (event.occurred_at >= it->second.second) {
          it->second = {value, event.occurred_at};
        }
      }
    }
  } else if (event.type == "consent" && props.is_object()) {
    auto purposes = props.find("purposes");
    if (purposes != props.end() && purposes->is_object()) {
      static constexpr std::array<const char*, 3> kNames = {"analytics", "personalization",
                                                            "marketing"};
      for (std::size_t p = 0; p < kNames.size(); ++p) {
        auto it = purposes->find(kNames[p]);
        if (it == purposes->end() || !it->is_string()) continue;
        auto state = parse_consent_state(it->get_ref<const std::string&>());
        if (state && event.occurred_at >= extras.consent[p].second) {
          extras.consent[p] = {*state, event.occurred_at};
        }
      }
    }
  }
  if (!update_session) return;
  SessionState& s = extras.session;
  const UnixMillis t = event.occurred_at;
  const bool expired = s.started_at == kNever || t >= s.last_at + session_timeout_ms;
  if (expired || event.type == "session_start") {
    if (t < s.last_at && !expired) return;  // an old session_start does not restart a newer one
    s = SessionState{};
    s.started_at = t;
  }
  s.last_at = std::max(s.last_at, t);
  s.started_at = std::min(s.started_at, t);
  ++s.events;
  if (event.source.channel != Channel::kWeb && event.source.channel != Channel::kMobile &&
      !event.source.store_id.empty()) {
    s.store_id = event.source.store_id;
  }
  auto quantity = [&] {
    auto it = props.is_object() ? props.find("quantity") : props.end();
    return (it != props.end() && it->is_number_integer()) ? it->get<std::int32_t>() : 1;
  };
  auto zone = [&]() -> std::string {
    auto it = props.is_object() ? props.find("zone_id") : props.end();
    return (it != props.end() && it->is_string()) ? it->get<std::string>() : "";
  };
  if (event.type == "cart_add") {
    s.cart_items += quantity();
  } else if (event.type == "cart_remove") {
    s.cart_items = std::max(0, s.cart_items - quantity());
  } else if (event.type == "purchase") {
    s.cart_items = 0;
  } else if (event.type == "beacon_proximity") {
    auto transition = props.is_object() ? props.value("transition", "") : std::string();
    const std::string z = zone();
    if (transition == "exit") {
      if (z == s.zone_id) s.zone_id.clear();
    } else if (!z.empty()) {
      s.zone_id = z;
    }
  } else if (event.type == "dwell") {
    if (auto z = zone(); !z.empty()) s.zone_id = z;
  } else if (event.type == "session_end") {
    s = SessionState{};
  }
}

void extras_merge(ProfileExtras& into, const ProfileExtras& from) {
  for (const auto& [key, value] : from.traits) {
    auto it = into.traits.find(key);
    if (it == into.traits.end() || value.second > it->second.second) into.traits[key] = value;
  }
  for (std::size_t p = 0; p < into.consent.size(); ++p) {
    if (from.consent[p].second > into.consent[p].second) into.consent[p] = from.consent[p];
  }
  // The more recent session is the shopper's current one.
  if (from.session.last_at > into.session.last_at) into.session = from.session;
}

std::size_t extras_bytes(const ProfileExtras& extras) {
  std::size_t n = sizeof(ProfileExtras) + extras.session.store_id.capacity() +
                  extras.session.zone_id.capacity();
  for (const auto& [key, value] : extras.traits) n += 64 + key.size() + value.first.dump().size();
  return n;
}

}  // namespace aisle::collector::segments
