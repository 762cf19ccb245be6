// The collector's config: the documented example parses, and the privacy and profile sections
// reach the services with their defaults next to the store.
#include <catch2/catch.hpp>

#include "collector/collector_config.hpp"
#include "tests/support/temp_dir.hpp"

using namespace aisle;
using namespace aisle::collector;

namespace {

const std::string kMinimal = R"({
  "tenant": "acme",
  "store": {"path": "/var/lib/aisle-collector/collector.db"},
  "mqtt": {"uri": "ssl://broker:8883", "ca_file": "/pki/ca.crt",
           "cert_file": "/pki/c.crt", "key_file": "/pki/c.key"}
})";

}  // namespace

TEST_CASE("the documented example config parses", "[collector][config]") {
  const std::string path = std::string(AISLE_TEST_DATA_DIR) +
                           "/../../packaging/config/collector.example.json";
  auto config = load_collector_config(path);
  REQUIRE(config);
  CHECK(config->privacy.policy.without_analytics == NoConsentAction::kDrop);
  CHECK(config->privacy.policy.anonymous_properties.at("purchase").count("total") == 1);
  CHECK(config->profiles.rules.rule("user_id").max_per_profile == 1);
  CHECK(config->profiles.rules.rule("member_card").priority == 85);
  CHECK(config->audit_path == "/var/lib/aisle-collector/audit.log");
}

TEST_CASE("privacy and profile files default to the store's directory", "[collector][config]") {
  auto config = parse_collector_config(kMinimal, "test");
  REQUIRE(config);
  CHECK(config->profiles.path == "/var/lib/aisle-collector/profiles.db");
  CHECK(config->privacy.erasures_path == "/var/lib/aisle-collector/erasures.db");
  CHECK(config->audit_path == "/var/lib/aisle-collector/audit.log");
  CHECK(config->privacy.fleet_ca_file == "/pki/ca.crt");
  CHECK(config->privacy.policy.unknown_analytics_granted);
  CHECK(config->privacy.policy.always_keep_types.count("consent") == 1);
  // Standard rules unless configured.
  CHECK(config->profiles.rules.rule("session_id").links == false);
}

TEST_CASE("bad privacy and profile settings are refused with their path", "[collector][config]") {
  auto with = [](const std::string& section) {
    std::string text = kMinimal;
    text.insert(text.rfind('}'), "," + section);
    return parse_collector_config(text, "collector.json");
  };
  auto action = with(R"("privacy": {"without_analytics": "ignore"})");
  REQUIRE_FALSE(action);
  CHECK_THAT(action.error().message, Catch::Contains("/privacy/without_analytics"));
  auto limit = with(R"("profiles": {"identity_types": {"user_id": {"max_per_profile": -1}}})");
  REQUIRE_FALSE(limit);
  CHECK_THAT(limit.error().message, Catch::Contains("max_per_profile"));
  auto shared = with(R"("profiles": {"shared_after_user_ids": 0})");
  REQUIRE_FALSE(shared);
  CHECK_THAT(shared.error().message, Catch::Contains("shared_after_user_ids"));
}
