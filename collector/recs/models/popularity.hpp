// Popularity: exponentially decayed interaction counts per store (and overall), per category and
// per hour of day (UTC), the fallback for cold start, shoppers without personalization consent
// and offline agents.
//
// Each table holds at most max_items_per_key counters (when full the weaker half is pruned,
// amortized O(1) per update) and keeps its best top_cached items ready, maintained exactly on
// every update (so a request never sorts a whole table). At most max_keys
// store and category tables exist; interactions for further keys still count overall.
//
// A request blends, each normalized to a maximum of 1: the store's table (the overall one when the
// store is unknown), the table of the request's hour of day, and the table of the category of the
// item on screen.
//
// Threads: observe() from one stream thread (exclusive lock), candidates() from many (shared).
#pragma once

#include <array>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/recs/models/decay.hpp"
#include "collector/recs/models/item_ids.hpp"
#include "collector/recs/models/model_options.hpp"
#include "collector/recs/models/model_support.hpp"
#include "collector/recs/rec_types.hpp"

namespace aisle::collector::recs {

class Popularity final : public CandidateSource {
 public:
  explicit Popularity(PopularityOptions options, std::string name = "popularity");

  const char* name() const override { return name_.c_str(); }
  void observe(const Interaction& interaction) override;
  std::vector<Candidate> candidates(const RecContext& context, std::size_t n) const override;

  ModelStats stats() const;

 private:
  struct Table {
    std::unordered_map<ItemId, double> counts;
    std::vector<ScoredItem> top;  // best first, at most top_cached
  };

  void update(Table& table, ItemId item, double value);
  Table* keyed_table(std::unordered_map<std::string, Table>& tables, const std::string& key);
  void rebase(UnixMillis at);
  static void blend(const Table& table, double weight, std::unordered_map<ItemId, double>& scores);

  const std::string name_;
  const PopularityOptions options_;
  const std::size_t top_cached_;

  mutable std::shared_mutex mutex_;
  ItemIds ids_;
  ForwardDecay decay_;
  Table overall_;
  std::array<Table, 24> by_hour_;
  std::unordered_map<std::string, Table> by_store_;
  std::unordered_map<std::string, Table> by_category_;
  std::vector<std::string> category_of_;  // by ItemId, the latest category seen
  std::size_t dropped_ = 0;
};

}  // namespace aisle::collector::recs
