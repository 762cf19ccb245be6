// LocalModel: the store-local recommender the agent falls back to while the collector is
// unreachable and the cache has nothing for the shopper. It holds the latest snapshot
// (wire::RecSnapshot: the store's popularity and its assortment's top-K neighbours) and scores,
// for a shopper's recent local items, each neighbour c by
//
//   personal(c) = sum over recent items i of  action_weight(i) * recency(i) * sim(i, c)
//   recency(i)  = 1 / (1 + rank of i in the history, most recent = 0)
//   score(c)    = personal(c) / max personal + popularity_weight * pop(c) / max pop
//
// excluding items that are unavailable in the store, the item on screen and what the shopper
// bought; the list is filled up with popular items when the neighbours run out. Without history
// (or consent) the answer is the store's popularity alone.
//
// Thread-safe: set_snapshot() swaps an immutable index under a mutex; answers read a
// shared_ptr to it and run without a lock.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/recs/rec_answer.hpp"
#include "agent/recs/shopper_history.hpp"
#include "common/wire/rec_snapshot.hpp"

namespace aisle::agent::recs {

struct LocalModelWeights {
  double popularity_weight = 0.2;
  double view_weight = 1;
  double cart_weight = 3;
  double purchase_weight = 5;
};

inline constexpr const char* kLocalNeighbourSource = "local_item_knn";
inline constexpr const char* kLocalPopularitySource = "local_popularity";

class LocalModel {
 public:
  explicit LocalModel(LocalModelWeights weights) : weights_(weights) {}

  void set_snapshot(wire::RecSnapshot snapshot);
  bool has_snapshot() const;
  // generated_at and model_generation of the held snapshot (0, 0 without one).
  std::pair<UnixMillis, std::uint64_t> snapshot_version() const;

  // Best first, at most n. `history` empty: popularity alone.
  std::vector<RecItem> recommend(const std::vector<RecentItem>& history,
                                 const std::string& context_item, std::size_t n) const;

 private:
  struct Indexed {
    wire::RecSnapshot snapshot;
    std::unordered_map<std::string_view, const wire::SnapshotItem*> items;
    double max_popularity = 0;
    std::unordered_map<std::string_view, double> popularity;
  };
  std::shared_ptr<const Indexed> current() const;
  bool available(const Indexed& index, std::string_view sku) const;

  const LocalModelWeights weights_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Indexed> index_;
};

}  // namespace aisle::agent::recs
