#include "common/event_json.hpp"

#include "common/event_decode.hpp"
#include "common/time_format.hpp"

namespace aisle {
namespace {

using nlohmann::json;
using schema::ValidationError;

// The envelope decoder's view of a nlohmann tree; `properties` is moved out of it.
struct JsonAccess {
  using Value = json;
  using PropertiesSlot = json;
  static bool is_object(const json& value) { return value.is_object(); }
  static bool is_string(const json& value) { return value.is_string(); }
  static std::string_view string(const json& value) {
    return *value.get_ptr<const json::string_t*>();
  }
  static const char* type_name(const json& value) { return value.type_name(); }
  static std::optional<std::uint64_t> unsigned_integer(const json& value) {
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
      return static_cast<std::uint64_t>(value.get<std::int64_t>());
    }
    return std::nullopt;
  }
  template <class F>
  static void for_each_member(json& value, F&& f) {
    for (auto& [key, member] : value.get_ref<json::object_t&>()) f(std::string_view(key), member);
  }
  static void take_properties(json& value, json& slot) { slot = std::move(value); }
};

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
  detail::EnvelopeDecoder<JsonAccess> decoder(errors, options);
  return decoder.decode(j, out, out.properties);
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
  if (event.consent_version) j["consent_version"] = *event.consent_version;
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
  return to_json_text(event, event.properties.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string to_json_text(const Event& event, std::string_view properties_json) {
  // Written directly rather than through to_json(): the ingest hot path would otherwise
  // deep-copy `properties` into a temporary json object for every event. Same output as
  // to_json(event).dump() (keys in the same order as nlohmann's sorted objects) when
  // `properties_json` is event.properties.dump().
  std::string out;
  out.reserve(256 + properties_json.size());
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
  if (event.consent_version) {
    if (!first) out += ',';
    first = false;
    out += "\"consent_version\":";
    out += std::to_string(*event.consent_version);
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
  out += properties_json;
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
