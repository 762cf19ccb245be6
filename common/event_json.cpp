#include "common/event_json.hpp"

#include <algorithm>

#include "common/time_format.hpp"
#include "common/uuid.hpp"

namespace aisle {
namespace {

using nlohmann::json;
using schema::ValidationError;

constexpr std::size_t kMaxIdentityValueBytes = 256;
constexpr std::size_t kMaxContextFieldBytes = 512;

class ErrorSink {
 public:
  explicit ErrorSink(std::vector<ValidationError>& errors) : errors_(errors) {}
  void add(std::string path, const char* keyword, std::string message) {
    errors_.push_back(ValidationError{std::move(path), keyword, "", std::move(message)});
    failed_ = true;
  }
  bool failed() const { return failed_; }

 private:
  std::vector<ValidationError>& errors_;
  bool failed_ = false;
};

bool is_lower_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_type_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

const std::string* as_string(const json& value, const std::string& path, ErrorSink& sink) {
  if (!value.is_string()) {
    sink.add(path, "type", std::string("must be a string but is ") + value.type_name());
    return nullptr;
  }
  return value.get_ptr<const std::string*>();
}

std::optional<UnixMillis> as_timestamp(const json& value, const std::string& path,
                                       ErrorSink& sink) {
  const std::string* text = as_string(value, path, sink);
  if (!text) return std::nullopt;
  auto ms = parse_rfc3339(*text);
  if (!ms) {
    sink.add(path, "format",
             "must be an RFC 3339 date-time like 2026-11-28T13:11:25.123Z but is '" +
                 text->substr(0, 64) + "'");
  }
  return ms;
}

void decode_source(const json& j, EventSource& source, ErrorSink& sink) {
  if (!j.is_object()) {
    sink.add("/source", "type", std::string("must be an object but is ") + j.type_name());
    return;
  }
  bool has_store = false, has_channel = false;
  for (const auto& [key, value] : j.items()) {
    const std::string path = "/source/" + key;
    if (key == "store_id" || key == "device_id" || key == "agent_id") {
      const std::string* text = as_string(value, path, sink);
      if (!text) continue;
      if (!is_valid_entity_id(*text)) {
        sink.add(path, "pattern", "must be 1-64 characters of [A-Za-z0-9._:-]");
        continue;
      }
      if (key == "store_id") {
        source.store_id = *text;
        has_store = true;
      } else if (key == "device_id") {
        source.device_id = *text;
      } else {
        source.agent_id = *text;
      }
    } else if (key == "channel") {
      const std::string* text = as_string(value, path, sink);
      if (!text) continue;
      if (auto channel = parse_channel(*text)) {
        source.channel = *channel;
        has_channel = true;
      } else {
        sink.add(path, "enum", "must be one of web, mobile, kiosk, pos, sensor but is '" +
                                   text->substr(0, 32) + "'");
      }
    } else {
      sink.add(path, "additionalProperties", "unknown field '" + key + "' in source");
    }
  }
  if (!has_store) sink.add("/source", "required", "missing property 'store_id'");
  if (!has_channel) sink.add("/source", "required", "missing property 'channel'");
}

void decode_identities(const json& j, std::map<std::string, std::string>& identities,
                       ErrorSink& sink, const EventDecodeOptions& options) {
  if (!j.is_object()) {
    sink.add("/identities", "type", std::string("must be an object but is ") + j.type_name());
    return;
  }
  for (const auto& [key, value] : j.items()) {
    const std::string path = "/identities/" + key;
    const bool known = is_standard_identity_type(key) ||
                       (options.custom_identity_types &&
                        options.custom_identity_types->count(key) > 0);
    if (!known) {
      sink.add(path, "propertyNames",
               "unknown identity type '" + key +
                   "' (standard: anonymous_id, user_id, loyalty_id, email_sha256, "
                   "phone_sha256, device_id, session_id; others must be configured)");
      continue;
    }
    const std::string* text = as_string(value, path, sink);
    if (!text) continue;
    if (text->empty() || text->size() > kMaxIdentityValueBytes) {
      sink.add(path, "maxLength", "must be 1-256 bytes");
      continue;
    }
    if ((key == "email_sha256" || key == "phone_sha256") && !is_lower_hex64(*text)) {
      sink.add(path, "pattern", "must be 64 lowercase hex digits (a SHA-256 digest)");
      continue;
    }
    identities.emplace(key, *text);
  }
}

void decode_consent(const json& j, ConsentFlags& consent, ErrorSink& sink) {
  if (!j.is_object()) {
    sink.add("/consent", "type", std::string("must be an object but is ") + j.type_name());
    return;
  }
  for (const auto& [key, value] : j.items()) {
    const std::string path = "/consent/" + key;
    ConsentState* target = key == "analytics"         ? &consent.analytics
                           : key == "personalization" ? &consent.personalization
                           : key == "marketing"       ? &consent.marketing
                                                      : nullptr;
    if (!target) {
      sink.add(path, "additionalProperties",
               "unknown consent purpose '" + key +
                   "' (purposes: analytics, personalization, marketing)");
      continue;
    }
    const std::string* text = as_string(value, path, sink);
    if (!text) continue;
    if (auto state = parse_consent_state(*text)) {
      *target = *state;
    } else {
      sink.add(path, "enum", "must be granted, denied or unknown");
    }
  }
}

void decode_context(const json& j, EventContext& context, ErrorSink& sink) {
  if (!j.is_object()) {
    sink.add("/context", "type", std::string("must be an object but is ") + j.type_name());
    return;
  }
  for (const auto& [key, value] : j.items()) {
    const std::string path = "/context/" + key;
    std::string* target = key == "ip" ? &context.ip : key == "user_agent" ? &context.user_agent
                                                                           : nullptr;
    if (!target) {
      sink.add(path, "additionalProperties", "unknown field '" + key + "' in context");
      continue;
    }
    const std::string* text = as_string(value, path, sink);
    if (!text) continue;
    if (text->size() > kMaxContextFieldBytes) {
      sink.add(path, "maxLength", "must be at most 512 bytes");
      continue;
    }
    *target = *text;
  }
}

}  // namespace

bool is_valid_entity_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
  });
}

