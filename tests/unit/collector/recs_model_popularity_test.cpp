#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "collector/recs/models/popularity.hpp"

namespace aisle::collector::recs {
namespace {

constexpr std::int64_t kHour = 3'600'000;

Interaction event(const std::string& item, UnixMillis at, const std::string& store = "",
                  InteractionKind kind = InteractionKind::kView,
                  const std::string& category = "") {
  Interaction interaction;
  interaction.session_key = "s";
  interaction.item = item;
  interaction.store_id = store;
  interaction.category = category;
  interaction.kind = kind;
  interaction.at = at;
  return interaction;
}

PopularityOptions store_only() {
  PopularityOptions options;
  options.half_life_ms = 0;
  options.hour_weight = 0;
  options.category_weight = 0;
  return options;
}

RecContext in_store(const std::string& store, const std::string& item = "") {
  RecContext context;
  context.store_id = store;
  context.context_item = item;
  context.exclude_current = false;
  return context;
}

std::vector<std::string> names(const std::vector<Candidate>& list) {
  std::vector<std::string> result;
  for (const Candidate& candidate : list) result.push_back(candidate.item);
  return result;
}

}  // namespace

TEST_CASE("popularity counts per store with kind weights, overall when the store is unknown",
          "[collector][recs][popularity]") {
  Popularity model(store_only());
  for (int i = 0; i < 3; ++i) model.observe(event("a", i, "s1"));
  model.observe(event("b", 10, "s1", InteractionKind::kPurchase));
  for (int i = 0; i < 10; ++i) model.observe(event("c", 20 + i, "s2"));

  const auto s1 = model.candidates(in_store("s1"), 10);
  REQUIRE(names(s1) == std::vector<std::string>{"b", "a"});
  CHECK(s1[0].score == Approx(1.0));
  CHECK(s1[1].score == Approx(0.6));  // 3 views / one purchase (5)

  const auto overall = model.candidates(in_store("unknown"), 10);
  REQUIRE(names(overall) == std::vector<std::string>{"c", "b", "a"});
  CHECK(overall[1].score == Approx(0.5));
  CHECK(names(model.candidates(in_store(""), 2)) == std::vector<std::string>{"c", "b"});
}

TEST_CASE("popularity decays old interactions by the half-life", "[collector][recs][popularity]") {
  PopularityOptions options = store_only();
  options.half_life_ms = kHour;
  Popularity model(options);
  model.observe(event("a", 0));
  model.observe(event("b", kHour));
  const auto list = model.candidates(in_store(""), 10);
  REQUIRE(names(list) == std::vector<std::string>{"b", "a"});
  CHECK(list[1].score == Approx(0.5));
}

TEST_CASE("popularity blends the hour of day and the category of the item on screen",
          "[collector][recs][popularity]") {
  PopularityOptions options = store_only();
  options.store_weight = 0;
  options.hour_weight = 1;
  Popularity by_hour(options);
  by_hour.observe(event("morning", 3 * kHour));
  by_hour.observe(event("evening", 19 * kHour));
  RecContext context = in_store("");
  context.now = 24 * kHour + 19 * kHour + 5;  // next day, 19:00
  CHECK(names(by_hour.candidates(context, 10)) == std::vector<std::string>{"evening"});

  options.hour_weight = 0;
  options.category_weight = 1;
  Popularity by_category(options);
  by_category.observe(event("shirt", 1, "", InteractionKind::kView, "tops"));
  by_category.observe(event("blouse", 2, "", InteractionKind::kCart, "tops"));
  by_category.observe(event("jeans", 3, "", InteractionKind::kPurchase, "bottoms"));
  CHECK(names(by_category.candidates(in_store("", "shirt"), 10)) ==
        std::vector<std::string>{"blouse", "shirt"});
}

TEST_CASE("popularity tables stay within max_items_per_key and max_keys",
          "[collector][recs][popularity]") {
  PopularityOptions options = store_only();
  options.max_items_per_key = 4;
  options.max_keys = 1;
  Popularity model(options);
  for (int i = 0; i < 5; ++i) model.observe(event("hit", i, "s1"));
  for (int i = 0; i < 9; ++i) model.observe(event("tail" + std::to_string(i), 10 + i, "s1"));
  model.observe(event("other", 30, "s2"));  // no table for s2: max_keys reached
  // overall, one hour table and s1: each at most 4 counters.
  CHECK(model.stats().entries <= 3 * 4);
  CHECK(model.candidates(in_store("s1"), 1)[0].item == "hit");
  // s2 has no table: its requests fall back to the overall table.
  CHECK(model.candidates(in_store("s2"), 1)[0].item == "hit");
}

}  // namespace aisle::collector::recs
