#include "common/event_validator.hpp"

namespace aisle {

EventValidator::EventValidator(std::shared_ptr<schema::RegistryHolder> registry,
                               EventValidatorOptions options)
    : registry_(std::move(registry)), options_(std::move(options)) {
  decode_options_.custom_identity_types = &options_.custom_identity_types;
  decode_options_.require_event_id = options_.require_event_id;
  decode_options_.require_received_at = options_.require_received_at;
  decode_options_.require_schema = options_.require_schema;
}

bool EventValidator::check_text(std::string_view raw, Event& out,
                                std::vector<schema::ValidationError>& errors) const {
  auto parsed = parse_json(raw, options_.limits);
  if (!parsed) {
    errors.push_back({"", "parse", "", parsed.error().message});
    return false;
  }
  return check_json(std::move(*parsed), out, errors);
}

bool EventValidator::check_json(nlohmann::json&& json, Event& out,
                                std::vector<schema::ValidationError>& errors) const {
  if (!decode_event(std::move(json), out, errors, decode_options_)) return false;
  return check_properties(out, errors);
}

const schema::LoadedSchema* EventValidator::schema_for(
    const schema::Registry& registry, Event& event,
    std::vector<schema::ValidationError>& errors) const {
  if (event.schema.empty()) {
    const schema::LoadedSchema* schema = registry.latest_for_type(event.type);
    if (!schema) {
      errors.push_back({"/type", "schema", "",
                        "no schema is registered for event type '" + event.type + "'"});
      return nullptr;
    }
    event.schema = schema->uri;
    return schema;
  }
  const schema::LoadedSchema* schema = registry.find(event.schema);
  if (!schema) {
    errors.push_back({"/schema", "schema", "", "schema '" + event.schema + "' is not registered"});
  }
  return schema;
}

bool EventValidator::check_properties(Event& event,
                                      std::vector<schema::ValidationError>& errors) const {
  const auto registry = registry_->current();
  const schema::LoadedSchema* schema = schema_for(*registry, event, errors);
  if (!schema) return false;
  if (schema->compiled->validate(event.properties, nullptr)) return true;
  // Slow path only for invalid events: collect every error with full paths.
  std::vector<schema::ValidationError> property_errors;
  schema->compiled->validate(event.properties, &property_errors);
  for (auto& e : property_errors) {
    e.instance_path = "/properties" + e.instance_path;
    errors.push_back(std::move(e));
  }
  return false;
}

std::string join_errors(const std::vector<schema::ValidationError>& errors,
                        std::size_t max_errors) {
  std::string out;
  for (std::size_t i = 0; i < errors.size() && i < max_errors; ++i) {
    if (i) out += "; ";
    out += schema::to_string(errors[i]);
  }
  if (errors.size() > max_errors) {
    out += "; ... " + std::to_string(errors.size() - max_errors) + " more";
  }
  return out;
}

nlohmann::json errors_to_json(const std::vector<schema::ValidationError>& errors) {
  auto out = nlohmann::json::array();
  for (const auto& e : errors) {
    nlohmann::json item = {{"path", e.instance_path}, {"keyword", e.keyword},
                           {"message", e.message}};
    if (!e.schema_path.empty()) item["schema_path"] = e.schema_path;
    out.push_back(std::move(item));
  }
  return out;
}

std::string rejection_class(const std::vector<schema::ValidationError>& errors) {
  for (const auto& e : errors) {
    if (e.keyword == "parse") return "parse";
  }
  for (const auto& e : errors) {
    if (e.instance_path.rfind("/properties", 0) != 0 && e.keyword != "schema") return "envelope";
  }
  return "schema";
}

}  // namespace aisle
