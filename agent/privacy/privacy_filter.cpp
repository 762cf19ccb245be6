#include "agent/privacy/privacy_filter.hpp"

#include <algorithm>

#include "common/json_text.hpp"

namespace aisle::agent::privacy {
namespace {

using nlohmann::json;

constexpr const char* kRedacted = "[redacted]";
constexpr std::size_t kHashChars = 64;

Error config_error(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// Every loaded version of an event type.
std::vector<const schema::LoadedSchema*> schemas_of(const schema::Registry& registry,
                                                    std::string_view type) {
  std::vector<const schema::LoadedSchema*> out;
  for (const auto& uri : registry.uris()) {
    const auto* loaded = registry.find(uri);
    if (loaded && loaded->key.name == type) out.push_back(loaded);
  }
  return out;
}

// A list of kept properties must keep every required property of every version of its type.
Status check_keeps_required(
    std::string_view key, const schema::Registry& registry,
    const std::map<std::string, std::set<std::string, std::less<>>, std::less<>>& lists) {
  for (const auto& [type, keep] : lists) {
    const auto schemas = schemas_of(registry, type);
    if (schemas.empty()) {
      return config_error(std::string(key) + "." + type + ": no schema for event type '" + type +
                          "'");
    }
    for (const auto* s : schemas) {
      auto required = s->document.find("required");
      if (required == s->document.end() || !required->is_array()) continue;
      for (const auto& name : *required) {
        if (!name.is_string() || keep.count(name.get<std::string>())) continue;
        return config_error(std::string(key) + "." + type +
                            ": would remove the required property '" + name.get<std::string>() +
                            "' of " + s->uri + "; add it to the list (events must stay valid)");
      }
    }
  }
  return ok_status();
}

// A pseudonymized property must accept 64 lowercase hex digits in every version of its type.
Status check_pseudonymized_properties(const PseudonymizationOptions& p,
                                      const schema::Registry& registry) {
  for (const auto& [type, fields] : p.properties) {
    const std::string key = "privacy.pseudonymization.properties." + type;
    const auto schemas = schemas_of(registry, type);
    if (schemas.empty()) return config_error(key + ": no schema for event type '" + type + "'");
    for (const auto& [field, kind] : fields) {
      for (const auto* s : schemas) {
        const std::string where = key + "." + field + " (" + s->uri + "): ";
        const json* properties = nullptr;
        if (auto it = s->document.find("properties"); it != s->document.end()) {
          properties = &*it;
        }
        const json* sub = nullptr;
        if (properties && properties->is_object()) {
          if (auto it = properties->find(field); it != properties->end()) sub = &*it;
        }
        if (!sub || !sub->is_object()) return config_error(where + "not a declared property");
        const auto type_it = sub->find("type");
        const bool is_string =
            type_it != sub->end() &&
            ((type_it->is_string() && *type_it == "string") ||
             (type_it->is_array() &&
              std::find(type_it->begin(), type_it->end(), json("string")) != type_it->end()));
        if (!is_string) return config_error(where + "must be a string property");
        for (const char* keyword : {"enum", "const", "pattern", "format", "$ref"}) {
          if (sub->contains(keyword)) {
            return config_error(where + "has '" + keyword +
                                "', which a 64-hex-digit pseudonym would not satisfy");
          }
        }
        if (auto max = sub->find("maxLength");
            max != sub->end() && max->is_number() && max->get<double>() < kHashChars) {
          return config_error(where + "maxLength is below 64, the length of a pseudonym");
        }
      }
    }
  }
  return ok_status();
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

const char* consent_action_name(ConsentAction action) {
  switch (action) {
    case ConsentAction::kAllow: return "allow";
    case ConsentAction::kDrop: return "drop";
    case ConsentAction::kAnonymize: return "anonymize";
  }
  return "allow";
}

Result<std::unique_ptr<PrivacyFilter>> PrivacyFilter::create(PrivacyOptions options,
                                                             const schema::Registry& registry,
                                                             ConsentCache* cache,
                                                             metrics::Registry& metrics) {
  std::optional<Pseudonymizer> pseudonymizer;
  if (options.pseudonymization.enabled) {
    auto loaded = Pseudonymizer::from_key_file(options.pseudonymization.key_file,
                                               options.pseudonymization.min_key_bytes,
                                               options.pseudonymization.phone);
    if (!loaded) return loaded.error();
    pseudonymizer.emplace(std::move(*loaded));
    if (auto s = check_pseudonymized_properties(options.pseudonymization, registry); !s) {
      return s.error();
    }
  } else if (!options.pseudonymization.properties.empty()) {
    return config_error(
        "privacy.pseudonymization.properties: set, but pseudonymization has no key_file");
  }
  if (auto s = check_keeps_required("privacy.minimization", registry, options.minimization); !s) {
    return s.error();
  }
  if (auto s = check_keeps_required("privacy.consent.anonymize_keep", registry,
                                    options.consent.anonymize_keep);
      !s) {
    return s.error();
  }
  return std::unique_ptr<PrivacyFilter>(
      new PrivacyFilter(std::move(options), std::move(pseudonymizer), cache, metrics));
}

PrivacyFilter::PrivacyFilter(PrivacyOptions options, std::optional<Pseudonymizer> pseudonymizer,
                             ConsentCache* cache, metrics::Registry& metrics)
    : options_(std::move(options)), pseudonymizer_(std::move(pseudonymizer)), cache_(cache) {
  const std::string name = "aisle_agent_privacy_events_total";
  const std::string help = "Events changed or withheld by the privacy policy, by action";
  pseudonymized_ = &metrics.counter(name, help, {{"action", "pseudonymized"}});
  dropped_ = &metrics.counter(name, help, {{"action", "dropped_no_consent"}});
  anonymized_ = &metrics.counter(name, help, {{"action", "anonymized"}});
  rejected_ = &metrics.counter(name, help, {{"action", "rejected_identifier"}});
  minimized_ = &metrics.counter(name, help, {{"action", "minimized"}});
  properties_removed_ = &metrics.counter("aisle_agent_privacy_properties_removed_total",
                                         "Properties removed by data minimization");
  ips_truncated_ = &metrics.counter("aisle_agent_privacy_ips_truncated_total",
                                    "Client IPs truncated (or removed when not an IP)");
}

bool PrivacyFilter::pseudonymize_identities(Event& event,
                                            std::vector<schema::ValidationError>& errors) const {
  bool changed = false;
  for (const auto& type : options_.pseudonymization.identities) {
    auto it = event.identities.find(type);
    if (it == event.identities.end()) continue;
    auto hashed = pseudonymizer_->pseudonymize(Pseudonymizer::identity_kind(type), it->second);
    if (!hashed) {
      errors.push_back({"/identities/" + type, "format", "", hashed.error().message});
      return false;
    }
    const std::string output = Pseudonymizer::output_identity_type(type);
    if (output == type) {
      it->second = std::move(*hashed);
    } else {
      event.identities.erase(it);
      event.identities.insert_or_assign(output, std::move(*hashed));
    }
    changed = true;
  }
  if (changed) pseudonymized_->inc();
  return true;
}

ConsentAction PrivacyFilter::consent_action(const Event& event) const {
  if (options_.consent.exempt_types.count(event.type)) return ConsentAction::kAllow;
  ConsentState state = event.consent ? event.consent->analytics : ConsentState::kUnknown;
  if (state != ConsentState::kDenied && cache_ != nullptr) {
    const ConsentState cached = cache_->analytics_for(event.identities);
    if (cached == ConsentState::kDenied || state == ConsentState::kUnknown) state = cached;
  }
  switch (state) {
    case ConsentState::kDenied: return options_.consent.on_denied;
    case ConsentState::kUnknown: return options_.consent.on_unknown;
    case ConsentState::kGranted: break;
  }
  return ConsentAction::kAllow;
}

bool PrivacyFilter::load_properties(Event& event, const std::string* properties_text,
                                    bool& loaded) const {
  if (loaded || properties_text == nullptr) return loaded = true;
  // Validated text: it parses, within the limits it was validated with.
  auto parsed = json::parse(*properties_text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return false;
  event.properties = std::move(parsed);
  return loaded = true;
}

PrivacyAction PrivacyFilter::apply(Event& event, std::string* properties_text,
                                   std::vector<schema::ValidationError>& errors) const {
  bool loaded = false;
  bool properties_changed = false;

  if (pseudonymizer_) {
    if (!pseudonymize_identities(event, errors)) {
      rejected_->inc();
      return PrivacyAction::kReject;
    }
    if (auto fields = options_.pseudonymization.properties.find(event.type);
        fields != options_.pseudonymization.properties.end()) {
      if (!load_properties(event, properties_text, loaded)) {
        errors.push_back({"/properties", "type", "", "properties could not be re-read"});
        rejected_->inc();
        return PrivacyAction::kReject;
      }
      for (const auto& [field, kind] : fields->second) {
        auto value = event.properties.find(field);
        if (value == event.properties.end()) continue;
        const std::string path = "/properties/" + field;
        if (!value->is_string()) {
          errors.push_back({path, "type", "", "a pseudonymized property must be a string"});
          rejected_->inc();
          return PrivacyAction::kReject;
        }
        auto hashed = pseudonymizer_->pseudonymize(kind, value->get_ref<const std::string&>());
        if (!hashed) {
          errors.push_back({path, "format", "", hashed.error().message});
          rejected_->inc();
          return PrivacyAction::kReject;
        }
        *value = std::move(*hashed);
        properties_changed = true;
      }
    }
  }

  ConsentAction action = consent_action(event);
  const std::set<std::string, std::less<>>* keep = nullptr;
  if (action == ConsentAction::kAnonymize) {
    auto list = options_.consent.anonymize_keep.find(event.type);
    if (list == options_.consent.anonymize_keep.end()) {
      action = ConsentAction::kDrop;  // nothing is known to be safe to keep for this type
    } else {
      keep = &list->second;
    }
  }
  if (action == ConsentAction::kDrop) {
    dropped_->inc();
    return PrivacyAction::kDrop;
  }
  if (action == ConsentAction::kAnonymize) {
    event.identities.clear();
    event.source.device_id.clear();
    event.context.reset();
    anonymized_->inc();
  } else if (auto list = options_.minimization.find(event.type);
             list != options_.minimization.end()) {
    keep = &list->second;
  }
  if (keep != nullptr) {
    if (!load_properties(event, properties_text, loaded)) {
      errors.push_back({"/properties", "type", "", "properties could not be re-read"});
      rejected_->inc();
      return PrivacyAction::kReject;
    }
    std::uint64_t removed = 0;
    for (auto it = event.properties.begin(); it != event.properties.end();) {
      if (keep->count(it.key())) {
        ++it;
      } else {
        it = event.properties.erase(it);
        ++removed;
      }
    }
    if (removed > 0) {
      properties_changed = true;
      properties_removed_->inc(static_cast<double>(removed));
      if (action != ConsentAction::kAnonymize) minimized_->inc();
    }
  }

  if (options_.ip_truncation.enabled && event.context && !event.context->ip.empty()) {
    event.context->ip = truncate_ip(event.context->ip, options_.ip_truncation.ipv4_prefix,
                                    options_.ip_truncation.ipv6_prefix);
    if (event.context->ip.empty() && event.context->user_agent.empty()) event.context.reset();
    ips_truncated_->inc();
  }
  if (cache_ != nullptr) event.consent_version = cache_->version();
  if (properties_changed && properties_text != nullptr) {
    *properties_text = dump(event.properties);
    event.properties = json::object();
  }
  return action == ConsentAction::kAnonymize ? PrivacyAction::kAnonymize : PrivacyAction::kKeep;
}

std::string PrivacyFilter::redact_record(std::string_view raw, bool& redacted) const {
  redacted = false;
  auto parsed = parse_json(raw, JsonLimits{raw.size() + 1, 64});
  if (!parsed || !parsed->is_object()) {
    if (!pseudonymizer_) return std::string(raw);
    redacted = true;
    return {};
  }
  json& j = *parsed;
  if (auto ids = j.find("identities"); ids != j.end() && ids->is_object()) {
    for (auto& [type, value] : ids->items()) {
      const bool raw_type = type == "email" || type == "phone";
      const bool hashed_here =
          pseudonymizer_ && options_.pseudonymization.identities.count(type) > 0;
      if (raw_type || hashed_here) {
        value = kRedacted;
        redacted = true;
      }
    }
  }
  if (pseudonymizer_) {
    auto type = j.find("type");
    auto properties = j.find("properties");
    if (type != j.end() && type->is_string() && properties != j.end() && properties->is_object()) {
      auto fields = options_.pseudonymization.properties.find(type->get<std::string>());
      if (fields != options_.pseudonymization.properties.end()) {
        for (const auto& [field, kind] : fields->second) {
          if (auto value = properties->find(field); value != properties->end()) {
            *value = kRedacted;
            redacted = true;
          }
        }
      }
    }
  }
  if (options_.ip_truncation.enabled) {
    auto context = j.find("context");
    if (context != j.end() && context->is_object()) {
      auto ip = context->find("ip");
      if (ip != context->end()) {
        *ip = ip->is_string()
                  ? truncate_ip(ip->get<std::string>(), options_.ip_truncation.ipv4_prefix,
                                options_.ip_truncation.ipv6_prefix)
                  : std::string();
        redacted = true;
      }
    }
  }
  return redacted ? dump(j) : std::string(raw);
}

bool PrivacyFilter::redacts_frames_of(std::string_view adapter) const {
  return pseudonymizer_.has_value() && options_.redact_frames_of_adapters.count(adapter) > 0;
}

}  // namespace aisle::agent::privacy
