// decode_envelope: the strict envelope decoder of the canonical event, written once for every
// document representation it reads (event_json.cpp: nlohmann::json; event_simd.cpp: simdjson's
// DOM on the ingest hot path), so both give the same answers and the same errors.
//
// `Access` provides: Value; is_object, is_string, string (a string_view), type_name (as
// nlohmann names types), for_each_member(value, f(key, member&)); and take_properties(member,
// slot), which keeps the `properties` object in the caller's representation (not validated here).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/event.hpp"
#include "common/event_json.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"

namespace aisle::detail {

inline constexpr std::size_t kMaxIdentityValueBytes = 256;
inline constexpr std::size_t kMaxContextFieldBytes = 512;

class ErrorSink {
 public:
  explicit ErrorSink(std::vector<schema::ValidationError>& errors) : errors_(errors) {}
  void add(std::string path, const char* keyword, std::string message) {
    errors_.push_back(schema::ValidationError{std::move(path), keyword, "", std::move(message)});
    failed_ = true;
  }
  bool failed() const { return failed_; }

 private:
  std::vector<schema::ValidationError>& errors_;
  bool failed_ = false;
};

inline bool is_lower_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

inline bool is_type_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

inline std::string join_path(std::string_view prefix, std::string_view key) {
  std::string path;
  path.reserve(prefix.size() + key.size());
  path += prefix;
  path += key;
  return path;
}

template <class Access>
class EnvelopeDecoder {
 public:
  using Value = typename Access::Value;
  using PropertiesSlot = typename Access::PropertiesSlot;

  EnvelopeDecoder(std::vector<schema::ValidationError>& errors,
                  const EventDecodeOptions& options)
      : sink_(errors), options_(options) {}

  bool decode(Value& j, Event& out, PropertiesSlot& properties) {
    if (!Access::is_object(j)) {
      sink_.add("", "type",
                std::string("an event must be a JSON object but is ") + Access::type_name(j));
      return false;
    }
    bool has_type = false, has_occurred = false, has_source = false;
    Access::for_each_member(j, [&](std::string_view key, Value& value) {
      if (key == "event_id") {
        if (auto text = as_string(value, "/event_id")) {
          if (auto uuid = Uuid::parse(*text)) {
            out.event_id = uuid->to_string();
          } else {
            sink_.add("/event_id", "format", "must be a UUID (8-4-4-4-12 hex digits)");
          }
        }
      } else if (key == "type") {
        if (auto text = as_string(value, "/type")) {
          if (is_type_name(*text)) {
            out.type = *text;
            has_type = true;
          } else {
            sink_.add("/type", "pattern", "must match ^[a-z][a-z0-9_]{0,63}$");
          }
        }
      } else if (key == "schema") {
        if (auto text = as_string(value, "/schema")) {
          if (parse_schema_uri(*text)) {
            out.schema = *text;
          } else {
            sink_.add("/schema", "format",
                      "must be a schema URI like aisle/purchase/jsonschema/1-0-0 but is '" +
                          std::string(text->substr(0, 80)) + "'");
          }
        }
      } else if (key == "occurred_at") {
        if (auto ms = as_timestamp(value, "/occurred_at")) {
          out.occurred_at = *ms;
          has_occurred = true;
        }
      } else if (key == "received_at") {
        if (auto ms = as_timestamp(value, "/received_at")) out.received_at = *ms;
      } else if (key == "source") {
        has_source = true;
        decode_source(value, out.source);
      } else if (key == "identities") {
        decode_identities(value, out.identities);
      } else if (key == "consent") {
        decode_consent(value, out.consent.emplace());
      } else if (key == "consent_version") {
        if (auto version = Access::unsigned_integer(value)) {
          out.consent_version = *version;
        } else {
          sink_.add("/consent_version", "type",
                    std::string("must be a non-negative integer but is ") +
                        Access::type_name(value));
        }
      } else if (key == "context") {
        decode_context(value, out.context.emplace());
      } else if (key == "properties") {
        if (Access::is_object(value)) {
          Access::take_properties(value, properties);
        } else {
          sink_.add("/properties", "type",
                    std::string("must be an object but is ") + Access::type_name(value));
        }
      } else {
        sink_.add(join_path("/", key), "additionalProperties",
                  "unknown top-level field '" + std::string(key) +
                      "' (custom data belongs in 'properties', described by the event's schema)");
      }
    });
    if (!has_type) sink_.add("", "required", "missing property 'type'");
    if (!has_occurred) sink_.add("", "required", "missing property 'occurred_at'");
    if (!has_source) sink_.add("", "required", "missing property 'source'");
    if (options_.require_event_id && out.event_id.empty()) {
      sink_.add("", "required", "missing property 'event_id'");
    }
    if (options_.require_schema && out.schema.empty()) {
      sink_.add("", "required", "missing property 'schema'");
    }
    if (options_.require_received_at && !out.received_at) {
      sink_.add("", "required", "missing property 'received_at'");
    }
    if (has_type && !out.schema.empty()) {
      if (auto key = parse_schema_uri(out.schema); key && key->name != out.type) {
        sink_.add("/schema", "const",
                  "schema '" + out.schema + "' describes '" + key->name + "', not type '" +
                      out.type + "'");
      }
    }
    return !sink_.failed();
  }

