#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "collector/api/model_api.hpp"
#include "collector/segments/learned/propensity_model.hpp"
#include "common/crypto.hpp"
#include "common/metrics.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

constexpr UnixMillis kT0 = 1'760'000'000'000;

Event make_event(const std::string& type, UnixMillis at, const std::string& store,
                 json properties = json::object()) {
  Event e;
  e.event_id = "e";
  e.type = type;
  e.schema = "aisle/" + type + "/jsonschema/1-0-0";
  e.occurred_at = at;
  e.source.store_id = store;
  e.source.channel = Channel::kKiosk;
  e.properties = std::move(properties);
  return e;
}

json sale() {
  return {{"order_id", "o"},
          {"transaction_type", "sale"},
          {"total", 20},
          {"currency", "EUR"},
          {"items", json::array({{{"sku", "A"}, {"quantity", 1}, {"unit_price", 20}}})}};
}

std::unique_ptr<PropensityModel> open_model(const std::string& dir, metrics::Registry& metrics,
                                            ClockPtr clock) {
  PropensityOptions options;
  options.models_dir = dir;
  options.hash_bits = 12;
  options.save_interval_ms = 0;
  DriftOptions drift;
  drift.enabled = false;
  auto model = PropensityModel::open(options, drift, std::move(clock), metrics);
  REQUIRE(model.ok());
  return std::move(*model);
}

// `n` sessions in `store` that all end with a purchase: the store's weight grows positive.
void train_buyers(PropensityModel& model, const std::string& store, int n, UnixMillis& t) {
  for (int k = 0; k < n; ++k) {
    const std::string profile = store + "-" + std::to_string(k);
    Event view = make_event("product_view", t, store, {{"sku", "A"}});
    model.observe({&view, profile});
    Event buy = make_event("purchase", t + 1000, store, sale());
    model.observe({&buy, profile});
    t += 2000;
  }
}

// `n` sessions in `store` that end without a purchase: the store's weight grows negative.
void train_browsers(PropensityModel& model, const std::string& store, int n, UnixMillis& t) {
  for (int k = 0; k < n; ++k) {
    const std::string profile = store + "-browser-" + std::to_string(k);
    Event view = make_event("product_view", t, store, {{"sku", "A"}});
    model.observe({&view, profile});
    Event end =
        make_event("session_end", t + 1000, store, {{"duration_seconds", 1}, {"event_count", 2}});
    model.observe({&end, profile});
    t += 2000;
  }
}

double probe(PropensityModel& model, const std::string& store, UnixMillis t) {
  const std::string profile = "probe-" + std::to_string(t);
  Event view = make_event("product_view", t, store, {{"sku", "A"}});
  model.observe({&view, profile});
  const auto s = model.score(kPurchasePropensity, profile);
  REQUIRE(s.has_value());
  model.forget(profile);
  return *s;
}

TEST_CASE("propensity weights survive a save and a restart", "[collector][propensity]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  UnixMillis t = kT0;
  double trained_score = 0;
  {
    auto model = open_model(dir.path().string(), metrics, clock);
    train_buyers(*model, "store-1", 50, t);
    trained_score = probe(*model, "store-1", t);
    CHECK(trained_score > 0.7);
    model->stop();  // saves v1 (unsaved examples)
    CHECK(std::filesystem::exists(dir.path() / "purchase_propensity" / "v1.json"));
    CHECK(std::filesystem::exists(dir.path() / "purchase_propensity" / "v1.meta.json"));
  }
  metrics::Registry metrics2;
  auto reopened = open_model(dir.path().string(), metrics2, clock);
  CHECK(reopened->describe()["version"] == 1);
  CHECK(reopened->describe()["examples"] == 50);
  CHECK(probe(*reopened, "store-1", t) == Approx(trained_score).epsilon(1e-6));
  // Nothing new: stop does not write another version.
  reopened->stop();
  CHECK_FALSE(std::filesystem::exists(dir.path() / "purchase_propensity" / "v2.json"));
}

TEST_CASE("a model saved with other hash_bits is refused at open", "[collector][propensity]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  UnixMillis t = kT0;
  {
    auto model = open_model(dir.path().string(), metrics, clock);
    train_buyers(*model, "store-1", 2, t);
    REQUIRE(model->save().ok());
  }
  PropensityOptions options;
  options.models_dir = dir.path().string();
  options.hash_bits = 14;
  auto refused = PropensityModel::open(options, DriftOptions{}, clock, metrics);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kFailedPrecondition);
  CHECK(refused.error().message.find("v1.json") != std::string::npos);
  CHECK(refused.error().message.find("hash_bits 12") != std::string::npos);
}

