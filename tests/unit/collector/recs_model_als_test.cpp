#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collector/recs/models/als_model.hpp"
#include "collector/recs/models/als_solver.hpp"
#include "collector/recs/models/item_vector_index.hpp"
#include "common/metrics.hpp"

namespace aisle::collector::recs {
namespace {

Interaction event(const std::string& profile, const std::string& item,
                  InteractionKind kind = InteractionKind::kView) {
  Interaction interaction;
  interaction.profile_id = profile;
  interaction.session_key = profile + "#1";
  interaction.item = item;
  interaction.kind = kind;
  return interaction;
}

// k = 2: the planted data have two blocks; more factors let ALS fit each user's own items
// (its observed cells) instead of the block, which is not what these tests look at.
AlsOptions small_options() {
  AlsOptions options;
  options.factors = 2;
  options.iterations = 15;
  options.regularization = 0.1;
  options.alpha = 10;
  options.min_interactions = 1;
  return options;
}

// Two groups of 10 items; every user of group A views 5 of A's items, group B likewise.
// `skip` leaves one user out (the fold-in comparison).
void feed_blocks(AlsRecommender& model, int users_per_group, std::uint64_t seed = 1,
                 const std::string& skip = "") {
  std::mt19937_64 rng(seed);
  for (int u = 0; u < users_per_group; ++u) {
    for (const char* group : {"a", "b"}) {
      const std::string user = std::string("user_") + group + std::to_string(u);
      std::vector<int> items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
      std::shuffle(items.begin(), items.end(), rng);  // also for `skip`: the others keep theirs
      if (user == skip) continue;
      for (int i = 0; i < 5; ++i) model.observe(event(user, group + std::to_string(items[i])));
    }
  }
}

RecContext profile_context(const std::string& profile) {
  RecContext context;
  context.profile_id = profile;
  context.exclude_current = false;
  return context;
}

RecContext session_context(std::vector<std::string> items) {
  RecContext context;
  context.session_items = std::move(items);
  context.context_item = context.session_items.back();
  context.exclude_current = false;
  return context;
}

std::vector<float> item_scores(const AlsRecommender& model, const std::vector<float>& query) {
  const auto snapshot = model.snapshot();
  std::vector<float> scores;
  for (const char* group : {"a", "b"}) {
    for (int i = 0; i < 10; ++i) {
      const float* vector = snapshot->item_vector(group + std::to_string(i));
      scores.push_back(vector == nullptr ? 0.0f : dot(vector, query.data(), query.size()));
    }
  }
  return scores;
}

TEST_CASE("ALS ranks a planted group's items first for the group's users", "[recs][als]") {
  AlsRecommender model(small_options());
  feed_blocks(model, 30);
  REQUIRE(model.retrain_now());
  for (const std::string user : {"user_a3", "user_b7", "user_a29"}) {
    const auto list = model.candidates(profile_context(user), 10);
    REQUIRE(list.size() == 10);
    for (const Candidate& candidate : list) {
      CHECK(candidate.item[0] == user[5]);  // "user_a3" -> 'a'
    }
  }
  // A new session (folded in) of B items gets B's items first.
  const auto list = model.candidates(session_context({"b1", "b4"}), 10);
  REQUIRE(list.size() == 10);
  for (const Candidate& candidate : list) CHECK(candidate.item[0] == 'b');
}

TEST_CASE("ALS fold-in of a trained user gives back its trained vector", "[recs][als]") {
  AlsOptions options = small_options();
  options.factors = 8;
  AlsRecommender model(options);
  model.observe(event("u", "a1"));
  model.observe(event("u", "a2"));
  model.observe(event("u", "a3"));
  feed_blocks(model, 20);
  REQUIRE(model.retrain_now());
  // The stored vector comes from the final user sweep: the same solve a fold-in does.
  const auto trained = model.query_vector(profile_context("u"));
  const auto folded = model.query_vector(session_context({"a1", "a2", "a3"}));
  REQUIRE(trained);
  REQUIRE(folded);
  REQUIRE(trained->size() == 8);
  for (std::size_t f = 0; f < trained->size(); ++f) {
    CHECK((*folded)[f] == Approx((*trained)[f]).margin(1e-4));
  }
}

TEST_CASE("ALS fold-in of a new user ranks as a retrain with the user does", "[recs][als]") {
  AlsRecommender without(small_options());
  feed_blocks(without, 20, 1, "user_a0");
  REQUIRE(without.retrain_now());
  AlsRecommender with(small_options());
  feed_blocks(with, 20, 1);
  REQUIRE(with.retrain_now());

  // user_a0's items in the shared stream (seed 1: the first shuffle).
  std::vector<std::string> items;
  {
    std::mt19937_64 rng(1);
    std::vector<int> order = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    std::shuffle(order.begin(), order.end(), rng);
    for (int i = 0; i < 5; ++i) items.push_back("a" + std::to_string(order[i]));
  }
  const auto folded = without.query_vector(session_context(items));
  const auto retrained = with.query_vector(profile_context("user_a0"));
  REQUIRE(folded);
  REQUIRE(retrained);
  const std::vector<float> folded_scores = item_scores(without, *folded);
  const std::vector<float> retrained_scores = item_scores(with, *retrained);
  // Same predicted preferences within 0.1 for all 20 items, and the same order of groups.
  for (std::size_t i = 0; i < folded_scores.size(); ++i) {
    INFO("item " << i << (i < 10 ? " (group A)" : " (group B)"));
    CHECK(folded_scores[i] == Approx(retrained_scores[i]).margin(0.1));
  }
  // The same ranking: group A's items first in both (the order inside the block follows item
  // popularity and is covered by the score tolerance above).
  const auto tier = [&](const std::string& item) { return item[0] == 'a' ? 0 : 1; };
  for (const auto& list : {without.candidates(session_context(items), 10),
                           with.candidates(profile_context("user_a0"), 10)}) {
    REQUIRE(list.size() == 10);
    for (std::size_t rank = 1; rank < list.size(); ++rank) {
      CHECK(tier(list[rank - 1].item) <= tier(list[rank].item));
    }
  }
}

TEST_CASE("HNSW recall at 20 against brute force is at least 0.95 on random vectors",
          "[recs][als]") {
  constexpr std::size_t kCount = 5000;
  constexpr std::size_t kDimension = 32;
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> vectors(kCount * kDimension);
  for (float& value : vectors) value = normal(rng);
  auto index = ItemVectorIndex::build(vectors.data(), kCount, kDimension, HnswOptions{});
  REQUIRE(index);
  REQUIRE((*index)->size() == kCount);
  std::size_t found = 0;
  std::size_t wanted = 0;
  for (int q = 0; q < 200; ++q) {
    std::vector<float> query(kDimension);
    for (float& value : query) value = normal(rng);
    const auto exact = brute_force_top(vectors.data(), kCount, kDimension, query.data(), 20);
    const auto approximate = (*index)->search(query.data(), 20);
    REQUIRE(approximate.size() == 20);
    for (std::size_t i = 1; i < approximate.size(); ++i) {
      CHECK(approximate[i - 1].second >= approximate[i].second);
    }
    std::set<std::uint32_t> truth;
    for (const VectorHit& hit : exact) truth.insert(hit.first);
    for (const VectorHit& hit : approximate) found += truth.count(hit.first);
    wanted += exact.size();
  }
  const double recall = static_cast<double>(found) / static_cast<double>(wanted);
  INFO("recall@20 = " << recall);
  CHECK(recall >= 0.95);
}

TEST_CASE("ALS training is deterministic for a seed", "[recs][als]") {
  const auto train = [](std::uint64_t seed) {
    AlsOptions options = small_options();
    options.factors = 8;
    options.seed = seed;
    auto model = std::make_unique<AlsRecommender>(options);
    feed_blocks(*model, 15);
    REQUIRE(model->retrain_now());
    return model;
  };
  const auto first = train(42);
  const auto second = train(42);
  const auto other = train(43);
  CHECK(first->snapshot()->trained->item_factors == second->snapshot()->trained->item_factors);
  CHECK(first->snapshot()->trained->user_factors == second->snapshot()->trained->user_factors);
  CHECK(first->snapshot()->trained->item_factors != other->snapshot()->trained->item_factors);
  const RecContext context = session_context({"a1", "b2", "a5"});
  const auto a = first->candidates(context, 20);
  const auto b = second->candidates(context, 20);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].item == b[i].item);
    CHECK(a[i].score == b[i].score);
  }
}

