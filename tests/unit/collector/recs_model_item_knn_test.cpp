#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "collector/recs/models/item_knn.hpp"

namespace aisle::collector::recs {
namespace {

constexpr std::int64_t kHour = 3'600'000;

Interaction event(const std::string& session, const std::string& item, UnixMillis at,
                  InteractionKind kind = InteractionKind::kView) {
  Interaction interaction;
  interaction.session_key = session;
  interaction.item = item;
  interaction.kind = kind;
  interaction.at = at;
  return interaction;
}

ItemKnnOptions no_decay() {
  ItemKnnOptions options;
  options.half_life_ms = 0;
  options.context_items = 1;
  return options;
}

RecContext on(std::vector<std::string> items, bool exclude_current = true) {
  RecContext context;
  context.session_items = std::move(items);
  context.context_item = context.session_items.back();
  context.exclude_current = exclude_current;
  return context;
}

std::vector<std::string> names(const std::vector<Candidate>& list) {
  std::vector<std::string> result;
  for (const Candidate& candidate : list) result.push_back(candidate.item);
  return result;
}

}  // namespace

TEST_CASE("item knn similarity is co-occurrence over the root of both items' counts",
          "[collector][recs][item_knn]") {
  ItemKnn model(no_decay());
  model.observe(event("s1", "a", 1));
  model.observe(event("s1", "b", 2));
  model.observe(event("s2", "a", 3));
  model.observe(event("s2", "c", 4));
  model.observe(event("s3", "a", 5));
  model.observe(event("s3", "c", 6));
  // a: 3 occurrences, b: 1, c: 2; a-b once, a-c twice.
  CHECK(model.similarity("a", "b") == Approx(1 / std::sqrt(3.0)));
  CHECK(model.similarity("a", "c") == Approx(2 / std::sqrt(6.0)));
  CHECK(model.similarity("b", "a") == Approx(1 / std::sqrt(3.0)));
  CHECK(model.similarity("b", "c") == 0);

  const auto list = model.candidates(on({"a"}), 10);
  REQUIRE(names(list) == std::vector<std::string>{"c", "b"});
  CHECK(list[0].score == Approx(2 / std::sqrt(6.0)));
}

TEST_CASE("item knn weighs interactions by kind", "[collector][recs][item_knn]") {
  ItemKnn model(no_decay());
  model.observe(event("s4", "d", 1));
  model.observe(event("s4", "e", 2, InteractionKind::kPurchase));
  model.observe(event("s6", "g", 3));
  model.observe(event("s6", "e", 4));
  // e: 5^2 + 1^2; d-e: 1 x 5, g-e: 1 x 1.
  CHECK(model.similarity("e", "d") == Approx(5 / std::sqrt(26.0)));
  CHECK(model.similarity("e", "g") == Approx(1 / std::sqrt(26.0)));
  CHECK(names(model.candidates(on({"e"}), 10)) == std::vector<std::string>{"d", "g"});
}

TEST_CASE("item knn decays old co-occurrences by the half-life", "[collector][recs][item_knn]") {
  ItemKnnOptions options = no_decay();
  options.half_life_ms = kHour;
  ItemKnn model(options);
  model.observe(event("s1", "a", 0));
  model.observe(event("s1", "b", 0));
  model.observe(event("s2", "a", kHour));
  model.observe(event("s2", "c", kHour));
  // The pair an hour later counts twice: a = 1 + 2, b = 1, c = 2.
  CHECK(model.similarity("a", "b") == Approx(1 / std::sqrt(3.0)));
  CHECK(model.similarity("a", "c") == Approx(2 / std::sqrt(6.0)));
  CHECK(names(model.candidates(on({"a"}), 10)) == std::vector<std::string>{"c", "b"});
}

TEST_CASE("item knn rebases its decayed counts before they overflow",
          "[collector][recs][item_knn]") {
  ItemKnnOptions options = no_decay();
  options.half_life_ms = 1;  // 1000 half-lives between the two sessions
  ItemKnn model(options);
  model.observe(event("s1", "a", 0));
  model.observe(event("s1", "b", 0));
  model.observe(event("s2", "a", 1000));
  model.observe(event("s2", "c", 1000));
  const double recent = model.similarity("a", "c");
  CHECK(std::isfinite(recent));
  CHECK(recent == Approx(1.0));
  CHECK(model.similarity("a", "b") == Approx(0.0).margin(1e-12));
}

TEST_CASE("item knn keeps at most neighbours_kept counters per item (space-saving)",
          "[collector][recs][item_knn]") {
  ItemKnnOptions options = no_decay();
  options.neighbours_kept = 2;
  ItemKnn model(options);
  int at = 0;
  for (const char* other : {"b", "c", "d"}) {
    const std::string session = std::string("s-") + other;
    model.observe(event(session, "a", ++at));
    model.observe(event(session, other, ++at));
  }
  // Row a was full (b:1, c:1) when d came: d replaced the weakest, b, and inherited its count.
  CHECK(model.similarity("a", "b") == 0);
  CHECK(model.similarity("a", "d") == Approx(2 / std::sqrt(3.0)));
  CHECK(model.similarity("a", "c") == Approx(1 / std::sqrt(3.0)));
  CHECK(model.stats().entries == 2 + 3);
}

TEST_CASE("item knn counts a re-click as the item co-occurring with itself unless told not to",
          "[collector][recs][item_knn]") {
  ItemKnn with_repeats(no_decay());
  ItemKnnOptions options = no_decay();
  options.count_repeats = false;
  ItemKnn without_repeats(options);
  for (ItemKnn* model : {&with_repeats, &without_repeats}) {
    model->observe(event("s", "a", 1));
    model->observe(event("s", "a", 2));
  }
  CHECK(with_repeats.similarity("a", "a") == Approx(0.5));  // 1 / sqrt(2 * 2)
  CHECK(names(with_repeats.candidates(on({"a"}, false), 10)) == std::vector<std::string>{"a"});
  CHECK(with_repeats.candidates(on({"a"}, true), 10).empty());
  CHECK(without_repeats.similarity("a", "a") == 0);
}

TEST_CASE("item knn pairs only the last session_window interactions and bounds sessions",
          "[collector][recs][item_knn]") {
  ItemKnnOptions options = no_decay();
  options.session_window = 1;
  options.max_sessions = 2;
  ItemKnn model(options);
  model.observe(event("s", "a", 1));
  model.observe(event("s", "b", 2));
  model.observe(event("s", "c", 3));
  CHECK(model.similarity("a", "b") > 0);
  CHECK(model.similarity("a", "c") == 0);  // a had left the window
  model.observe(event("t", "x", 4));
  model.observe(event("u", "y", 5));        // evicts s, the oldest open session
  model.observe(event("s", "d", 6));        // s starts afresh: no pair with c
  CHECK(model.similarity("c", "d") == 0);
  CHECK(model.stats().sessions == 2);
}

TEST_CASE("item knn scores the neighbours of the session's last items, older ones decayed",
          "[collector][recs][item_knn]") {
  ItemKnnOptions options = no_decay();
  options.context_items = 2;
  options.context_decay = 0.5;
  ItemKnn model(options);
  model.observe(event("s1", "x", 1));
  model.observe(event("s1", "p", 2));
  model.observe(event("s2", "y", 3));
  model.observe(event("s2", "q", 4));
  const auto list = model.candidates(on({"x", "y"}), 10);
  REQUIRE(names(list) == std::vector<std::string>{"q", "p"});
  CHECK(list[0].score == Approx(1.0));
  CHECK(list[1].score == Approx(0.5));
}

}  // namespace aisle::collector::recs
