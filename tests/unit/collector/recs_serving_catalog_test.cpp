#include "collector/api/catalog_api.hpp"

#include <catch2/catch.hpp>

#include "collector/recs/serving/catalog.hpp"
#include "common/crypto.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;
using recs::Catalog;
using recs::CatalogItem;

const std::string kReadKey = "read-key-0123456789";
const std::string kAdminKey = "admin-key-0123456789";

std::unique_ptr<Catalog> open_catalog(const test::TempDir& dir, metrics::Registry& metrics,
                                      std::size_t max_items = 1000) {
  recs::CatalogOptions options;
  options.path = dir.file("catalog.db");
  options.max_items = max_items;
  auto catalog = Catalog::open(options, SystemClock::instance(), metrics);
  REQUIRE(catalog.ok());
  return std::move(*catalog);
}

TEST_CASE("catalog items parse with every field and errors name the field",
          "[collector][recs][catalog]") {
  recs::CatalogItemLimits limits;
  auto item = recs::parse_catalog_item(
      json::parse(R"({"sku":"A-1","title":"Mug","category":"kitchen/mugs","price":4.5,)"
                  R"("currency":"EUR","available":false,"stores":{"s1":true}})"),
      limits);
  REQUIRE(item.ok());
  CHECK(item->sku == "A-1");
  CHECK(item->price == 4.5);
  CHECK_FALSE(item->available_in("s2"));
  CHECK(item->available_in("s1"));
  CHECK_FALSE(item->available_in(""));

  auto error = [&](const char* text) {
    auto r = recs::parse_catalog_item(json::parse(text), limits);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(error(R"({"title":"x"})") == "sku: is required");
  CHECK(error(R"({"sku":"a","price":-1,"currency":"EUR"})") == "price: must be a number >= 0");
  CHECK(error(R"({"sku":"a","price":1})") == "currency: is required with price");
  CHECK(error(R"({"sku":"a","currency":"eur"})") ==
        "currency: must be an ISO 4217 code of 3 capital letters");
  CHECK(error(R"({"sku":"a","stores":{"s1":"yes"}})") == "stores.s1: must be true or false");
  CHECK(error(R"({"sku":"a","availabilty":true})").rfind("availabilty: unknown field", 0) == 0);
  CHECK(error(R"([1])") == "item: must be an object");
}

TEST_CASE("the catalog persists items and reloads them in upload order",
          "[collector][recs][catalog]") {
  test::TempDir dir("aisle-recs-catalog");
  metrics::Registry metrics;
  {
    auto catalog = open_catalog(dir, metrics);
    REQUIRE(catalog->upsert({{"b", "B", "x", 1, "EUR", true, {}, 0},
                             {"a", "A", "y", 2, "EUR", true, {{"s1", false}}, 0}})
                .ok());
    REQUIRE(catalog->upsert({{"b", "B2", "x", 3, "EUR", true, {}, 0}}).ok());
    auto removed = catalog->remove("nope");
    REQUIRE(removed.ok());
    CHECK_FALSE(*removed);
    REQUIRE(catalog->upsert({{"c", "C", "x", 1, "EUR", true, {}, 0}}).ok());
    REQUIRE(*catalog->remove("c"));
  }
  auto reopened = open_catalog(dir, metrics);
  CHECK(reopened->size() == 2);
  auto b = reopened->get("b");
  REQUIRE(b);
  CHECK(b->title == "B2");
  CHECK(b->price == 3);
  CHECK(reopened->fallback_items("s1", 10, [](const CatalogItem&) { return true; }) ==
        std::vector<std::string>{"b"});
  CHECK(reopened->fallback_items("s2", 10, [](const CatalogItem&) { return true; }) ==
        std::vector<std::string>{"b", "a"});
  CHECK(metrics.value("aisle_collector_recs_catalog_items") == 2);
}

TEST_CASE("the catalog refuses to grow past max_items", "[collector][recs][catalog]") {
  test::TempDir dir("aisle-recs-catalog");
  metrics::Registry metrics;
  auto catalog = open_catalog(dir, metrics, 2);
  REQUIRE(catalog->upsert({{"a", "", "", 0, "", true, {}, 0}, {"b", "", "", 0, "", true, {}, 0}})
              .ok());
  REQUIRE(catalog->upsert({{"a", "again", "", 0, "", true, {}, 0}}).ok());  // a replacement
  auto refused = catalog->upsert({{"c", "", "", 0, "", true, {}, 0}});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kResourceExhausted);
  CHECK(refused.error().message == "the catalog would hold 3 items, limit max_items 2");
  CHECK(catalog->size() == 2);
}

TEST_CASE("a file that is not a catalog database is refused", "[collector][recs][catalog]") {
  test::TempDir dir("aisle-recs-catalog");
  test::write_file(dir.file("catalog.db"), std::string(4096, 'x'));
  metrics::Registry metrics;
  recs::CatalogOptions options;
  options.path = dir.file("catalog.db");
  auto catalog = Catalog::open(options, SystemClock::instance(), metrics);
  REQUIRE_FALSE(catalog.ok());
  CHECK(catalog.error().code == ErrorCode::kDataLoss);
}