TEST_CASE("ALS folds new items in against the trained user factors between retrains",
          "[recs][als]") {
  AlsRecommender model(small_options());
  feed_blocks(model, 30);
  REQUIRE(model.retrain_now());
  CHECK(model.fold_in_items_now() == 0);
  // A new item viewed (twice) by ten group-A users, and one viewed only by a user the model
  // does not know yet (cannot be folded in before the next retrain).
  for (int u = 0; u < 10; ++u) {
    model.observe(event("user_a" + std::to_string(u), "a_new"));
    model.observe(event("user_a" + std::to_string(u), "a_new"));
  }
  model.observe(event("stranger", "unknown_new"));
  CHECK(model.snapshot()->item_vector("a_new") == nullptr);
  CHECK(model.fold_in_items_now() == 1);
  CHECK(model.status().folded_items == 1);
  CHECK(model.snapshot()->item_vector("unknown_new") == nullptr);

  const auto on_a = model.candidates(session_context({"a1", "a2"}), 11);
  const auto on_b = model.candidates(session_context({"b1", "b2"}), 10);
  const auto has_new = [](const std::vector<Candidate>& list) {
    return std::any_of(list.begin(), list.end(),
                       [](const Candidate& c) { return c.item == "a_new"; });
  };
  CHECK(has_new(on_a));
  for (const Candidate& candidate : on_a) CHECK(candidate.item[0] == 'a');
  for (const Candidate& candidate : on_b) CHECK(candidate.item[0] == 'b');  // a_new ranks below

  // The next retrain trains both new items; nothing is left to fold in.
  REQUIRE(model.retrain_now());
  CHECK(model.status().folded_items == 0);
  CHECK(model.status().trained_items == 22);
  CHECK(model.fold_in_items_now() == 0);
}

