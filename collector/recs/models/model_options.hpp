// Options of the recommendation models: the `recs.models` config section
// (docs/recommendation-models.md documents every key, its default and its bounds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace aisle::collector::recs {

// Weights of the interaction kinds (view, cart, purchase) in the co-occurrence and popularity
// counts: a purchase says more about an item than a view.
struct KindWeights {
  double view = 1;
  double cart = 3;
  double purchase = 5;
};

// Session-based kNN (SKNN / V-SKNN, Ludewig & Jannach 2018).
struct SessionKnnOptions {
  enum class Similarity {
    kCosine,         // SKNN: |a ∩ b| / sqrt(|a| |b|) over the sessions' item sets
    kPositionDecay,  // V-SKNN: the current session's items weighted by recency (linear decay)
  };
  Similarity similarity = Similarity::kPositionDecay;
  std::size_t neighbours = 100;            // k: neighbour sessions whose items are scored
  std::size_t sample_size = 500;           // most recent sessions sharing an item, compared
  std::size_t sessions_per_item = 1000;    // M: most recent sessions kept per item (postings)
  std::size_t max_sessions = 200'000;      // past sessions kept in total (oldest evicted)
  std::size_t max_session_items = 50;      // distinct items kept per session
  std::size_t max_items = 1'000'000;       // distinct items indexed; more are dropped
  // V-SKNN: the weight of the current session's item at distance d from the end (0 = last) is
  // max(1 - position_decay * d, position_floor).
  double position_decay = 0.1;
  double position_floor = 0.1;
  // V-SKNN: a neighbour's items count 1/step, step = how far back in the current session the most
  // recent item it shares lies (1 = it contains the item on screen).
  bool match_decay = true;
  // Weight the current session's items by log(sessions / sessions with the item): rare shared
  // items say more about a neighbour than best-sellers.
  bool idf = true;
  // The "re-click" blend: items of the current session itself get
  // reclick_weight * (sum over their occurrences of reclick_decay^distance-from-end), added to the
  // kNN scores normalized to a maximum of 1. 0 turns the blend off (pure kNN).
  double reclick_weight = 0;
  double reclick_decay = 0.5;
};

// Item-to-item co-occurrence (item-kNN).
struct ItemKnnOptions {
  KindWeights weights;
  std::int64_t half_life_ms = 7LL * 24 * 3600 * 1000;  // <= 0: no decay
  std::size_t neighbours_kept = 100;  // counters kept per item (space-saving when full)
  std::size_t session_window = 2;     // last items of a session paired with a new interaction
  std::size_t max_sessions = 100'000; // open sessions tracked (oldest evicted)
  std::size_t max_items = 1'000'000;
  // How many of the current session's last items query their neighbours, the older ones weighted
  // context_decay^distance.
  std::size_t context_items = 3;
  double context_decay = 0.5;
  // A repeated interaction with an item in the same session counts as the item co-occurring with
  // itself (re-clicks are data too); false drops such pairs.
  bool count_repeats = true;
};

// Popularity per store, per category and per hour of day (UTC), exponentially decayed.
struct PopularityOptions {
  KindWeights weights;
  std::int64_t half_life_ms = 24LL * 3600 * 1000;  // <= 0: no decay
  std::size_t max_items_per_key = 10'000;  // counters per table; the weaker half pruned when full
  std::size_t max_keys = 10'000;           // stores + categories tracked
  std::size_t max_items = 1'000'000;
  std::size_t top_cached = 200;  // best items per table kept ready (<= max_items_per_key / 2)
  // Blend of the tables (each normalized to a maximum of 1): store (or global when the store is
  // unknown), the current hour of day, and the category of the item on screen.
  double store_weight = 1;
  double hour_weight = 0.3;
  double category_weight = 0.5;
};

// Matrix factorization for implicit feedback: ALS with confidence weighting (Hu, Koren &
// Volinsky 2008), exact per-row Cholesky solves, retrained in the background, new sessions and
// items folded in between retrains, item vectors in an HNSW index (als_model.hpp).
struct AlsOptions {
  // The collector runs the model only when set: a retrain costs a core for seconds to minutes.
  bool enabled = false;
  KindWeights weights;              // r_ui sums these over a user's interactions with an item
  std::size_t factors = 32;         // k
  std::size_t iterations = 10;      // alternating sweeps (users, then items) per retrain
  double regularization = 0.1;      // lambda (> 0: every solve is positive definite)
  double alpha = 10;                // confidence c_ui = 1 + alpha * r_ui
  std::uint64_t seed = 42;          // initial factors and the HNSW levels: same log, same model
  std::int64_t retrain_interval_ms = 3600LL * 1000;  // background retrain period
  std::int64_t fold_in_interval_ms = 60LL * 1000;    // new items folded in between retrains
  std::size_t min_interactions = 100;  // logged (user, item) pairs before a first model is trained
  // The interaction log retrains read: users are profiles (anonymous sessions when no profile).
  std::size_t max_users = 1'000'000;   // oldest user evicted beyond this
  std::size_t max_user_items = 200;    // distinct items per user (oldest replaced)
  std::size_t max_items = 1'000'000;   // distinct items; interactions with more are dropped
  std::size_t max_folded_items = 10'000;  // new items folded in between two retrains
  std::size_t fold_in_users_per_item = 256;  // users a new item's fold-in remembers (first seen)
  std::size_t context_items = 20;      // last session items a request folds in
  // HNSW (hnswlib, inner product) over the item vectors.
  std::size_t hnsw_m = 16;
  std::size_t hnsw_ef_construction = 200;
  std::size_t hnsw_ef_search = 100;
};

struct RecsModelsOptions {
  SessionKnnOptions session_knn;
  ItemKnnOptions item_knn;
  PopularityOptions popularity;
  AlsOptions als;
};

// Parses the `recs.models` section:
// {"session_knn": {...}, "item_knn": {...}, "popularity": {...}, "als": {...}}.
// Unknown keys and out-of-range values are errors naming the key path and the bound.
Result<RecsModelsOptions> parse_recs_models_options(const nlohmann::json& section);
Result<SessionKnnOptions> parse_session_knn_options(const nlohmann::json& section);
Result<ItemKnnOptions> parse_item_knn_options(const nlohmann::json& section);
Result<PopularityOptions> parse_popularity_options(const nlohmann::json& section);
Result<AlsOptions> parse_als_options(const nlohmann::json& section);

}  // namespace aisle::collector::recs
