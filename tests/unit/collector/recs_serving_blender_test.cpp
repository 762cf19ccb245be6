#include "collector/recs/serving/blender.hpp"

#include <catch2/catch.hpp>

#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector::recs {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> skus(const std::vector<RankedItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.item);
  return out;
}

RankedItem scored(const std::string& item, double score, const std::string& category = "") {
  return {item, score, "src", category, -1};
}

TEST_CASE("blend normalizes each source by its best score and weights it",
          "[collector][recs][blender]") {
  // a: 10 (best of knn) -> 1.0 * 2 = 2.0; b: 5 -> 0.5 * 2 = 1.0, + 1.0 from pop (best) = 2.0;
  // c: 0.5 of pop best -> 0.5.
  auto out = blend({{"knn", 2.0, {{"a", 10}, {"b", 5}}}, {"pop", 1.0, {{"b", 100}, {"c", 50}}}});
  REQUIRE(skus(out) == std::vector<std::string>{"a", "b", "c"});
  CHECK(out[0].score == Approx(2.0));
  CHECK(out[1].score == Approx(2.0));
  CHECK(out[2].score == Approx(0.5));
  CHECK(out[0].source == "knn");
  CHECK(out[1].source == "knn");  // 1.0 from knn ties 1.0 from pop: the first contributor keeps it
  CHECK(out[2].source == "pop");
}

TEST_CASE("blend drops sources with weight 0 and candidates with non-positive scores",
          "[collector][recs][blender]") {
  auto out = blend({{"off", 0.0, {{"x", 10}}}, {"on", 1.0, {{"a", 1}, {"neg", -1}, {"zero", 0}}}});
  CHECK(skus(out) == std::vector<std::string>{"a"});
}

TEST_CASE("category_matches is by path segment and category_at_depth cuts the path",
          "[collector][recs][blender]") {
  CHECK(category_matches("coffee/beans", "coffee"));
  CHECK(category_matches("coffee", "coffee"));
  CHECK_FALSE(category_matches("coffeemakers", "coffee"));
  CHECK_FALSE(category_matches("tea", "coffee"));
  CHECK(category_at_depth("coffee/beans/arabica", 1) == "coffee");
  CHECK(category_at_depth("coffee/beans/arabica", 2) == "coffee/beans");
  CHECK(category_at_depth("coffee/beans/arabica", 0) == "coffee/beans/arabica");
  CHECK(category_at_depth("coffee", 3) == "coffee");
}

TEST_CASE("purchase exclusion keeps bought items out for their category's window",
          "[collector][recs][blender]") {
  RecsOptions options;
  options.exclude_purchased.window = 30 * 24h;
  options.exclude_purchased.category_windows["grocery"] = 0ms;  // bought again all the time
  options.exclude_purchased.category_windows["grocery/wine"] = 24h;
  CHECK(purchase_window(options.exclude_purchased, "electronics/tv") == 30 * 24h);
  CHECK(purchase_window(options.exclude_purchased, "grocery/milk") == 0ms);
  CHECK(purchase_window(options.exclude_purchased, "grocery/wine/red") == 24h);

  const UnixMillis now = 1'700'000'000'000;
  RuleInput input;
  input.now = now;
  input.purchases = {{"tv", "electronics/tv", now - 10 * 86'400'000LL},
                     {"milk", "grocery/milk", now - 1000},
                     {"wine", "grocery/wine/red", now - 2 * 86'400'000LL},
                     {"radio", "electronics/radio", now - 40 * 86'400'000LL}};
  std::vector<RankedItem> items = {scored("tv", 5), scored("milk", 4), scored("wine", 3),
                                   scored("radio", 2), scored("other", 1)};
  apply_rules(items, input, options, nullptr);
  CHECK(skus(items) == std::vector<std::string>{"milk", "wine", "radio", "other"});
}

TEST_CASE("rules exclude the current item, the cart when asked, and apply boosts and buries",
          "[collector][recs][blender]") {
  RecsOptions options;
  options.boosts = {{"", "d", std::nullopt, std::nullopt, 10.0},   // boost one item
                    {"", "b", std::nullopt, std::nullopt, 0.0}};   // remove one item
  RuleInput input;
  input.context_item = "a";
  input.exclude_current = true;
  input.exclude_cart = true;
  input.cart = {"c"};
  std::vector<RankedItem> items = {scored("a", 5), scored("b", 4), scored("c", 3), scored("d", 2),
                                   scored("e", 1)};
  apply_rules(items, input, options, nullptr);
  REQUIRE(skus(items) == std::vector<std::string>{"d", "e"});
  CHECK(items[0].score == Approx(20));

  input.exclude_current = false;
  input.exclude_cart = false;
  std::vector<RankedItem> again = {scored("a", 5), scored("c", 3)};
  apply_rules(again, input, options, nullptr);
  CHECK(skus(again) == std::vector<std::string>{"a", "c"});
}