TEST_CASE("ALS excludes the item on screen and proposes nothing it cannot serve",
          "[recs][als]") {
  AlsRecommender model(small_options());
  CHECK(model.candidates(session_context({"a1"}), 10).empty());  // no model yet
  feed_blocks(model, 20);
  REQUIRE(model.retrain_now());
  RecContext context = session_context({"a1", "a2"});
  context.exclude_current = true;
  const auto list = model.candidates(context, 10);
  REQUIRE(list.size() == 10);
  for (const Candidate& candidate : list) {
    CHECK(candidate.item != "a2");
    CHECK(candidate.score > 0);
  }
  CHECK(model.candidates(session_context({"never_seen"}), 10).empty());
  CHECK(model.candidates(profile_context("nobody"), 10).empty());
}

TEST_CASE("ALS trains no model before min_interactions and says why", "[recs][als]") {
  AlsOptions options = small_options();
  options.min_interactions = 100;
  AlsRecommender model(options);
  model.observe(event("u", "a1"));
  const Status status = model.retrain_now();
  REQUIRE_FALSE(status);
  CHECK(status.error().code == ErrorCode::kFailedPrecondition);
  CHECK(model.snapshot() == nullptr);
  CHECK(model.status().generation == 0);
}

TEST_CASE("ALS log keeps its bounds: users, items per user and items", "[recs][als]") {
  AlsOptions options = small_options();
  options.max_users = 3;
  options.max_user_items = 2;
  options.max_items = 4;
  AlsRecommender model(options);
  for (int u = 0; u < 5; ++u) model.observe(event("u" + std::to_string(u), "i0"));
  model.observe(event("u4", "i1"));
  model.observe(event("u4", "i2"));  // replaces u4's oldest entry
  model.observe(event("u4", "i3"));
  model.observe(event("u4", "i4"));  // a fifth item: dropped
  const ModelStats stats = model.stats();
  CHECK(stats.sessions == 3);
  CHECK(stats.items == 4);
  CHECK(stats.entries == 2 + 1 + 1);  // u4: 2 items; u3, u2: 1 each
  CHECK(stats.dropped_interactions == 1);
}

