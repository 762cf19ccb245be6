// The blender: merges the candidate lists of several sources into one ranking (weighted sum of
// per-source normalized scores), then applies the business rules (exclusions, boost/bury) and
// spreads the top n over categories. Pure functions over their inputs, so each rule is tested on
// its own (tests/unit/collector/recs_serving_blender_test.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collector/recs/rec_types.hpp"
#include "collector/recs/serving/catalog.hpp"
#include "collector/recs/serving/recs_options.hpp"
#include "collector/recs/serving/session_store.hpp"

namespace aisle::collector::recs {

struct RankedItem {
  std::string item;
  double score = 0;
  std::string source;    // the source that contributed most to the score
  std::string category;  // from the catalog ("" when unknown); filled by apply_rules
  double price = -1;     // from the catalog (-1 when unknown)
};

struct SourceCandidates {
  std::string source;
  double weight = 1.0;
  std::vector<Candidate> candidates;  // best first
};

// Weighted sum of scores normalized per source (each divided by its best, non-positive scores
// dropped), best first; ties broken by sku so answers are reproducible.
std::vector<RankedItem> blend(const std::vector<SourceCandidates>& sources);

// What the rules need to know about the request and the shopper.
struct RuleInput {
  std::string store_id;
  std::string context_item;
  bool exclude_current = true;
  bool exclude_cart = false;
  std::vector<std::string> cart;
  std::vector<PurchaseRecord> purchases;
  UnixMillis now = 0;
};

// The window during which a purchase in `category` keeps the item out (0 = never excluded):
// the longest configured category prefix, else the default window.
std::chrono::milliseconds purchase_window(const ExcludePurchasedOptions& options,
                                          std::string_view category);
// True when `category` is `prefix` or below it ("coffee" covers "coffee/beans", not "coffeemaker").
bool category_matches(std::string_view category, std::string_view prefix);
// The category cut to its first `depth` levels (0 = whole).
std::string category_at_depth(std::string_view category, std::size_t depth);

// Removes what the rules exclude (the current item, the cart when configured, purchases within
// their window, items out of stock in the store per the catalog) and multiplies scores by the
// matching boost rules (a 0 multiplier removes). Fills category and price from the catalog
// (`catalog` may be null: then only item-based rules apply). Re-sorts best first.
void apply_rules(std::vector<RankedItem>& items, const RuleInput& input, const RecsOptions& options,
                 const Catalog* catalog);

// The best `n` with at most `max_per_category` per category, or MMR (relevance against
// similarity = same category) when mmr_lambda < 1. Input best first.
std::vector<RankedItem> diversify(std::vector<RankedItem> items, const DiversityOptions& options,
                                  std::size_t n);

}  // namespace aisle::collector::recs
