#include "collector/recs/serving/recs_options.hpp"

#include <catch2/catch.hpp>

namespace aisle::collector::recs {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string error_of(const char* text) {
  auto r = parse_recs_options(json::parse(text), "/var/lib/aisle");
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

TEST_CASE("recs options: defaults and a full section", "[collector][recs][options]") {
  auto defaults = parse_recs_options(json::object(), "/var/lib/aisle");
  REQUIRE(defaults.ok());
  CHECK(defaults->default_strategy == "blended");
  CHECK(defaults->catalog.path == "/var/lib/aisle/catalog.db");
  CHECK(defaults->experiments_path == "/var/lib/aisle/experiments.json");

  auto o = parse_recs_options(json::parse(R"({
    "strategies": {"session": {"vsknn": 1, "item_knn": 0.5}, "popular": {"popularity": 1}},
    "default_strategy": "session",
    "default_placement": {"diversity": {"max_per_category": 3}},
    "placements": {"cart": {"exclude_cart": true, "strategy": "popular",
                            "diversity": {"mmr_lambda": 0.7, "category_depth": 2}}},
    "exclude_purchased": {"window_seconds": 86400, "categories": {"grocery": 0}},
    "boosts": [{"category": "coffee", "multiplier": 1.5},
               {"min_price": 0, "max_price": 5, "multiplier": 0.5}],
    "session": {"gap_seconds": 600, "max_profiles": 5000},
    "attribution": {"max_exposures": 100, "window_seconds": 3600},
    "catalog": {"max_upload_items": 10},
    "experiments": {"kiosk_home": {"id": "k1", "kind": "bandit", "arms": ["session", "popular"]}},
    "default_n": 5, "max_n": 50
  })"), "/data");
  REQUIRE(o.ok());
  CHECK(o->strategies.at("session").at("item_knn") == 0.5);
  CHECK(o->placement("cart").exclude_cart);
  CHECK(o->placement("cart").diversity.max_per_category == 3);  // inherited from the default
  CHECK(o->placement("cart").diversity.mmr_lambda == 0.7);
  CHECK(o->placement("elsewhere").diversity.max_per_category == 3);
  CHECK_FALSE(o->placement("elsewhere").exclude_cart);
  CHECK(o->exclude_purchased.window == 24h);
  CHECK(o->exclude_purchased.category_windows.at("grocery") == 0ms);
  REQUIRE(o->boosts.size() == 2);
  CHECK(o->boosts[1].max_price == 5);
  CHECK(o->session.gap == 10min);
  CHECK(o->attribution.max_exposures == 100);
  CHECK(o->catalog.max_upload_items == 10);
  CHECK(o->experiments.at("kiosk_home").kind == ExperimentKind::kBandit);
  CHECK(o->default_n == 5);
}

TEST_CASE("recs options: errors name the path", "[collector][recs][options]") {
  CHECK(error_of(R"({"sesion": {}})").rfind("recs.sesion: unknown key", 0) == 0);
  CHECK(error_of(R"({"default_strategy": "nope"})") ==
        "recs.default_strategy: unknown strategy \"nope\"");
  CHECK(error_of(R"({"placements": {"cart": {"strategy": "x"}}})") ==
        "recs.placements.cart.strategy: unknown strategy \"x\"");
  CHECK(error_of(R"({"placements": {"cart": {"diversity": {"max_per_category": -1}}}})") ==
        "recs.placements.cart.diversity.max_per_category: must be an integer 0..1000");
  CHECK(error_of(R"({"boosts": [{"category": "x"}]})") == "recs.boosts[0].multiplier: is required");
  CHECK(error_of(R"({"boosts": [{"multiplier": 2}]})") ==
        "recs.boosts[0]: needs at least one of category, item, min_price, max_price");
  CHECK(error_of(R"({"session": {"gap_seconds": 0}})") ==
        "recs.session.gap_seconds: must be a number >= 1");
  CHECK(error_of(R"({"experiments": {"pdp": {"id": "e", "arms": ["blended", "zzz"]}}})") ==
        "recs.experiments.pdp.arms[1].strategy: unknown strategy \"zzz\"");
  CHECK(error_of(R"({"default_n": 500, "max_n": 100})") == "recs.default_n: must be <= max_n");
}

}  // namespace
}  // namespace aisle::collector::recs