TEST_CASE("ALS background retrain swaps the model while readers keep reading",
          "[recs][als]") {
  AlsOptions options;
  options.factors = 16;
  options.iterations = 8;
  options.min_interactions = 1;
  options.retrain_interval_ms = 30;
  options.fold_in_interval_ms = 10;
  metrics::Registry registry;
  AlsRecommender model(options, &registry);
  // Enough users that one retrain takes a while (hundreds of ms on this machine).
  feed_blocks(model, 2000);
  REQUIRE(model.retrain_now());
  const std::uint64_t first_generation = model.status().generation;

  // A reader is never held up by a retrain: reads complete while one runs.
  std::atomic<bool> retrain_done{false};
  bool retrained = false;  // Catch2 assertions stay on the main thread
  std::size_t reads_during_retrain = 0;
  std::thread retrainer([&] {
    retrained = static_cast<bool>(model.retrain_now());
    retrain_done = true;
  });
  while (!retrain_done) {
    const auto list = model.candidates(session_context({"a1", "a2"}), 5);
    if (!retrain_done && !list.empty()) ++reads_during_retrain;
  }
  retrainer.join();
  REQUIRE(retrained);
  CHECK(reads_during_retrain > 0);
  CHECK(model.status().generation == first_generation + 1);

  // The scheduler swaps snapshots while the stream flows and readers check each snapshot whole.
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> torn{0};
  std::atomic<std::size_t> reads{0};
  std::atomic<std::uint64_t> generations_seen{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      std::uint64_t last = 0;
      while (!stop) {
        const auto snapshot = model.snapshot();
        const AlsTrainedModel& trained = *snapshot->trained;
        const std::size_t items = trained.item_names.size();
        if (trained.item_factors.size() != items * trained.k || trained.index->size() != items ||
            trained.item_rows.size() != items ||
            trained.user_factors.size() != trained.user_rows.size() * trained.k ||
            snapshot->folded_factors.size() != snapshot->folded_names.size() * trained.k) {
          ++torn;
        }
        const auto list = model.candidates(session_context({"a1", "a2"}), 5);
        if (list.empty() || list.front().item[0] != 'a') ++torn;
        for (std::size_t i = 1; i < list.size(); ++i) {
          if (list[i - 1].score < list[i].score) ++torn;
        }
        if (snapshot->generation != last) {
          last = snapshot->generation;
          ++generations_seen;
        }
        ++reads;
      }
    });
  }
  model.start();
  std::thread writer([&] {
    for (int round = 0; round < 40 && !stop; ++round) {
      for (int u = 0; u < 50; ++u) {
        model.observe(event("late_a" + std::to_string(round * 50 + u), "a" + std::to_string(u % 10)));
        model.observe(event("user_a" + std::to_string(u), "a_fresh" + std::to_string(round)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (model.status().generation < first_generation + 4 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  writer.join();
  stop = true;
  for (std::thread& reader : readers) reader.join();
  model.stop();
  CHECK(model.status().generation >= first_generation + 4);
  CHECK(torn == 0);
  CHECK(reads > 0);
  CHECK(generations_seen >= 2);
  CHECK(registry.value("aisle_collector_recs_als_retrains_total", {{"result", "ok"}}) >= 2);
  CHECK(registry.value("aisle_collector_recs_als_items") > 20);
}

TEST_CASE("ALS options parse with defaults and reject bad values by path", "[recs][als]") {
  auto defaults = parse_recs_models_options(nlohmann::json::object());
  REQUIRE(defaults);
  CHECK_FALSE(defaults->als.enabled);
  CHECK(defaults->als.factors == 32);

  auto parsed = parse_recs_models_options(nlohmann::json::parse(R"({"als": {
      "enabled": true, "factors": 64, "iterations": 12, "regularization": 0.05, "alpha": 20,
      "retrain_interval": "30m", "fold_in_interval": "2m", "weights": {"purchase": 8},
      "hnsw_ef_search": 200, "max_folded_items": 0}})"));
  REQUIRE(parsed);
  CHECK(parsed->als.enabled);
  CHECK(parsed->als.factors == 64);
  CHECK(parsed->als.iterations == 12);
  CHECK(parsed->als.regularization == 0.05);
  CHECK(parsed->als.alpha == 20);
  CHECK(parsed->als.retrain_interval_ms == 30 * 60 * 1000);
  CHECK(parsed->als.fold_in_interval_ms == 2 * 60 * 1000);
  CHECK(parsed->als.weights.purchase == 8);
  CHECK(parsed->als.weights.view == 1);
  CHECK(parsed->als.hnsw_ef_search == 200);
  CHECK(parsed->als.max_folded_items == 0);

  const auto error_of = [](const char* text) {
    auto result = parse_recs_models_options(nlohmann::json::parse(text));
    REQUIRE_FALSE(result);
    return result.error().message;
  };
  CHECK(error_of(R"({"als": {"factors": 1}})") ==
        "recs.models.als.factors: must be between 2 and 256");
  CHECK(error_of(R"({"als": {"regularization": 0}})").find("recs.models.als.regularization") == 0);
  CHECK(error_of(R"({"als": {"retrain_interval": "10ms"}})") ==
        "recs.models.als.retrain_interval: must be at least 1s");
  CHECK(error_of(R"({"als": {"factor": 8}})") == "recs.models.als.factor: unknown key");
  CHECK(error_of(R"({"als": {"weights": {"click": 1}}})") ==
        "recs.models.als.weights.click: unknown key");
}

}  // namespace
}  // namespace aisle::collector::recs
