#include "common/wire/privacy.hpp"

#include "common/json_text.hpp"

namespace aisle::wire {
namespace {

using nlohmann::json;

// Consent pages and erasure lists can be long; bounded all the same.
constexpr JsonLimits kPrivacyLimits{8 * 1024 * 1024, 8};

std::vector<std::string_view> split_levels(std::string_view topic) {
  std::vector<std::string_view> levels;
  while (true) {
    const auto slash = topic.find('/');
    levels.push_back(topic.substr(0, slash));
    if (slash == std::string_view::npos) break;
    topic.remove_prefix(slash + 1);
  }
  return levels;
}

Error message_error(std::string_view what, std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::string(what) + ": " + std::move(message));
}

Result<json> parse_object(std::string_view what, std::string_view payload) {
  auto parsed = parse_json(payload, kPrivacyLimits);
  if (!parsed) return message_error(what, parsed.error().message);
  if (!parsed->is_object()) return message_error(what, "not a JSON object");
  return std::move(*parsed);
}

// Field readers: false with `error` naming the field when it is absent or mistyped.
bool read_u64(const json& j, const char* key, std::uint64_t& out, std::string& error) {
  auto it = j.find(key);
  if (it == j.end() || !(it->is_number_unsigned() ||
                         (it->is_number_integer() && it->get<std::int64_t>() >= 0))) {
    error = std::string("'") + key + "' must be a non-negative integer";
    return false;
  }
  out = it->get<std::uint64_t>();
  return true;
}

bool read_string(const json& j, const char* key, std::string& out, std::string& error,
                 bool allow_empty = false) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string() ||
      (!allow_empty && it->get_ref<const std::string&>().empty())) {
    error = std::string("'") + key + "' must be a non-empty string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool read_state(const json& j, const char* key, ConsentState& out, std::string& error) {
  auto it = j.find(key);
  if (it == j.end()) {
    out = ConsentState::kUnknown;
    return true;
  }
  const auto state = it->is_string() ? parse_consent_state(it->get<std::string>()) : std::nullopt;
  if (!state) {
    error = std::string("'") + key + "' must be \"granted\", \"denied\" or \"unknown\"";
    return false;
  }
  out = *state;
  return true;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string broadcast_topic(std::string_view tenant, std::string_view kind) {
  return "aisle/v1/" + std::string(tenant) + "/broadcast/" + std::string(kind);
}

std::string uplink_topic(const AgentAddress& a, std::string_view kind) {
  return "aisle/v1/" + a.tenant + "/" + a.store_id + "/" + a.agent_id + "/up/" +
         std::string(kind);
}

std::string shared_uplink_subscription(std::string_view group, std::string_view kind) {
  return "$share/" + std::string(group) + "/aisle/v1/+/+/+/up/" + std::string(kind);
}

std::optional<UplinkAddress> parse_uplink_topic(std::string_view topic) {
  const auto levels = split_levels(topic);
  if (levels.size() != 7 || levels[0] != "aisle" || levels[1] != "v1" || levels[5] != "up") {
    return std::nullopt;
  }
  for (std::size_t i : {2u, 3u, 4u, 6u}) {
    if (levels[i].empty()) return std::nullopt;
  }
  return UplinkAddress{
      AgentAddress{std::string(levels[2]), std::string(levels[3]), std::string(levels[4])},
      std::string(levels[6])};
}

std::string signed_text(const ErasureReceipt& r) {
  return "aisle-erasure-receipt/1\n" + r.erasure_id + "\n" + r.tenant + "\n" + r.store_id +
         "\n" + r.agent_id + "\n" + std::to_string(r.events_purged) + "\n" +
         std::to_string(r.cache_entries_purged) + "\n" + std::to_string(r.purged_at) + "\n";
}

std::string encode_consent_update(const ConsentUpdate& u) {
  json entries = json::array();
  for (const auto& e : u.entries) {
    entries.push_back({{"identity", e.identity},
                       {"analytics", consent_state_name(e.flags.analytics)},
                       {"personalization", consent_state_name(e.flags.personalization)},
                       {"marketing", consent_state_name(e.flags.marketing)},
                       {"decided_at", e.decided_at},
                       {"version", e.version}});
  }
  return dump({{"v", 1},
               {"from_version", u.from_version},
               {"to_version", u.to_version},
               {"more", u.more},
               {"entries", std::move(entries)}});
}

Result<ConsentUpdate> decode_consent_update(std::string_view payload) {
  constexpr std::string_view kWhat = "consent update";
  auto parsed = parse_object(kWhat, payload);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  ConsentUpdate u;
  std::string error;
  if (!read_u64(j, "from_version", u.from_version, error) ||
      !read_u64(j, "to_version", u.to_version, error)) {
    return message_error(kWhat, error);
  }
  if (u.to_version < u.from_version) {
    return message_error(kWhat, "'to_version' is below 'from_version'");
  }
  if (auto it = j.find("more"); it != j.end()) {
    if (!it->is_boolean()) return message_error(kWhat, "'more' must be a boolean");
    u.more = it->get<bool>();
  }
  auto entries = j.find("entries");
  if (entries == j.end() || !entries->is_array()) {
    return message_error(kWhat, "'entries' must be an array");
  }
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const json& e = (*entries)[i];
    const std::string where = "entries[" + std::to_string(i) + "]";
    if (!e.is_object()) return message_error(kWhat, where + " is not an object");
    ConsentEntry entry;
    std::uint64_t decided = 0;
    if (!read_string(e, "identity", entry.identity, error) ||
        !read_state(e, "analytics", entry.flags.analytics, error) ||
        !read_state(e, "personalization", entry.flags.personalization, error) ||
        !read_state(e, "marketing", entry.flags.marketing, error) ||
        !read_u64(e, "decided_at", decided, error) || !read_u64(e, "version", entry.version, error)) {
      return message_error(kWhat, where + ": " + error);
    }
    if (entry.identity.find(':') == std::string::npos) {
      return message_error(kWhat, where + ": 'identity' must be \"type:value\"");
    }
    if (entry.version <= u.from_version || entry.version > u.to_version) {
      return message_error(kWhat, where + ": version " + std::to_string(entry.version) +
                                      " outside (from_version, to_version]");
    }
    entry.decided_at = static_cast<UnixMillis>(decided);
    u.entries.push_back(std::move(entry));
  }
  return u;
}

