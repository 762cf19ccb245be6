#include "collector/api/segment_api.hpp"

#include <catch2/catch.hpp>

#include "common/crypto.hpp"
#include "tests/support/http_client.hpp"
#include "tests/unit/collector/segment_test_util.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;
using namespace segments::test_util;

const std::string kReadKey = "read-key-0123456789";
const std::string kAdminKey = "admin-key-0123456789";

class SegmentApiFixture {
 public:
  explicit SegmentApiFixture(bool with_stats = true)
      : keys_({}, {ApiKey{"reader", crypto::sha256_hex(kReadKey), "read", ""},
                   ApiKey{"ops", crypto::sha256_hex(kAdminKey), "admin", ""}}) {
    server_ = std::make_unique<http::HttpServer>(http::ServerOptions{}, harness.metrics, "collector");
    SegmentApiContext context{harness.engine(), keys_, harness.metrics, nullptr};
    if (with_stats) {
      context.stats = [](const std::string& id) { return json{{"segment_id", id}, {"size", 42}}; };
    }
    context.audit = [this](const std::string& actor, const std::string& action,
                           const std::string& target, const json&) {
      audits.push_back(actor + " " + action + " " + target);
    };
    register_segment_api(*server_, std::move(context));
    // Another engineer's route: ours must never match "stream".
    server_->get("/v1/segments/stream", "/v1/segments/stream", [](const http::Request&) {
      return http::Response::json(200, "{\"stream\":true}");
    });
    REQUIRE(server_->start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  ~SegmentApiFixture() { server_->stop(); }

  test::HttpClient reader() const { return test::HttpClient(base_, kReadKey); }
  test::HttpClient admin() const { return test::HttpClient(base_, kAdminKey); }
  test::HttpResponse put(const std::string& id, const std::string& body) const {
    return admin().request("PUT", "/v1/segments/" + id, body, "application/json", {});
  }

  EngineHarness harness;
  std::vector<std::string> audits;

 private:
  ApiKeys keys_;
  std::unique_ptr<http::HttpServer> server_;
  std::string base_;
};

const char* kBrowsers =
    R"({"name":"Browsers","condition":{"count":{"event":"page_view","window":"30m","op":">=","value":2}}})";

TEST_CASE("segment API: put, get with versions and backfill progress, list",
          "[collector][segments][api]") {
  SegmentApiFixture f;
  auto r = f.put("browsers", kBrowsers);
  REQUIRE(r.status == 202);
  CHECK(r.json()["version"] == 1);
  CHECK(r.json()["backfill"]["state"] == "queued");
  CHECK(r.json()["active_version"] == 0);
  f.harness.engine().run_backfills();

  r = f.reader().get("/v1/segments/browsers");
  REQUIRE(r.status == 200);
  json body = r.json();
  CHECK(body["active_version"] == 1);
  CHECK(body["definition"]["name"] == "Browsers");
  CHECK(body["backfill"]["state"] == "done");
  CHECK(body["backfill"]["progress"] == 1.0);
  CHECK(body["versions"].size() == 1);

  REQUIRE(f.put("browsers", R"({"condition":{"count":{"event":"page_view","window":"30m","op":">=","value":3}}})").status == 202);
  r = f.reader().get("/v1/segments");
  REQUIRE(r.status == 200);
  REQUIRE(r.json()["segments"].size() == 1);
  CHECK(r.json()["segments"][0]["latest_version"] == 2);
  CHECK(r.json()["segments"][0]["active_version"] == 1);
  CHECK(f.audits == std::vector<std::string>{"ops segment.put browsers", "ops segment.put browsers"});
}

TEST_CASE("segment API: errors name the JSON path, and ids and scopes are enforced",
          "[collector][segments][api]") {
  SegmentApiFixture f;
  auto r = f.put("bad", R"({"condition":{"count":{"event":"page_view","window":"100d","op":">","value":1}}})");
  CHECK(r.status == 400);
  CHECK_THAT(r.json()["error"].get<std::string>(), Catch::Contains("/condition/count/window"));
  r = f.put("bad", "{not json");
  CHECK(r.status == 400);
  CHECK_THAT(r.json()["error"].get<std::string>(), Catch::Contains("body:"));
  r = f.put("Bad_Upper", kBrowsers);
  CHECK(r.status == 404);  // not a segment id: no route
  r = f.put("cyc", R"({"condition":{"segment":"cyc"}})");
  CHECK(r.status == 409);
  CHECK_THAT(r.json()["error"].get<std::string>(), Catch::Contains("cyc -> cyc"));
  // A read key cannot change segments; no key cannot read.
  r = f.reader().request("PUT", "/v1/segments/x", kBrowsers, "application/json", {});
  CHECK(r.status == 401);
  CHECK(test::HttpClient("http://127.0.0.1:" + std::to_string(f.reader().port()))
            .get("/v1/segments")
            .status == 401);
  CHECK(f.reader().get("/v1/segments/nope").status == 404);
  // "stream" belongs to another route.
  r = f.reader().get("/v1/segments/stream");
  CHECK(r.status == 200);
  CHECK(r.json()["stream"] == true);
  CHECK(f.put("stream", kBrowsers).status == 404);
  CHECK(f.harness.metrics.value("aisle_collector_segment_api_bad_requests_total") == 2);
}

TEST_CASE("segment API: members pages, rollback, stats and delete",
          "[collector][segments][api]") {
  SegmentApiFixture f;
  REQUIRE(f.put("browsers", kBrowsers).status == 202);
  f.harness.engine().run_backfills();
  for (int i = 0; i < 5; ++i) {
    f.harness.event("p" + std::to_string(i), "page_view");
    f.harness.event("p" + std::to_string(i), "page_view");
  }
  auto r = f.reader().get("/v1/segments/browsers/members?limit=2");
  REQUIRE(r.status == 200);
  json body = r.json();
  REQUIRE(body["members"].size() == 2);
  CHECK(body["members"][0]["profile_id"] == "p0");
  CHECK(body["members"][0]["entered_at"] == "2023-11-14T22:00:00.000Z");
  CHECK(body["next_cursor"] == "p1");
  r = f.reader().get("/v1/segments/browsers/members?limit=10&cursor=p1");
  REQUIRE(r.status == 200);
  CHECK(r.json()["members"].size() == 3);
  CHECK_FALSE(r.json().contains("next_cursor"));
  CHECK(f.reader().get("/v1/segments/browsers/members?limit=0").status == 400);
  CHECK(f.reader().get("/v1/segments/browsers/members?limit=100000").status == 400);

  json memberships = segment_memberships_json(f.harness.engine(), "p0");
  REQUIRE(memberships.size() == 1);
  CHECK(memberships[0]["segment_id"] == "browsers");
  CHECK(memberships[0]["version"] == 1);

  REQUIRE(f.put("browsers", R"({"condition":{"count":{"event":"page_view","window":"30m","op":">=","value":3}}})").status == 202);
  f.harness.engine().run_backfills();
  CHECK(f.reader().get("/v1/segments/browsers/members").json()["members"].empty());
  r = f.admin().post("/v1/segments/browsers/rollback", R"({"version":1})");
  REQUIRE(r.status == 202);
  f.harness.engine().run_backfills();
  CHECK(f.reader().get("/v1/segments/browsers/members").json()["members"].size() == 5);
  CHECK(f.admin().post("/v1/segments/browsers/rollback", R"({"version":9})").status == 404);
  CHECK(f.admin().post("/v1/segments/browsers/rollback", R"({"version":"1"})").status == 400);
  CHECK(f.reader().post("/v1/segments/browsers/rollback", R"({"version":1})").status == 401);

  r = f.reader().get("/v1/segments/browsers/stats");
  REQUIRE(r.status == 200);
  CHECK(r.json()["size"] == 42);

  r = f.admin().request("DELETE", "/v1/segments/browsers", "", "application/json", {});
  REQUIRE(r.status == 200);
  CHECK(f.reader().get("/v1/segments/browsers").json()["retired"] == true);
  CHECK(f.reader().get("/v1/segments/browsers/members").json()["members"].empty());
  CHECK(f.admin().request("DELETE", "/v1/segments/browsers", "", "application/json", {}).status ==
        404);
}

TEST_CASE("segment API: stats without a KPI function answer 501", "[collector][segments][api]") {
  SegmentApiFixture f(false);
  REQUIRE(f.put("browsers", kBrowsers).status == 202);
  CHECK(f.reader().get("/v1/segments/browsers/stats").status == 501);
  CHECK(f.reader().get("/v1/segments/nope/stats").status == 404);
}

}  // namespace
}  // namespace aisle::collector
