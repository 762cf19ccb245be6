#include "common/sim/sim_events.hpp"

#include "common/time_format.hpp"
#include "common/uuid.hpp"

namespace aisle::sim {

std::string sim_event_id(UnixMillis at, std::uint64_t a, std::uint64_t b) {
  return make_uuid_v7(at, static_cast<std::uint16_t>(a & 0xfff), b).to_string();
}

std::string sim_event_text(const std::string& type, const std::string& event_id, UnixMillis at,
                           const nlohmann::json& source, const nlohmann::json& identities,
                           const nlohmann::json& properties) {
  const nlohmann::json event = {
      {"event_id", event_id},
      {"type", type},
      {"schema", "aisle/" + type + "/jsonschema/1-0-0"},
      {"occurred_at", format_rfc3339_ms(at)},
      {"source", source},
      {"identities", identities},
      {"consent",
       {{"analytics", "granted"}, {"personalization", "granted"}, {"marketing", "denied"}}},
      {"properties", properties}};
  return event.dump();
}

}  // namespace aisle::sim
