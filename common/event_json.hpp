// JSON form of the canonical event (docs/events.md). Decoding is strict: unknown top-level
// fields, wrong types, malformed ids and timestamps are errors that name the field's JSON Pointer.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/event.hpp"
#include "common/schema/validator.hpp"

namespace aisle {

struct EventDecodeOptions {
  // Identity types accepted besides the standard ones (from the deployment's config).
  const std::set<std::string, std::less<>>* custom_identity_types = nullptr;
  // The edge fills these when missing; further downstream they are required.
  bool require_event_id = false;
  bool require_schema = false;
  bool require_received_at = false;
};

// Decodes `json` into `out`. Returns false and appends to `errors` (keyword names the rule that
// failed: "required", "type", "format", "pattern", "additionalProperties", "enum") when the
// envelope is invalid; `properties` is moved out of `json`, not validated here.
bool decode_event(nlohmann::json&& json, Event& out,
                  std::vector<schema::ValidationError>& errors,
                  const EventDecodeOptions& options = {});

nlohmann::json to_json(const Event& event);
// Compact JSON text of the event (what the outbox stores and batches carry).
std::string to_json_text(const Event& event);
// The same with `properties` given as compact JSON text (EventValidator::check_record), which
// replaces event.properties.
std::string to_json_text(const Event& event, std::string_view properties_json);

// Valid store_id / agent_id / device_id: 1..64 of [A-Za-z0-9._:-] (they appear in MQTT topics,
// so '/', '+', '#' and spaces are excluded).
bool is_valid_entity_id(std::string_view id);

}  // namespace aisle