TEST_CASE("rules use the catalog for stock per store, category and price boosts",
          "[collector][recs][blender]") {
  test::TempDir dir("aisle-recs-blender");
  metrics::Registry metrics;
  CatalogOptions catalog_options;
  catalog_options.path = dir.file("catalog.db");
  auto catalog = Catalog::open(catalog_options, SystemClock::instance(), metrics);
  REQUIRE(catalog.ok());
  CatalogItem cheap{"cheap", "Cheap mug", "kitchen/mugs", 4.0, "EUR", true, {}, 0};
  CatalogItem pricey{"pricey", "Espresso machine", "coffee/machines", 400.0, "EUR", true, {}, 0};
  CatalogItem gone{"gone", "Sold out here", "coffee/beans", 9.0, "EUR", true, {{"s1", false}}, 0};
  CatalogItem beans{"beans", "Beans", "coffee/beans", 9.0, "EUR", false, {{"s1", true}}, 0};
  REQUIRE((*catalog)->upsert({cheap, pricey, gone, beans}).ok());

  RecsOptions options;
  options.boosts = {{"coffee", "", std::nullopt, std::nullopt, 2.0},  // boost the category
                    {"", "", 0.0, 5.0, 0.1}};                          // bury under 5 EUR
  RuleInput input;
  input.store_id = "s1";
  std::vector<RankedItem> items = {scored("cheap", 10), scored("pricey", 4), scored("gone", 9),
                                   scored("beans", 3), scored("unknown", 2)};
  apply_rules(items, input, options, catalog->get());
  REQUIRE(skus(items) == std::vector<std::string>{"pricey", "beans", "unknown", "cheap"});
  CHECK(items[0].score == Approx(8));
  CHECK(items[0].category == "coffee/machines");
  CHECK(items[3].score == Approx(1));

  // In another store, "beans" is unavailable by default and "gone" is in stock.
  input.store_id = "s2";
  std::vector<RankedItem> other = {scored("gone", 9), scored("beans", 3)};
  apply_rules(other, input, options, catalog->get());
  CHECK(skus(other) == std::vector<std::string>{"gone"});
}

TEST_CASE("diversity caps items per category in the top n", "[collector][recs][blender]") {
  std::vector<RankedItem> items = {scored("a1", 10, "a/x"), scored("a2", 9, "a/y"),
                                   scored("a3", 8, "a/x"), scored("b1", 7, "b"),
                                   scored("u1", 6, ""),     scored("b2", 5, "b")};
  DiversityOptions d;
  d.max_per_category = 2;
  d.category_depth = 1;
  CHECK(skus(diversify(items, d, 4)) == std::vector<std::string>{"a1", "a2", "b1", "u1"});
  d.category_depth = 0;  // full paths: a/x and a/y differ
  CHECK(skus(diversify(items, d, 4)) == std::vector<std::string>{"a1", "a2", "a3", "b1"});
  d.max_per_category = 0;
  CHECK(skus(diversify(items, d, 3)) == std::vector<std::string>{"a1", "a2", "a3"});
}

TEST_CASE("diversity by MMR interleaves categories when lambda is low",
          "[collector][recs][blender]") {
  std::vector<RankedItem> items = {scored("a1", 1.0, "a"), scored("a2", 0.95, "a"),
                                   scored("a3", 0.9, "a"), scored("b1", 0.5, "b"),
                                   scored("c1", 0.4, "c")};
  DiversityOptions d;
  d.mmr_lambda = 1.0;
  CHECK(skus(diversify(items, d, 3)) == std::vector<std::string>{"a1", "a2", "a3"});
  d.mmr_lambda = 0.5;  // 0.5*0.95 - 0.5 < 0.5*0.5: a different category wins
  CHECK(skus(diversify(items, d, 3)) == std::vector<std::string>{"a1", "b1", "c1"});
  d.mmr_lambda = 0.9;  // 0.9*0.95 - 0.1 = 0.755 > 0.9*0.5 = 0.45: relevance wins
  CHECK(skus(diversify(items, d, 3)) == std::vector<std::string>{"a1", "a2", "a3"});
}

}  // namespace
}  // namespace aisle::collector::recs
