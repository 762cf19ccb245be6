// The canonical event: what every producer's input becomes at the edge, and what travels from
// agent to collector. Its JSON form is documented in docs/events.md.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"

namespace aisle {

enum class Channel : std::uint8_t { kWeb, kMobile, kKiosk, kPos, kSensor };
const char* channel_name(Channel channel);
std::optional<Channel> parse_channel(std::string_view text);

enum class ConsentState : std::uint8_t { kUnknown, kGranted, kDenied };
const char* consent_state_name(ConsentState state);
std::optional<ConsentState> parse_consent_state(std::string_view text);

// Where the event came from. store_id and channel are always set; device_id identifies the
// producing device (kiosk, POS lane, sensor); agent_id is stamped by the agent that accepted it.
struct EventSource {
  std::string store_id;
  Channel channel = Channel::kWeb;
  std::string device_id;  // empty when unknown
  std::string agent_id;   // empty for events that did not pass through an agent (web)
  friend bool operator==(const EventSource&, const EventSource&) = default;
};

// Consent per purpose as the producer saw it when the event happened.
struct ConsentFlags {
  ConsentState analytics = ConsentState::kUnknown;
  ConsentState personalization = ConsentState::kUnknown;
  ConsentState marketing = ConsentState::kUnknown;
  friend bool operator==(const ConsentFlags&, const ConsentFlags&) = default;
};

// The identifier types every deployment knows. Deployments may add custom types (config).
inline constexpr std::array<std::string_view, 7> kStandardIdentityTypes = {
    "anonymous_id", "user_id", "loyalty_id", "email_sha256", "phone_sha256", "device_id",
    "session_id"};
bool is_standard_identity_type(std::string_view type);

// Optional request context captured by the producer or the ingesting HTTP endpoint.
struct EventContext {
  std::string ip;          // client IP (truncated by policy before it leaves the store)
  std::string user_agent;  // HTTP User-Agent of a web/mobile producer
  friend bool operator==(const EventContext&, const EventContext&) = default;
};

struct Event {
  std::string event_id;  // canonical lowercase UUID; UUIDv7 when generated at the edge
  std::string type;      // "purchase"; equals the name part of `schema`
  std::string schema;    // "aisle/purchase/jsonschema/1-0-0" (vendor/name/format/version)
  UnixMillis occurred_at = 0;                 // producer clock
  std::optional<UnixMillis> received_at;      // agent (or collector HTTP) clock; set at ingest
  EventSource source;
  std::map<std::string, std::string> identities;  // type -> value, e.g. "user_id" -> "u-17"
  std::optional<ConsentFlags> consent;            // absent when the producer said nothing
  // The collector's consent version the event was accepted under (stamped at ingest, by the
  // agent from its consent cache or by the collector's HTTP ingest); absent before stamping.
  std::optional<std::uint64_t> consent_version;
  std::optional<EventContext> context;
  nlohmann::json properties = nlohmann::json::object();  // validated by `schema`

  friend bool operator==(const Event&, const Event&) = default;
};

// The parts of a schema URI "vendor/name/jsonschema/M-R-A".
struct SchemaKey {
  std::string vendor;
  std::string name;
  int model = 0;     // breaking change
  int revision = 0;  // may break some historical data
  int addition = 0;  // compatible with all historical data
  std::string uri() const;
  friend auto operator<=>(const SchemaKey&, const SchemaKey&) = default;
};
// Parses "vendor/name/jsonschema/M-R-A"; nullopt when malformed.
std::optional<SchemaKey> parse_schema_uri(std::string_view uri);

}  // namespace aisle
