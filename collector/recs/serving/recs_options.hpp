// RecsOptions: the `recs` section of the collector configuration (docs/recommendations.md,
// "Configuration"): strategies (weighted blends of candidate sources), placements, business
// rules, experiments, session state and limits. parse_recs_options() checks every key and value
// and names the offending path, so a typo is a startup error and not a silently ignored rule.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/recs/serving/experiments.hpp"
#include "common/result.hpp"

namespace aisle::collector::recs {

// A strategy: candidate source name ("item_knn", "vsknn", "popularity", "als") -> weight.
// Scores of each source are normalized to [0, 1] (divided by its best) before weighting.
using StrategyWeights = std::map<std::string, double>;

// How the top n are spread over categories. Both off: pure score order.
struct DiversityOptions {
  std::size_t max_per_category = 0;  // 0: no cap; otherwise at most this many per category
  double mmr_lambda = 1.0;           // < 1: maximal marginal relevance, same category = similar
  std::size_t category_depth = 1;    // "coffee/beans/arabica" at depth 1 is "coffee"; 0 = full
};

struct PlacementOptions {
  std::string strategy;          // default strategy (when no experiment runs); "" = recs default
  bool exclude_current = true;   // never recommend context_item
  bool exclude_cart = false;     // leave out what is already in the cart (e.g. "cart" placement)
  DiversityOptions diversity;
};

// A score multiplier for candidates matching every given criterion (empty criteria match all).
// multiplier > 1 boosts, < 1 buries, 0 removes.
struct BoostRule {
  std::string category;  // category prefix: "coffee" matches "coffee/beans"
  std::string item;      // one sku
  std::optional<double> min_price;  // inclusive
  std::optional<double> max_price;  // exclusive
  double multiplier = 1.0;
};

struct ExcludePurchasedOptions {
  std::chrono::milliseconds window{std::chrono::hours(24 * 30)};
  // Per category prefix: its own window; 0 turns the exclusion off (consumables bought again).
  // The longest matching prefix wins.
  std::map<std::string, std::chrono::milliseconds> category_windows;
};

struct SessionOptions {
  std::chrono::milliseconds gap{std::chrono::minutes(30)};  // inactivity that starts a session
  std::size_t max_profiles = 1'000'000;  // LRU bound of per-profile state
  std::size_t session_items = 20;        // last items kept per session
  std::size_t cart_items = 50;
  std::size_t recent_purchases = 50;
};

struct AttributionOptions {
  std::size_t max_exposures = 1'000'000;  // rec_ids remembered for attribution (oldest dropped)
  std::chrono::milliseconds window{std::chrono::hours(24)};  // a click/purchase after is ignored
};

// The catalog database and its upload limits (PUT /v1/catalog/items).
struct CatalogSectionOptions {
  std::string path;  // default <data>/catalog.db
  bool synchronous_full = false;
  std::size_t max_items = 2'000'000;              // items the catalog may hold
  std::size_t max_upload_bytes = 8 * 1024 * 1024;  // one PUT body (the HTTP server's limit too)
  std::size_t max_upload_items = 100'000;          // items in one PUT
  std::size_t max_stores_per_item = 10'000;        // availability entries per item
};

struct RecsOptions {
  bool enabled = true;
  CatalogSectionOptions catalog;
  std::map<std::string, StrategyWeights> strategies = {
      {"blended", {{"item_knn", 1.0}, {"vsknn", 1.0}, {"als", 0.5}}},
      {"popular", {{"popularity", 1.0}}}};
  std::string default_strategy = "blended";
  std::map<std::string, PlacementOptions> placements;  // unknown placements use `default_placement`
  PlacementOptions default_placement;
  // Name of the source the fallback chain asks (store, then global); it also fills short lists.
  std::string popularity_source = "popularity";
  // Personalize only when the profile's personalization consent is granted; with this set,
  // "unknown" (never asked) personalizes too. Denied never does.
  bool personalize_unknown_consent = false;
  ExcludePurchasedOptions exclude_purchased;
  std::vector<BoostRule> boosts;
  SessionOptions session;
  AttributionOptions attribution;
  std::size_t default_n = 10;
  std::size_t max_n = 100;
  std::size_t candidate_multiplier = 4;  // each source is asked for n * this, before the rules
  std::map<std::string, ExperimentConfig> experiments;  // placement -> experiment
  std::string experiments_path;  // where API changes to experiments persist ("" = memory only)
  std::chrono::milliseconds snapshot_interval{std::chrono::minutes(15)};
  std::size_t snapshot_neighbours = 20;  // per item in a store snapshot
  std::size_t snapshot_popular = 200;    // store-popular items in a snapshot
  std::size_t snapshot_max_items = 20000;  // assortment items with neighbour lists

  const PlacementOptions& placement(const std::string& name) const;
};

// Parses the `recs` section (an object; absent keys keep their defaults). `data_dir` is where
// catalog.db and experiments.json go by default. Errors name the path: "recs.placements.cart.diversity.
// max_per_category: must be an integer >= 0".
Result<RecsOptions> parse_recs_options(const nlohmann::json& section, const std::string& data_dir);

}  // namespace aisle::collector::recs