bool decode_event(json&& j, Event& out, std::vector<ValidationError>& errors,
                  const EventDecodeOptions& options) {
  ErrorSink sink(errors);
  if (!j.is_object()) {
    sink.add("", "type", std::string("an event must be a JSON object but is ") + j.type_name());
    return false;
  }
  bool has_type = false, has_occurred = false, has_source = false;
  for (auto& [key, value] : j.items()) {
    const std::string path = "/" + key;
    if (key == "event_id") {
      if (const std::string* text = as_string(value, path, sink)) {
        if (auto uuid = Uuid::parse(*text)) {
          out.event_id = uuid->to_string();
        } else {
          sink.add(path, "format", "must be a UUID (8-4-4-4-12 hex digits)");
        }
      }
    } else if (key == "type") {
      if (const std::string* text = as_string(value, path, sink)) {
        if (is_type_name(*text)) {
          out.type = *text;
          has_type = true;
        } else {
          sink.add(path, "pattern", "must match ^[a-z][a-z0-9_]{0,63}$");
        }
      }
    } else if (key == "schema") {
      if (const std::string* text = as_string(value, path, sink)) {
        if (parse_schema_uri(*text)) {
          out.schema = *text;
        } else {
          sink.add(path, "format",
                   "must be a schema URI like aisle/purchase/jsonschema/1-0-0 but is '" +
                       text->substr(0, 80) + "'");
        }
      }
    } else if (key == "occurred_at") {
      if (auto ms = as_timestamp(value, path, sink)) {
        out.occurred_at = *ms;
        has_occurred = true;
      }
    } else if (key == "received_at") {
      if (auto ms = as_timestamp(value, path, sink)) out.received_at = *ms;
    } else if (key == "source") {
      has_source = true;
      decode_source(value, out.source, sink);
    } else if (key == "identities") {
      decode_identities(value, out.identities, sink, options);
    } else if (key == "consent") {
      decode_consent(value, out.consent.emplace(), sink);
    } else if (key == "context") {
      decode_context(value, out.context.emplace(), sink);
    } else if (key == "properties") {
      if (value.is_object()) {
        out.properties = std::move(value);
      } else {
        sink.add(path, "type", std::string("must be an object but is ") + value.type_name());
      }
    } else {
      sink.add(path, "additionalProperties",
               "unknown top-level field '" + key +
                   "' (custom data belongs in 'properties', described by the event's schema)");
    }
  }
  if (!has_type) sink.add("", "required", "missing property 'type'");
  if (!has_occurred) sink.add("", "required", "missing property 'occurred_at'");
  if (!has_source) sink.add("", "required", "missing property 'source'");
  if (options.require_event_id && out.event_id.empty()) {
    sink.add("", "required", "missing property 'event_id'");
  }
  if (options.require_schema && out.schema.empty()) {
    sink.add("", "required", "missing property 'schema'");
  }
  if (options.require_received_at && !out.received_at) {
    sink.add("", "required", "missing property 'received_at'");
  }
  if (has_type && !out.schema.empty()) {
    if (auto key = parse_schema_uri(out.schema); key && key->name != out.type) {
      sink.add("/schema", "const",
               "schema '" + out.schema + "' describes '" + key->name + "', not type '" +
                   out.type + "'");
    }
  }
  return !sink.failed();
}