TEST_CASE("rollback restores a saved version and records it as a new one",
          "[collector][propensity]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  auto model = open_model(dir.path().string(), metrics, clock);
  UnixMillis t = kT0;
  train_buyers(*model, "store-1", 20, t);
  REQUIRE(model->save().value() == 1);
  const double v1_score = probe(*model, "store-2", t);
  train_browsers(*model, "store-2", 40, t);
  REQUIRE(model->save().value() == 2);
  const double v2_score = probe(*model, "store-2", t);
  CHECK(v2_score < v1_score - 0.1);

  auto rolled = model->rollback(1);
  REQUIRE(rolled.ok());
  CHECK((*rolled)["version"] == 3);
  CHECK((*rolled)["examples"] == 20);
  CHECK(probe(*model, "store-2", t) == Approx(v1_score).epsilon(1e-6));
  auto versions = model->versions();
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 3);
  CHECK((*versions)[2]["version"] == 3);
  CHECK((*versions)[2]["parent"] == 1);
  CHECK((*versions)[1]["examples"] == 60);

  auto missing = model->rollback(9);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
}

TEST_CASE("model versions beyond max_versions are deleted", "[collector][propensity]") {
  test::TempDir dir;
  auto versions = ModelVersions::open(dir.path() / "m", 2);
  REQUIRE(versions.ok());
  for (std::uint32_t k = 1; k <= 4; ++k) {
    REQUIRE(versions->save({{"n", k}}, {{"body", k}}).value() == k);
  }
  auto listed = versions->list();
  REQUIRE(listed.ok());
  CHECK(*listed == std::vector<std::uint32_t>{3, 4});
  auto loaded = versions->load(4);
  REQUIRE(loaded.ok());
  CHECK((*loaded)["body"] == 4);
  CHECK((*loaded)["meta"]["version"] == 4);
  CHECK(versions->load(1).error().code == ErrorCode::kNotFound);
  // Reopening continues the numbering.
  auto again = ModelVersions::open(dir.path() / "m", 2);
  REQUIRE(again.ok());
  CHECK(again->latest() == 4);
  test::write_file(dir.path() / "m" / "v5.json", "{not json");
  auto reopened = ModelVersions::open(dir.path() / "m", 2);
  REQUIRE(reopened.ok());
  CHECK(reopened->load(5).error().code == ErrorCode::kDataLoss);
}

TEST_CASE("model API lists models, shows versions and rolls back with an admin key",
          "[collector][propensity][api]") {
  const std::string read_key = "read-key-0123456789";
  const std::string admin_key = "admin-key-0123456789";
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  auto model = open_model(dir.path().string(), metrics, clock);
  UnixMillis t = kT0;
  train_buyers(*model, "store-1", 5, t);
  REQUIRE(model->save().ok());
  train_buyers(*model, "store-1", 5, t);
  REQUIRE(model->save().ok());

  ApiKeys keys({}, {ApiKey{"reader", crypto::sha256_hex(read_key), "read", ""},
                    ApiKey{"ops", crypto::sha256_hex(admin_key), "admin", ""}});
  std::vector<json> audits;
  http::HttpServer server(http::ServerOptions{}, metrics, "collector");
  ModelApiContext context{{model.get()}, keys, metrics};
  context.audit = [&audits](const std::string& actor, const std::string& action,
                            const std::string& target, const json& details) {
    audits.push_back(
        {{"actor", actor}, {"action", action}, {"target", target}, {"details", details}});
  };
  register_model_api(server, std::move(context));
  REQUIRE(server.start().ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  test::HttpClient reader(base, read_key);
  test::HttpClient admin(base, admin_key);

  CHECK(test::HttpClient(base).get("/v1/models").status == 401);
  auto list = reader.get("/v1/models");
  REQUIRE(list.status == 200);
  REQUIRE(list.json()["models"].size() == 1);
  CHECK(list.json()["models"][0]["name"] == "purchase_propensity");
  CHECK(list.json()["models"][0]["version"] == 2);
  CHECK(list.json()["models"][0]["examples"] == 10);
  CHECK(list.json()["models"][0].contains("auc"));
  CHECK(list.json()["models"][0].contains("log_loss"));

  auto one = reader.get("/v1/models/purchase_propensity");
  REQUIRE(one.status == 200);
  CHECK(one.json()["versions"].size() == 2);
  CHECK(one.json()["versions"][0]["examples"] == 5);
  CHECK(reader.get("/v1/models/no_such_model").status == 404);

  CHECK(reader.post("/v1/models/purchase_propensity/rollback", R"({"version":1})").status == 401);
  auto bad = admin.post("/v1/models/purchase_propensity/rollback", R"({"version":"one"})");
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"] == "version must be an integer >= 1");
  CHECK(admin.post("/v1/models/purchase_propensity/rollback", "{").status == 400);
  CHECK(admin.post("/v1/models/purchase_propensity/rollback", R"({"version":7})").status == 404);
  auto rolled = admin.post("/v1/models/purchase_propensity/rollback", R"({"version":1})");
  REQUIRE(rolled.status == 200);
  CHECK(rolled.json()["version"] == 3);
  CHECK(rolled.json()["examples"] == 5);
  REQUIRE(audits.size() == 1);
  CHECK(audits[0]["actor"] == "ops");
  CHECK(audits[0]["action"] == "model.rollback");
  CHECK(audits[0]["details"]["version"] == 1);
  CHECK(metrics.value("aisle_collector_model_api_bad_requests_total") == 2);
  server.stop();
}

}  // namespace
}  // namespace aisle::collector::segments
