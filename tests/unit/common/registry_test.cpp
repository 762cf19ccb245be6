#include "common/schema/registry.hpp"

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.hpp"

using aisle::schema::Registry;
using aisle::schema::RegistryHolder;
using aisle::test::TempDir;
using aisle::test::write_file;

namespace {

const char* kObject = R"({"type":"object","properties":{"n":{"type":"integer"}}})";

}  // namespace

TEST_CASE("schemas load from an Iglu-style tree and the newest version is the default",
          "[common][registry]") {
  TempDir dir;
  write_file(dir.path() / "aisle/loyalty_scan/jsonschema/1-0-0.json", kObject);
  write_file(dir.path() / "aisle/loyalty_scan/jsonschema/1-1-0.json", kObject);
  write_file(dir.path() / "acme/loyalty_scan/jsonschema/3-0-0.json", kObject);
  write_file(dir.path() / "examples/loyalty_scan.json", "{\"not\": \"a schema\"}");
  auto registry = Registry::load({dir.path().string()});
  REQUIRE(registry);
  CHECK((*registry)->size() == 3);
  CHECK((*registry)->find("aisle/loyalty_scan/jsonschema/1-0-0"));
  CHECK((*registry)->latest_for_type("loyalty_scan")->uri == "aisle/loyalty_scan/jsonschema/1-1-0");
  CHECK_FALSE((*registry)->latest_for_type("unknown"));
}

TEST_CASE("schemas may reference each other in either load order", "[common][registry]") {
  TempDir dir;
  write_file(dir.path() / "acme/a_first/jsonschema/1-0-0.json",
             R"({"$ref":"https://schemas.aisle.dev/zeta/money/jsonschema/1-0-0#/$defs/amount"})");
  write_file(dir.path() / "zeta/money/jsonschema/1-0-0.json",
             R"({"$defs":{"amount":{"type":"number","minimum":0}},"type":"object"})");
  write_file(dir.path() / "zeta/z_last/jsonschema/1-0-0.json",
             R"({"$ref":"https://schemas.aisle.dev/acme/a_first/jsonschema/1-0-0"})");
  auto registry = Registry::load({dir.path().string()});
  REQUIRE(registry);
  const auto* first = (*registry)->find("acme/a_first/jsonschema/1-0-0");
  REQUIRE(first);
  CHECK(first->compiled->validate(nlohmann::json(3)));
  CHECK_FALSE(first->compiled->validate(nlohmann::json(-1)));
  CHECK((*registry)->find("zeta/z_last/jsonschema/1-0-0")->compiled->validate(nlohmann::json(2)));
}

TEST_CASE("every file that fails to load is named with its reason", "[common][registry]") {
  TempDir dir;
  write_file(dir.path() / "aisle/good/jsonschema/1-0-0.json", kObject);
  write_file(dir.path() / "aisle/typo/jsonschema/1-0.json", kObject);
  write_file(dir.path() / "aisle/broken/jsonschema/1-0-0.json", "{\"type\": ");
  write_file(dir.path() / "aisle/unknown_kw/jsonschema/1-0-0.json", R"({"typo_keyword": 1})");
  auto registry = Registry::load({dir.path().string()});
  REQUIRE_FALSE(registry);
  const std::string& message = registry.error().message;
  CHECK_THAT(message, Catch::Contains("typo/jsonschema/1-0.json: not at"));
  CHECK_THAT(message, Catch::Contains("broken/jsonschema/1-0-0.json: "));
  CHECK_THAT(message, Catch::Contains("unknown_kw/jsonschema/1-0-0.json: "));
  CHECK_THAT(message, Catch::Contains("typo_keyword"));
}

TEST_CASE("a URI defined in two directories is refused", "[common][registry]") {
  TempDir a, b;
  write_file(a.path() / "aisle/x/jsonschema/1-0-0.json", kObject);
  write_file(b.path() / "aisle/x/jsonschema/1-0-0.json", kObject);
  auto registry = Registry::load({a.path().string(), b.path().string()});
  REQUIRE_FALSE(registry);
  CHECK_THAT(registry.error().message, Catch::Contains("is already defined by"));
}

TEST_CASE("a failed reload keeps the previous schemas active", "[common][registry]") {
  TempDir dir;
  write_file(dir.path() / "aisle/x/jsonschema/1-0-0.json", kObject);
  auto initial = Registry::load({dir.path().string()});
  REQUIRE(initial);
  RegistryHolder holder(*initial, {dir.path().string()});
  write_file(dir.path() / "aisle/x/jsonschema/1-0-1.json", kObject);
  REQUIRE(holder.reload());
  CHECK(holder.current()->size() == 2);
  write_file(dir.path() / "aisle/x/jsonschema/1-0-2.json", "{ not json");
  auto status = holder.reload();
  REQUIRE_FALSE(status);
  CHECK_THAT(status.error().message, Catch::Contains("1-0-2.json"));
  CHECK(holder.current()->size() == 2);
  CHECK(holder.current()->latest_for_type("x")->uri == "aisle/x/jsonschema/1-0-1");
}
