// libFuzzer target: the ingest parsers an HTTP body goes through — body framing
// (split_records, both formats), bounded JSON parsing, the strict envelope decoder and schema
// validation against the real registry (EventValidator), RFC 3339 and UUID parsing, and the
// canonical serializer of whatever was accepted (which must parse back to an equal event), and
// the simdjson hot path (check_record), which must agree with check_text on everything.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/event_json.hpp"
#include "common/event_validator.hpp"
#include "common/json_text.hpp"
#include "common/schema/registry.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"

namespace {

const aisle::EventValidator& validator() {
  static const auto* instance = [] {
    auto registry = aisle::schema::Registry::load({AISLE_SCHEMAS_SOURCE_DIR});
    if (!registry) std::abort();
    return new aisle::EventValidator(
        std::make_shared<aisle::schema::RegistryHolder>(*registry), {});
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)aisle::parse_rfc3339(body.substr(0, 64));
  (void)aisle::Uuid::parse(body.substr(0, 36));
  for (const auto format : {aisle::BodyFormat::kAuto, aisle::BodyFormat::kNdjson}) {
    auto records = aisle::split_records(body, format);
    if (!records) continue;
    for (const auto& record : *records) {
      if (record.text.data() < body.data() ||
          record.text.data() + record.text.size() > body.data() + body.size()) {
        std::abort();  // a record must be a view into the body
      }
      aisle::Event event;
      std::vector<aisle::schema::ValidationError> errors;
      const bool accepted = validator().check_text(record.text, event, errors);
      // The simdjson hot path gives the same answer, event and errors as check_text.
      aisle::Event fast;
      std::string fast_properties;
      std::vector<aisle::schema::ValidationError> fast_errors;
      if (validator().check_record(record.text, fast, &fast_properties, fast_errors) != accepted) {
        std::abort();
      }
      if (accepted) {
        fast.properties = nlohmann::json::parse(fast_properties);
        if (!(fast == event)) std::abort();
      } else if (fast_errors.size() != errors.size()) {
        std::abort();
      }
      if (accepted) {
        // Accepted events serialize to canonical JSON that decodes to the same event.
        aisle::Event again;
        std::vector<aisle::schema::ValidationError> again_errors;
        if (!validator().check_text(aisle::to_json_text(event), again, again_errors) ||
            !(again == event)) {
          std::abort();
        }
      } else if (errors.empty()) {
        std::abort();  // a rejection always says why
      }
    }
  }
  return 0;
}
