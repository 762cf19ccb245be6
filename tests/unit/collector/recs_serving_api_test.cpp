#include "collector/api/recs_api.hpp"

#include <catch2/catch.hpp>

#include "common/crypto.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/collector/recs_serving_fakes.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;
using recs::fakes::TableSource;

constexpr UnixMillis kT0 = 1'760'000'000'000;
const std::string kReadKey = "read-key-0123456789";
const std::string kAdminKey = "admin-key-0123456789";
const std::string kStoreKey = "store-s1-key-0123456789";
const std::string kAnyStoreKey = "any-store-key-0123456789";
const std::string kAlice = "018bcfe5-6800-7000-8000-00000000000a";

class RecsApiFixture {
 public:
  RecsApiFixture()
      : keys_({ApiKey{"agent-s1", crypto::sha256_hex(kStoreKey), "", "s1"},
               ApiKey{"web", crypto::sha256_hex(kAnyStoreKey), "", ""}},
              {ApiKey{"reader", crypto::sha256_hex(kReadKey), "read", ""},
               ApiKey{"ops", crypto::sha256_hex(kAdminKey), "admin", ""}}) {
    recs::RecsOptions options;
    options.strategies = {{"knn_only", {{"item_knn", 1}}}, {"pop_only", {{"popularity", 1}}}};
    options.default_strategy = "knn_only";
    options.experiments_path = dir_.file("experiments.json");
    knn_->by_item["a"] = {{"b", 0.9}, {"c", 0.5}};
    popularity_->by_store["s1"] = {{"p1", 10}, {"p2", 8}};
    service_ = std::make_unique<recs::RecommendationService>(
        options, std::vector<std::shared_ptr<recs::CandidateSource>>{knn_, popularity_}, nullptr,
        [](const std::string& id) -> std::optional<ConsentFlags> {
          ConsentFlags flags;
          if (id == kAlice) flags.personalization = ConsentState::kGranted;
          return flags;
        },
        clock_, metrics_, 3);
    server_ = std::make_unique<http::HttpServer>(http::ServerOptions{}, metrics_, "collector");
    RecsApiContext context{*service_, keys_, metrics_,
                           [](std::string_view type, std::string_view value)
                               -> std::optional<std::string> {
                             if (type == "user_id" && value == "alice") return kAlice;
                             return std::nullopt;
                           }};
    context.audit = [this](const std::string& actor, const std::string& action,
                           const std::string& target, const json&) {
      audits.push_back(actor + " " + action + " " + target);
    };
    register_recs_api(*server_, std::move(context));
    REQUIRE(server_->start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  ~RecsApiFixture() { server_->stop(); }

  test::HttpClient client(const std::string& key) const { return test::HttpClient(base_, key); }
  recs::RecommendationService& service() { return *service_; }
  std::vector<std::string> audits;

 private:
  test::TempDir dir_{"aisle-recs-api"};
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics_;
  ApiKeys keys_;
  std::shared_ptr<TableSource> knn_ = std::make_shared<TableSource>("item_knn");
  std::shared_ptr<TableSource> popularity_ = std::make_shared<TableSource>("popularity");
  std::unique_ptr<recs::RecommendationService> service_;
  std::unique_ptr<http::HttpServer> server_;
  std::string base_;
};

TEST_CASE("recs API: recommendations by identity, personalized from the session",
          "[collector][recs][api]") {
  RecsApiFixture f;
  Event view = recs::fakes::commerce_event(1, "product_view", kT0, {{"sku", "a"}});
  f.service().on_events({profiles::ProfiledEvent{&view, kAlice}});

  auto r = f.client(kStoreKey).get(
      "/v1/recommendations?identity=user_id:alice&store=s1&context_item=a&placement=pdp&n=3");
  REQUIRE(r.status == 200);
  const json body = r.json();
  CHECK(body["mode"] == "personalized");
  CHECK(body["strategy"] == "knn_only");
  CHECK(body["placement"] == "pdp");
  CHECK(body["rec_id"].get<std::string>().size() == 36);
  REQUIRE(body["items"].size() == 3);
  CHECK(body["items"][0] == json({{"sku", "b"}, {"score", 1.0}, {"source", "item_knn"}}));
  CHECK(body["items"][2]["sku"] == "p1");

  // An identifier no profile has is an anonymous shopper: popular items.
  auto anonymous =
      f.client(kAnyStoreKey).get("/v1/recommendations?identity=user_id:nobody&store=s1&n=2");
  REQUIRE(anonymous.status == 200);
  CHECK(anonymous.json()["mode"] == "popular");
  CHECK(anonymous.json()["items"].size() == 2);
}

TEST_CASE("recs API: parameters are checked and store-bound keys stay in their store",
          "[collector][recs][api]") {
  RecsApiFixture f;
  auto c = f.client(kStoreKey);
  CHECK(f.client("").get("/v1/recommendations?store=s1").status == 401);
  CHECK(f.client(kAdminKey).get("/v1/recommendations?store=s2").status == 200);
  auto other_store = c.get("/v1/recommendations?store=s2");
  CHECK(other_store.status == 403);
  CHECK(other_store.json()["error"] == "this key may only ask for store s1");
  CHECK(c.get("/v1/recommendations?store=s1&n=0").json()["error"] == "n must be an integer 1..100");
  CHECK(c.get("/v1/recommendations?store=s1&n=abc").status == 400);
  CHECK(c.get("/v1/recommendations?store=s1&identity=nocolon").json()["error"] ==
        "query parameter identity must be <type>:<value>");
  CHECK(c.get("/v1/recommendations?store=s1&placement=Bad%20Place").status == 400);
  CHECK(c.get("/v1/recommendations?store=s1&profile=x&identity=user_id:alice").status == 400);
}

TEST_CASE("recs API: stats count impressions and attributed clicks per placement",
          "[collector][recs][api]") {
  RecsApiFixture f;
  auto r = f.client(kStoreKey).get("/v1/recommendations?profile=" + kAlice +
                                   "&store=s1&placement=kiosk_home&n=2");
  REQUIRE(r.status == 200);
  Event click = recs::fakes::commerce_event(
      2, "click", kT0 + 5, {{"target", "rec"}, {"rec_id", r.json()["rec_id"]}});
  f.service().on_events({profiles::ProfiledEvent{&click, kAlice}});
  CHECK(f.client(kStoreKey).get("/v1/recommendations/stats").status == 401);
  auto stats = f.client(kReadKey).get("/v1/recommendations/stats");
  REQUIRE(stats.status == 200);
  const json placements = stats.json()["placements"];
  REQUIRE(placements.size() == 1);
  CHECK(placements[0]["placement"] == "kiosk_home");
  CHECK(placements[0]["impressions"] == 1);
  CHECK(placements[0]["clicks"] == 1);
  CHECK(placements[0]["ctr"] == 1.0);
}

TEST_CASE("recs API: experiments are set, read with stats, and deleted",
          "[collector][recs][api]") {
  RecsApiFixture f;
  const std::string body =
      R"({"id":"exp-1","kind":"ab","arms":[{"strategy":"knn_only","weight":1},"pop_only"]})";
  CHECK(f.client(kReadKey).request("PUT", "/v1/experiments/pdp", body, "application/json", {})
            .status == 401);
  auto put = f.client(kAdminKey).request("PUT", "/v1/experiments/pdp", body, "application/json",
                                         {});
  REQUIRE(put.status == 200);
  CHECK(put.json()["arms"].size() == 2);
  auto bad = f.client(kAdminKey).request(
      "PUT", "/v1/experiments/pdp", R"({"id":"e","arms":["knn_only","nope"]})",
      "application/json", {});
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"] == "experiment.arms[1].strategy: unknown strategy \"nope\"");

  auto rec = f.client(kStoreKey).get("/v1/recommendations?profile=" + kAlice +
                                     "&store=s1&placement=pdp");
  REQUIRE(rec.status == 200);
  CHECK(rec.json()["experiment"]["id"] == "exp-1");

  auto got = f.client(kReadKey).get("/v1/experiments/pdp");
  REQUIRE(got.status == 200);
  const json arms = got.json()["stats"];
  CHECK(arms[0]["exposures"].get<int>() + arms[1]["exposures"].get<int>() == 1);
  CHECK(arms[0].contains("ctr_ci95"));
  CHECK(f.client(kReadKey).get("/v1/experiments").json()["experiments"].contains("pdp"));

  CHECK(f.client(kAdminKey).request("DELETE", "/v1/experiments/pdp", "", "", {}).status == 200);
  CHECK(f.client(kReadKey).get("/v1/experiments/pdp").status == 404);
  CHECK(f.audits == std::vector<std::string>{"ops experiment.set pdp", "ops experiment.delete pdp"});
}

TEST_CASE("recs API: the store snapshot for the store's agent", "[collector][recs][api]") {
  RecsApiFixture f;
  auto r = f.client(kStoreKey).get("/v1/recs/snapshot?store=s1");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == std::string(wire::kRecSnapshotContentType));
  auto snapshot = wire::decode_rec_snapshot(r.body);
  REQUIRE(snapshot.ok());
  CHECK(snapshot->store_id == "s1");
  REQUIRE(snapshot->popularity.size() == 2);
  CHECK(snapshot->popularity[0].sku == "p1");
  CHECK(f.client(kStoreKey).get("/v1/recs/snapshot?store=s2").status == 403);
  CHECK(f.client(kStoreKey).get("/v1/recs/snapshot").status == 400);
  CHECK(f.client("").get("/v1/recs/snapshot?store=s1").status == 401);
}

}  // namespace
}  // namespace aisle::collector
