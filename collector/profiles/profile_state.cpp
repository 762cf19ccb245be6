#include "collector/profiles/profile_state.hpp"

#include <algorithm>
#include <cmath>

namespace aisle::collector::profiles {
namespace {

using nlohmann::json;

constexpr double kMicros = 1e6;

ConsentState* flag_ref(ConsentFlags& flags, std::size_t purpose) {
  switch (purpose) {
    case 0: return &flags.analytics;
    case 1: return &flags.personalization;
    default: return &flags.marketing;
  }
}

// Newest first; among equal times the event id decides, so the order does not depend on the
// order the events were applied in.
bool newer(const LastEvent& a, const LastEvent& b) {
  if (a.occurred_at != b.occurred_at) return a.occurred_at > b.occurred_at;
  return a.event_id > b.event_id;
}

void add_last_event(std::vector<LastEvent>& events, LastEvent event, std::size_t limit) {
  if (limit == 0) return;
  auto at = std::lower_bound(events.begin(), events.end(), event, newer);
  if (at != events.end() && at->event_id == event.event_id) return;
  if (events.size() >= limit && at == events.end()) return;
  events.insert(at, std::move(event));
  if (events.size() > limit) events.resize(limit);
}

void add_seen(ProfileCounters& c, UnixMillis at) {
  if (c.first_seen == 0 || at < c.first_seen) c.first_seen = at;
  if (at > c.last_seen) c.last_seen = at;
}

void add_store(ProfileCounters& c, const std::string& store_id) {
  if (store_id.empty()) return;
  if (c.stores.size() < ProfileState::kMaxStores || c.stores.count(store_id)) {
    c.stores.insert(store_id);
  }
}

void apply_purchase(ProfileCounters& c, const json& properties) {
  if (!properties.is_object()) return;
  auto type = properties.find("transaction_type");
  auto total = properties.find("total");
  auto currency = properties.find("currency");
  const bool sale = type == properties.end() ||
                    (type->is_string() && type->get_ref<const std::string&>() == "sale");
  if (sale) ++c.purchases;
  if (total == properties.end() || !total->is_number() || currency == properties.end() ||
      !currency->is_string()) {
    return;
  }
  const auto micros = static_cast<std::int64_t>(std::llround(total->get<double>() * kMicros));
  c.spend_micros[currency->get<std::string>()] += sale ? micros : -micros;
}

PurposeMask apply_purpose(PurposeConsent& held, ConsentState state, UnixMillis decided_at,
                          const std::string& source, std::size_t purpose) {
  if (state == ConsentState::kUnknown) return 0;
  if (held.state != ConsentState::kUnknown && decided_at < held.decided_at) return 0;
  if (held.state == state && held.decided_at == decided_at) return 0;
  held.state = state;
  held.decided_at = decided_at;
  held.source = source;
  return static_cast<PurposeMask>(1u << purpose);
}

// --- JSON reading without exceptions: every accessor checks the type first.

bool get_int(const json& j, const char* key, std::int64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  out = it->get<std::int64_t>();
  return true;
}

bool get_uint(const json& j, const char* key, std::uint64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    if (it != j.end() && it->is_number_integer() && it->get<std::int64_t>() == 0) {
      out = 0;
      return true;
    }
    return false;
  }
  out = it->get<std::uint64_t>();
  return true;
}

bool get_string(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

Error bad(const std::string& field) {
  return make_error(ErrorCode::kDataLoss, "profile state: field '" + field +
                                              "' is missing or has "
                                              "the wrong type");
}

}  // namespace

ConsentState flag_of(const ConsentFlags& flags, Purpose purpose) {
  switch (purpose) {
    case Purpose::kAnalytics: return flags.analytics;
    case Purpose::kPersonalization: return flags.personalization;
    case Purpose::kMarketing: return flags.marketing;
  }
  return ConsentState::kUnknown;
}

PurposeMask apply_consent(ProfileState& state, const ConsentFlags& flags, UnixMillis decided_at,
                          const std::string& source) {
  PurposeMask changed = 0;
  for (std::size_t p = 0; p < kPurposeNames.size(); ++p) {
    changed |= apply_purpose(state.consent[p], flag_of(flags, static_cast<Purpose>(p)), decided_at,
                             source, p);
  }
  return changed;
}

PurposeMask apply_event(ProfileState& state, const Event& event, std::size_t last_events_limit) {
  ProfileCounters& c = state.counters;
  ++c.events;
  ++c.by_type[event.type];
  add_seen(c, event.occurred_at);
  add_store(c, event.source.store_id);
  c.channels.insert(channel_name(event.source.channel));
  add_last_event(state.last_events, LastEvent{event.event_id, event.type, event.occurred_at},
                 last_events_limit);

  const json& props = event.properties;
  if (!props.is_object()) return 0;
  if (event.type == "purchase") {
    apply_purchase(c, props);
  } else if (event.type == "identify") {
    auto traits = props.find("traits");
    if (traits != props.end() && traits->is_object()) {
      for (const auto& [key, value] : traits->items()) {
        TraitValue& held = state.traits[key];
        if (held.value.is_null() || event.occurred_at >= held.at) {
          held.value = value;
          held.at = event.occurred_at;
        }
      }
    }
  } else if (event.type == "consent") {
    auto purposes = props.find("purposes");
    if (purposes == props.end() || !purposes->is_object()) return 0;
    ConsentFlags flags;
    for (std::size_t p = 0; p < kPurposeNames.size(); ++p) {
      auto it = purposes->find(kPurposeNames[p]);
      if (it == purposes->end() || !it->is_string()) continue;
      if (auto parsed = parse_consent_state(it->get_ref<const std::string&>())) {
        *flag_ref(flags, p) = *parsed;
      }
    }
    std::string source = "event";
    if (auto it = props.find("source"); it != props.end() && it->is_string()) {
      source = it->get<std::string>();
    }
    return apply_consent(state, flags, event.occurred_at, source);
  }
  return 0;
}

PurposeMask merge_state(ProfileState& into, const ProfileState& from,
                        std::size_t last_events_limit) {
  ProfileCounters& c = into.counters;
  const ProfileCounters& f = from.counters;
  c.events += f.events;
  for (const auto& [type, n] : f.by_type) c.by_type[type] += n;
  c.purchases += f.purchases;
  for (const auto& [currency, micros] : f.spend_micros) c.spend_micros[currency] += micros;
  if (f.first_seen != 0) add_seen(c, f.first_seen);
  if (f.last_seen != 0) add_seen(c, f.last_seen);
  for (const auto& store : f.stores) add_store(c, store);
  c.channels.insert(f.channels.begin(), f.channels.end());
  for (const auto& [key, trait] : from.traits) {
    TraitValue& held = into.traits[key];
    if (held.value.is_null() || trait.at > held.at) held = trait;
  }
  for (const auto& e : from.last_events) add_last_event(into.last_events, e, last_events_limit);
  PurposeMask changed = 0;
  for (std::size_t p = 0; p < kPurposeNames.size(); ++p) {
    const PurposeConsent& theirs = from.consent[p];
    PurposeConsent& ours = into.consent[p];
    if (theirs.state == ConsentState::kUnknown) continue;
    if (ours.state == ConsentState::kUnknown || theirs.decided_at > ours.decided_at) {
      if (!(ours == theirs)) changed |= static_cast<PurposeMask>(1u << p);
      ours = theirs;
    }
  }
  return changed;
}

ConsentFlags consent_flags(const ProfileState& state) {
  ConsentFlags flags;
  for (std::size_t p = 0; p < kPurposeNames.size(); ++p)
    *flag_ref(flags, p) = state.consent[p].state;
  return flags;
}

UnixMillis latest_decision(const ProfileState& state) {
  UnixMillis latest = 0;
  for (const auto& c : state.consent) {
    if (c.state != ConsentState::kUnknown) latest = std::max(latest, c.decided_at);
  }
  return latest;
}

json to_json(const ProfileState& state) {
  const ProfileCounters& c = state.counters;
  json counters = {{"events", c.events},         {"by_type", c.by_type},
                   {"purchases", c.purchases},   {"spend_micros", c.spend_micros},
                   {"first_seen", c.first_seen}, {"last_seen", c.last_seen},
                   {"stores", c.stores},         {"channels", c.channels}};
  json traits = json::object();
  for (const auto& [key, t] : state.traits) traits[key] = {{"value", t.value}, {"at", t.at}};
  json consent = json::object();
  for (std::size_t p = 0; p < kPurposeNames.size(); ++p) {
    const PurposeConsent& pc = state.consent[p];
    if (pc.state == ConsentState::kUnknown) continue;
    consent[kPurposeNames[p]] = {{"state", consent_state_name(pc.state)},
                                 {"decided_at", pc.decided_at},
                                 {"version", pc.version},
                                 {"source", pc.source}};
  }
  json last = json::array();
  for (const auto& e : state.last_events) {
    last.push_back({{"id", e.event_id}, {"type", e.type}, {"at", e.occurred_at}});
  }
  return {{"counters", std::move(counters)},
          {"traits", std::move(traits)},
          {"consent", std::move(consent)},
          {"last_events", std::move(last)}};
}

Result<ProfileState> profile_state_from_json(std::string_view text) {
  ProfileState state;
  if (text.empty()) return state;
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kDataLoss, "profile state is not a JSON object");
  }
  auto counters = j.find("counters");
  if (counters == j.end() || !counters->is_object()) return bad("counters");
  ProfileCounters& c = state.counters;
  if (!get_uint(*counters, "events", c.events)) return bad("counters.events");
  if (!get_uint(*counters, "purchases", c.purchases)) return bad("counters.purchases");
  if (!get_int(*counters, "first_seen", c.first_seen)) return bad("counters.first_seen");
  if (!get_int(*counters, "last_seen", c.last_seen)) return bad("counters.last_seen");
  auto by_type = counters->find("by_type");
  if (by_type == counters->end() || !by_type->is_object()) return bad("counters.by_type");
  for (const auto& [type, n] : by_type->items()) {
    if (!n.is_number_unsigned()) return bad("counters.by_type." + type);
    c.by_type[type] = n.get<std::uint64_t>();
  }
  auto spend = counters->find("spend_micros");
  if (spend == counters->end() || !spend->is_object()) return bad("counters.spend_micros");
  for (const auto& [currency, micros] : spend->items()) {
    if (!micros.is_number_integer()) return bad("counters.spend_micros." + currency);
    c.spend_micros[currency] = micros.get<std::int64_t>();
  }
  for (const char* key : {"stores", "channels"}) {
    auto list = counters->find(key);
    if (list == counters->end() || !list->is_array()) return bad(std::string("counters.") + key);
    auto& out = std::string_view(key) == "stores" ? c.stores : c.channels;
    for (const auto& item : *list) {
      if (!item.is_string()) return bad(std::string("counters.") + key);
      out.insert(item.get<std::string>());
    }
  }
  auto traits = j.find("traits");
  if (traits == j.end() || !traits->is_object()) return bad("traits");
  for (const auto& [key, t] : traits->items()) {
    TraitValue value;
    if (!t.is_object() || !t.contains("value") || !get_int(t, "at", value.at)) {
      return bad("traits." + key);
    }
    value.value = t["value"];
    state.traits[key] = std::move(value);
  }
  auto consent = j.find("consent");
  if (consent == j.end() || !consent->is_object()) return bad("consent");
  for (std::size_t p = 0; p < kPurposeNames.size(); ++p) {
    auto it = consent->find(kPurposeNames[p]);
    if (it == consent->end()) continue;
    PurposeConsent& pc = state.consent[p];
    std::string name;
    if (!it->is_object() || !get_string(*it, "state", name) ||
        !get_int(*it, "decided_at", pc.decided_at) || !get_uint(*it, "version", pc.version) ||
        !get_string(*it, "source", pc.source)) {
      return bad(std::string("consent.") + kPurposeNames[p]);
    }
    auto parsed = parse_consent_state(name);
    if (!parsed) return bad(std::string("consent.") + kPurposeNames[p] + ".state");
    pc.state = *parsed;
  }
  auto last = j.find("last_events");
  if (last == j.end() || !last->is_array()) return bad("last_events");
  for (const auto& e : *last) {
    LastEvent event;
    if (!e.is_object() || !get_string(e, "id", event.event_id) ||
        !get_string(e, "type", event.type) || !get_int(e, "at", event.occurred_at)) {
      return bad("last_events");
    }
    state.last_events.push_back(std::move(event));
  }
  return state;
}

}  // namespace aisle::collector::profiles