json to_json(const Event& event) {
  json j = json::object();
  if (!event.event_id.empty()) j["event_id"] = event.event_id;
  j["type"] = event.type;
  if (!event.schema.empty()) j["schema"] = event.schema;
  j["occurred_at"] = format_rfc3339_ms(event.occurred_at);
  if (event.received_at) j["received_at"] = format_rfc3339_ms(*event.received_at);
  json source = {{"store_id", event.source.store_id},
                 {"channel", channel_name(event.source.channel)}};
  if (!event.source.device_id.empty()) source["device_id"] = event.source.device_id;
  if (!event.source.agent_id.empty()) source["agent_id"] = event.source.agent_id;
  j["source"] = std::move(source);
  if (!event.identities.empty()) j["identities"] = event.identities;
  if (event.consent) {
    j["consent"] = {{"analytics", consent_state_name(event.consent->analytics)},
                    {"personalization", consent_state_name(event.consent->personalization)},
                    {"marketing", consent_state_name(event.consent->marketing)}};
  }
  if (event.context) {
    json context = json::object();
    if (!event.context->ip.empty()) context["ip"] = event.context->ip;
    if (!event.context->user_agent.empty()) context["user_agent"] = event.context->user_agent;
    j["context"] = std::move(context);
  }
  j["properties"] = event.properties;
  return j;
}

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_field(std::string& out, const char* key, std::string_view value, bool& first) {
  if (!first) out += ',';
  first = false;
  out += '"';
  out += key;
  out += "\":";
  append_json_string(out, value);
}

}  // namespace

std::string to_json_text(const Event& event) {
  // Written directly rather than through to_json(): the ingest hot path would otherwise
  // deep-copy `properties` into a temporary json object for every event. Same output as
  // to_json(event).dump() (keys in the same order as nlohmann's sorted objects).
  std::string out;
  out.reserve(256);
  out += '{';
  bool first = true;
  if (event.consent) {
    out += "\"consent\":{\"analytics\":\"";
    out += consent_state_name(event.consent->analytics);
    out += "\",\"marketing\":\"";
    out += consent_state_name(event.consent->marketing);
    out += "\",\"personalization\":\"";
    out += consent_state_name(event.consent->personalization);
    out += "\"}";
    first = false;
  }
  if (event.context) {
    if (!first) out += ',';
    first = false;
    out += "\"context\":{";
    bool inner_first = true;
    if (!event.context->ip.empty()) append_field(out, "ip", event.context->ip, inner_first);
    if (!event.context->user_agent.empty()) {
      append_field(out, "user_agent", event.context->user_agent, inner_first);
    }
    out += '}';
  }
  if (!event.event_id.empty()) append_field(out, "event_id", event.event_id, first);
  if (!event.identities.empty()) {
    if (!first) out += ',';
    first = false;
    out += "\"identities\":{";
    bool inner_first = true;
    for (const auto& [type, value] : event.identities) {
      append_field(out, type.c_str(), value, inner_first);
    }
    out += '}';
  }
  if (!first) out += ',';
  first = false;
  out += "\"occurred_at\":\"";
  append_rfc3339_ms(out, event.occurred_at);
  out += "\",\"properties\":";
  out += event.properties.dump(-1, ' ', false, json::error_handler_t::replace);
  if (event.received_at) {
    out += ",\"received_at\":\"";
    append_rfc3339_ms(out, *event.received_at);
    out += '"';
  }
  if (!event.schema.empty()) append_field(out, "schema", event.schema, first);
  out += ",\"source\":{";
  bool source_first = true;
  if (!event.source.agent_id.empty()) {
    append_field(out, "agent_id", event.source.agent_id, source_first);
  }
  append_field(out, "channel", channel_name(event.source.channel), source_first);
  if (!event.source.device_id.empty()) {
    append_field(out, "device_id", event.source.device_id, source_first);
  }
  append_field(out, "store_id", event.source.store_id, source_first);
  out += '}';
  append_field(out, "type", event.type, first);
  out += '}';
  return out;
}

}  // namespace aisle