class CatalogApiFixture {
 public:
  CatalogApiFixture()
      : keys_({}, {ApiKey{"reader", crypto::sha256_hex(kReadKey), "read", ""},
                   ApiKey{"ops", crypto::sha256_hex(kAdminKey), "admin", ""}}) {
    catalog_ = open_catalog(dir_, metrics_);
    server_ = std::make_unique<http::HttpServer>(http::ServerOptions{}, metrics_, "collector");
    recs::CatalogSectionOptions limits;
    limits.max_upload_bytes = 4096;
    limits.max_upload_items = 5;
    CatalogApiContext context{*catalog_, keys_, metrics_, limits};
    context.audit = [this](const std::string& actor, const std::string& action,
                           const std::string&, const json&) { audits.push_back(actor + " " + action); };
    register_catalog_api(*server_, std::move(context));
    REQUIRE(server_->start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  ~CatalogApiFixture() { server_->stop(); }
  test::HttpClient admin() const { return test::HttpClient(base_, kAdminKey); }
  test::HttpClient reader() const { return test::HttpClient(base_, kReadKey); }
  test::HttpResponse put(const test::HttpClient& client, const std::string& body) const {
    return client.request("PUT", "/v1/catalog/items", body, "application/x-ndjson", {});
  }
  Catalog& catalog() { return *catalog_; }
  metrics::Registry& metrics() { return metrics_; }
  std::vector<std::string> audits;

 private:
  test::TempDir dir_{"aisle-catalog-api"};
  metrics::Registry metrics_;
  ApiKeys keys_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<http::HttpServer> server_;
  std::string base_;
};

TEST_CASE("catalog API: NDJSON and array uploads, get and delete",
          "[collector][recs][catalog][api]") {
  CatalogApiFixture f;
  auto ndjson = f.put(f.admin(),
                      "{\"sku\":\"a\",\"category\":\"coffee\",\"price\":3,\"currency\":\"EUR\"}\n"
                      "\n"
                      "{\"sku\":\"b\",\"stores\":{\"s1\":false}}\n");
  REQUIRE(ndjson.status == 200);
  CHECK(ndjson.json()["upserted"] == 2);
  auto array = f.put(f.admin(), R"([{"sku":"c"},{"sku":"a","title":"renamed"}])");
  REQUIRE(array.status == 200);
  CHECK(array.json()["catalog_items"] == 3);
  CHECK(f.audits == std::vector<std::string>{"ops catalog.upsert", "ops catalog.upsert"});

  auto got = f.reader().get("/v1/catalog/items/a");
  REQUIRE(got.status == 200);
  CHECK(got.json()["title"] == "renamed");
  CHECK(f.reader().get("/v1/catalog/items/zzz").status == 404);

  CHECK(f.reader().request("DELETE", "/v1/catalog/items/a", "", "", {}).status == 401);
  CHECK(f.admin().request("DELETE", "/v1/catalog/items/a", "", "", {}).status == 200);
  CHECK(f.admin().request("DELETE", "/v1/catalog/items/a", "", "", {}).status == 404);
  CHECK(f.catalog().size() == 2);
}

TEST_CASE("catalog API: an invalid item refuses the upload, naming the line and field",
          "[collector][recs][catalog][api]") {
  CatalogApiFixture f;
  auto r = f.put(f.admin(),
                 "{\"sku\":\"a\"}\n"
                 "{\"sku\":\"b\",\"price\":-2,\"currency\":\"EUR\"}\n"
                 "{\"sku\":\"c\"\n");
  REQUIRE(r.status == 400);
  const json body = r.json();
  CHECK(body["error"] ==
        "2 invalid item(s), nothing stored; line 2: price: must be a number >= 0");
  REQUIRE(body["errors"].size() == 2);
  CHECK(body["errors"][0]["line"] == 2);
  CHECK(body["errors"][0]["field"] == "price");
  CHECK(body["errors"][0]["sku"] == "b");
  CHECK(body["errors"][1]["line"] == 3);
  CHECK(f.catalog().size() == 0);
  CHECK(f.metrics().value("aisle_collector_catalog_items_refused_total") == 2);
}

TEST_CASE("catalog API: limits on body size and item count, and key scopes",
          "[collector][recs][catalog][api]") {
  CatalogApiFixture f;
  std::string many;
  for (int i = 0; i < 6; ++i) many += "{\"sku\":\"s" + std::to_string(i) + "\"}\n";
  auto too_many = f.put(f.admin(), many);
  CHECK(too_many.status == 413);
  CHECK(too_many.json()["error"] == "6 items, limit max_upload_items 5");
  auto too_big = f.put(f.admin(), "{\"sku\":\"" + std::string(5000, 'x') + "\"}");
  CHECK(too_big.status == 413);
  CHECK(f.put(f.reader(), "{\"sku\":\"a\"}").status == 401);
  CHECK(f.put(test::HttpClient(std::string("http://127.0.0.1:") +
                                   std::to_string(f.admin().port())),
              "{\"sku\":\"a\"}")
            .status == 401);
  CHECK(f.put(f.admin(), "").status == 400);
}

}  // namespace
}  // namespace aisle::collector
