// EventValidator: raw record text -> a valid canonical Event, or every reason it is not.
//
// The one path every producer's input takes (agent HTTP, adapters, collector HTTP and batches,
// `aislectl schema check`): bounded parse, strict envelope decode, schema resolution, and
// validation of `properties` against the event's schema.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/event.hpp"
#include "common/event_json.hpp"
#include "common/json_text.hpp"
#include "common/schema/registry.hpp"

namespace aisle {

struct EventValidatorOptions {
  JsonLimits limits;  // per event: max_bytes (default 64 KiB) and nesting depth
  std::set<std::string, std::less<>> custom_identity_types;
  bool require_event_id = false;
  bool require_received_at = false;
  bool require_schema = false;
};

// Thread-safe: the registry snapshot is taken per call.
class EventValidator {
 public:
  EventValidator(std::shared_ptr<schema::RegistryHolder> registry, EventValidatorOptions options);

  // Parses, decodes and validates one record. On success `out` is the event with `schema` filled
  // in (latest version of its type when the producer gave none). On failure, returns false and
  // appends every error. `errors` gets a single "parse" error for malformed JSON.
  bool check_text(std::string_view raw, Event& out,
                  std::vector<schema::ValidationError>& errors) const;
  bool check_json(nlohmann::json&& json, Event& out,
                  std::vector<schema::ValidationError>& errors) const;

  // Validates an already-decoded event's properties against its schema (filling `schema`).
  bool check_properties(Event& event, std::vector<schema::ValidationError>& errors) const;

  // The ingest hot path (agent HTTP and the collector's batches): check_text's answer and
  // errors, without building a nlohmann tree. On success `out.properties` is left empty and, when
  // `properties_json` is not null, the properties come back as compact JSON text (member order as
  // sent) for to_json_text(out, *properties_json). Parses with simdjson; whatever it cannot
  // decide (an invalid event, a limit, a number simdjson refuses, a schema keyword it leaves
  // undecided) goes through check_text, which is authoritative.
  bool check_record(std::string_view raw, Event& out, std::string* properties_json,
                    std::vector<schema::ValidationError>& errors) const;

  const EventValidatorOptions& options() const { return options_; }
  std::shared_ptr<schema::RegistryHolder> registry() const { return registry_; }

 private:
  // The schema an event names (or the latest for its type, filling event.schema); nullptr with
  // an error when there is none.
  const schema::LoadedSchema* schema_for(const schema::Registry& registry, Event& event,
                                         std::vector<schema::ValidationError>& errors) const;
  // check_record's answer from simdjson; false means "not decided here".
  bool check_record_fast(std::string_view raw, Event& out, std::string* properties_json) const;

  std::shared_ptr<schema::RegistryHolder> registry_;
  EventValidatorOptions options_;
  EventDecodeOptions decode_options_;
};

// "/properties/items/0/sku: required: missing property 'sku'; /type: ..." — compact, for logs.
std::string join_errors(const std::vector<schema::ValidationError>& errors,
                        std::size_t max_errors = 20);
nlohmann::json errors_to_json(const std::vector<schema::ValidationError>& errors);

// The class of a rejection, for metrics and quarantine reasons: "parse" (not JSON), "envelope"
// (the canonical fields) or "schema" (properties, or no schema for the type).
std::string rejection_class(const std::vector<schema::ValidationError>& errors);

}  // namespace aisle