 private:
  std::optional<std::string_view> as_string(const Value& value, std::string_view path) {
    if (!Access::is_string(value)) {
      sink_.add(std::string(path), "type",
                std::string("must be a string but is ") + Access::type_name(value));
      return std::nullopt;
    }
    return Access::string(value);
  }

  std::optional<UnixMillis> as_timestamp(const Value& value, std::string_view path) {
    const auto text = as_string(value, path);
    if (!text) return std::nullopt;
    auto ms = parse_rfc3339(*text);
    if (!ms) {
      sink_.add(std::string(path), "format",
                "must be an RFC 3339 date-time like 2026-11-28T13:11:25.123Z but is '" +
                    std::string(text->substr(0, 64)) + "'");
    }
    return ms;
  }

  bool require_object(Value& j, const char* path) {
    if (Access::is_object(j)) return true;
    sink_.add(path, "type", std::string("must be an object but is ") + Access::type_name(j));
    return false;
  }

  void decode_source(Value& j, EventSource& source) {
    if (!require_object(j, "/source")) return;
    bool has_store = false, has_channel = false;
    Access::for_each_member(j, [&](std::string_view key, Value& value) {
      if (key == "store_id" || key == "device_id" || key == "agent_id") {
        const std::string path = join_path("/source/", key);
        const auto text = as_string(value, path);
        if (!text) return;
        if (!is_valid_entity_id(*text)) {
          sink_.add(path, "pattern", "must be 1-64 characters of [A-Za-z0-9._:-]");
          return;
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
        const auto text = as_string(value, "/source/channel");
        if (!text) return;
        if (auto channel = parse_channel(*text)) {
          source.channel = *channel;
          has_channel = true;
        } else {
          sink_.add("/source/channel", "enum",
                    "must be one of web, mobile, kiosk, pos, sensor but is '" +
                        std::string(text->substr(0, 32)) + "'");
        }
      } else {
        sink_.add(join_path("/source/", key), "additionalProperties",
                  "unknown field '" + std::string(key) + "' in source");
      }
    });
    if (!has_store) sink_.add("/source", "required", "missing property 'store_id'");
    if (!has_channel) sink_.add("/source", "required", "missing property 'channel'");
  }

  void decode_identities(Value& j, std::map<std::string, std::string>& identities) {
    if (!require_object(j, "/identities")) return;
    Access::for_each_member(j, [&](std::string_view key, Value& value) {
      const std::string path = join_path("/identities/", key);
      const bool known =
          is_standard_identity_type(key) ||
          (options_.custom_identity_types && options_.custom_identity_types->count(key) > 0);
      if (!known) {
        sink_.add(path, "propertyNames",
                  "unknown identity type '" + std::string(key) +
                      "' (standard: anonymous_id, user_id, loyalty_id, email_sha256, "
                      "phone_sha256, device_id, session_id; others must be configured)");
        return;
      }
      const auto text = as_string(value, path);
      if (!text) return;
      if (text->empty() || text->size() > kMaxIdentityValueBytes) {
        sink_.add(path, "maxLength", "must be 1-256 bytes");
        return;
      }
      if ((key == "email_sha256" || key == "phone_sha256") && !is_lower_hex64(*text)) {
        sink_.add(path, "pattern", "must be 64 lowercase hex digits (a SHA-256 digest)");
        return;
      }
      // A repeated key: the last one wins, as in a nlohmann tree.
      identities.insert_or_assign(std::string(key), std::string(*text));
    });
  }

  void decode_consent(Value& j, ConsentFlags& consent) {
    if (!require_object(j, "/consent")) return;
    Access::for_each_member(j, [&](std::string_view key, Value& value) {
      const std::string path = join_path("/consent/", key);
      ConsentState* target = key == "analytics"         ? &consent.analytics
                             : key == "personalization" ? &consent.personalization
                             : key == "marketing"       ? &consent.marketing
                                                        : nullptr;
      if (!target) {
        sink_.add(path, "additionalProperties",
                  "unknown consent purpose '" + std::string(key) +
                      "' (purposes: analytics, personalization, marketing)");
        return;
      }
      const auto text = as_string(value, path);
      if (!text) return;
      if (auto state = parse_consent_state(*text)) {
        *target = *state;
      } else {
        sink_.add(path, "enum", "must be granted, denied or unknown");
      }
    });
  }

  void decode_context(Value& j, EventContext& context) {
    if (!require_object(j, "/context")) return;
    Access::for_each_member(j, [&](std::string_view key, Value& value) {
      const std::string path = join_path("/context/", key);
      std::string* target = key == "ip"           ? &context.ip
                            : key == "user_agent" ? &context.user_agent
                                                  : nullptr;
      if (!target) {
        sink_.add(path, "additionalProperties",
                  "unknown field '" + std::string(key) + "' in context");
        return;
      }
      const auto text = as_string(value, path);
      if (!text) return;
      if (text->size() > kMaxContextFieldBytes) {
        sink_.add(path, "maxLength", "must be at most 512 bytes");
        return;
      }
      *target = *text;
    });
  }

  ErrorSink sink_;
  const EventDecodeOptions& options_;
};

}  // namespace aisle::detail