std::string encode_consent_sync(const ConsentSyncRequest& r) {
  return dump({{"v", 1}, {"since_version", r.since_version}});
}

Result<ConsentSyncRequest> decode_consent_sync(std::string_view payload) {
  constexpr std::string_view kWhat = "consent sync request";
  auto parsed = parse_object(kWhat, payload);
  if (!parsed) return parsed.error();
  ConsentSyncRequest r;
  std::string error;
  if (!read_u64(*parsed, "since_version", r.since_version, error)) {
    return message_error(kWhat, error);
  }
  return r;
}

std::string encode_erasure_request(const ErasureRequest& r) {
  return dump({{"v", 1},
               {"erasure_id", r.erasure_id},
               {"identities", r.identities},
               {"requested_at", r.requested_at}});
}

Result<ErasureRequest> decode_erasure_request(std::string_view payload) {
  constexpr std::string_view kWhat = "erasure request";
  auto parsed = parse_object(kWhat, payload);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  ErasureRequest r;
  std::string error;
  std::uint64_t requested = 0;
  if (!read_string(j, "erasure_id", r.erasure_id, error) ||
      !read_u64(j, "requested_at", requested, error)) {
    return message_error(kWhat, error);
  }
  r.requested_at = static_cast<UnixMillis>(requested);
  auto ids = j.find("identities");
  if (ids == j.end() || !ids->is_array() || ids->empty()) {
    return message_error(kWhat, "'identities' must be a non-empty array");
  }
  for (std::size_t i = 0; i < ids->size(); ++i) {
    const json& id = (*ids)[i];
    if (!id.is_string() || id.get_ref<const std::string&>().find(':') == std::string::npos) {
      return message_error(kWhat,
                           "identities[" + std::to_string(i) + "] must be \"type:value\"");
    }
    r.identities.push_back(id.get<std::string>());
  }
  return r;
}

std::string encode_erasure_receipt(const ErasureReceipt& r) {
  return dump({{"v", 1},
               {"erasure_id", r.erasure_id},
               {"tenant", r.tenant},
               {"store_id", r.store_id},
               {"agent_id", r.agent_id},
               {"events_purged", r.events_purged},
               {"cache_entries_purged", r.cache_entries_purged},
               {"purged_at", r.purged_at},
               {"signature", r.signature},
               {"certificate", r.certificate}});
}

Result<ErasureReceipt> decode_erasure_receipt(std::string_view payload) {
  constexpr std::string_view kWhat = "erasure receipt";
  auto parsed = parse_object(kWhat, payload);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  ErasureReceipt r;
  std::string error;
  std::uint64_t purged_at = 0;
  if (!read_string(j, "erasure_id", r.erasure_id, error) ||
      !read_string(j, "tenant", r.tenant, error) ||
      !read_string(j, "store_id", r.store_id, error) ||
      !read_string(j, "agent_id", r.agent_id, error) ||
      !read_u64(j, "events_purged", r.events_purged, error) ||
      !read_u64(j, "cache_entries_purged", r.cache_entries_purged, error) ||
      !read_u64(j, "purged_at", purged_at, error) ||
      !read_string(j, "signature", r.signature, error, true) ||
      !read_string(j, "certificate", r.certificate, error, true)) {
    return message_error(kWhat, error);
  }
  r.purged_at = static_cast<UnixMillis>(purged_at);
  return r;
}

}  // namespace aisle::wire
