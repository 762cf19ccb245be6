#include "agent/privacy/privacy_config.hpp"

#include <filesystem>

#include "common/config.hpp"

namespace aisle::agent::privacy {
namespace {

using nlohmann::json;
using StringSet = std::set<std::string, std::less<>>;
using TypeLists = std::map<std::string, StringSet, std::less<>>;

ConsentAction action_of(const std::string& name) {
  if (name == "drop") return ConsentAction::kDrop;
  if (name == "anonymize") return ConsentAction::kAnonymize;
  return ConsentAction::kAllow;
}

// A member by reference (json::value() would copy, and GCC 12 misreads iterators over the copy).
const json& member_or(const json& j, const char* key, const json& fallback) {
  auto it = j.find(key);
  return it == j.end() ? fallback : *it;
}

TypeLists type_lists(const json& j) {
  TypeLists out;
  for (const auto& [type, list] : j.items()) {
    StringSet names;
    for (const auto& name : list) names.insert(name.get<std::string>());
    out.emplace(type, std::move(names));
  }
  return out;
}

}  // namespace

std::string default_consent_cache_path(const std::string& outbox_path) {
  const std::filesystem::path dir = std::filesystem::path(outbox_path).parent_path();
  return (dir.empty() ? std::filesystem::path("consent.db") : dir / "consent.db").string();
}

Result<PrivacyOptions> parse_privacy_options(const json& privacy, std::string_view origin,
                                             const std::string& outbox_path) {
  PrivacyOptions o;
  const json empty = json::object();

  if (auto p = privacy.find("pseudonymization"); p != privacy.end()) {
    auto& ps = o.pseudonymization;
    ps.enabled = true;
    ps.key_file = p->at("key_file").get<std::string>();
    ps.min_key_bytes = p->value("min_key_bytes", ps.min_key_bytes);
    if (auto ids = p->find("identities"); ids != p->end()) {
      ps.identities.clear();
      for (const auto& id : *ids) ps.identities.insert(id.get<std::string>());
    }
    ps.phone.default_country_code = p->value("phone_default_country_code", "");
    ps.phone.trunk_prefix = p->value("phone_trunk_prefix", ps.phone.trunk_prefix);
    for (const auto& [type, fields] : member_or(*p, "properties", empty).items()) {
      auto& kinds = ps.properties[type];
      for (const auto& [field, kind] : fields.items()) {
        const std::string k = kind.get<std::string>();
        kinds[field] = k == "email"   ? FieldKind::kEmail
                       : k == "phone" ? FieldKind::kPhone
                                      : FieldKind::kText;
      }
    }
  }

  const json& ip = member_or(privacy, "ip_truncation", empty);
  o.ip_truncation.enabled = ip.value("enabled", o.ip_truncation.enabled);
  o.ip_truncation.ipv4_prefix = ip.value("ipv4_prefix", o.ip_truncation.ipv4_prefix);
  o.ip_truncation.ipv6_prefix = ip.value("ipv6_prefix", o.ip_truncation.ipv6_prefix);

  o.minimization = type_lists(member_or(privacy, "minimization", empty));

  const json& consent = member_or(privacy, "consent", empty);
  auto& c = o.consent;
  c.cache_path = consent.value("cache_path", default_consent_cache_path(outbox_path));
  c.on_denied = action_of(consent.value("on_denied", "drop"));
  c.on_unknown = action_of(consent.value("on_unknown", "allow"));
  if (auto exempt = consent.find("exempt_types"); exempt != consent.end()) {
    c.exempt_types.clear();
    for (const auto& t : *exempt) c.exempt_types.insert(t.get<std::string>());
  }
  c.anonymize_keep = type_lists(member_or(consent, "anonymize_keep", empty));
  if (auto it = consent.find("sync_timeout"); it != consent.end()) {
    auto ms = parse_duration_ms(*it);
    if (!ms) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string(origin) + ": /privacy/consent/sync_timeout: not a duration");
    }
    c.sync_timeout = std::chrono::milliseconds(*ms);
  }
  const bool anonymizes =
      c.on_denied == ConsentAction::kAnonymize || c.on_unknown == ConsentAction::kAnonymize;
  if (anonymizes && c.anonymize_keep.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(origin) +
                          ": /privacy/consent/anonymize_keep: the policy anonymizes, so name "
                          "the properties each event type keeps (types not listed are dropped)");
  }
  return o;
}

}  // namespace aisle::agent::privacy
