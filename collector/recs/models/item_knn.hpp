// ItemKnn: item-to-item co-occurrence learned from the stream. Two items interacted with in the
// same session (within the session's last session_window interactions) co-occur with weight
// w(kind a) * w(kind b), time-decayed (forward decay, half_life); an item's norm sums w(kind)^2.
// Similarity is cosine-like: c(a,b) / sqrt(norm(a) norm(b)). Each item keeps at most
// neighbours_kept counters: when full, a new neighbour replaces the weakest and inherits its count
// (space-saving, Metwally et al. 2005: heavy neighbours are never lost, light ones are estimates).
//
// A request scores the neighbours of the current session's last context_items items.
//
// Memory: max_items x neighbours_kept x 8 bytes of counters + max_sessions x session_window x 8.
// Threads: as SessionKnn — observe() from one stream thread under an exclusive lock,
// candidates() from many under a shared lock.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "collector/recs/models/decay.hpp"
#include "collector/recs/models/item_ids.hpp"
#include "collector/recs/models/model_options.hpp"
#include "collector/recs/models/model_support.hpp"
#include "collector/recs/rec_types.hpp"

namespace aisle::collector::recs {

class ItemKnn final : public CandidateSource {
 public:
  explicit ItemKnn(ItemKnnOptions options, std::string name = "item_knn");

  const char* name() const override { return name_.c_str(); }
  void observe(const Interaction& interaction) override;
  std::vector<Candidate> candidates(const RecContext& context, std::size_t n) const override;

  // The similarity the model holds between two items (0 when not neighbours), for tests.
  double similarity(const std::string& from, const std::string& to) const;
  ModelStats stats() const;

 private:
  struct Counter {
    ItemId item = 0;
    float value = 0;
  };
  struct Row {
    std::vector<Counter> counters;
    double norm = 0;
  };
  struct RecentItem {
    ItemId item = 0;
    float weight = 0;
  };
  struct OpenSession {
    std::uint32_t generation = 0;
    std::string key;
    std::vector<RecentItem> recent;  // ring of the last session_window interactions
    std::uint32_t head = 0;
  };

  void add(ItemId row, ItemId neighbour, double value);
  OpenSession& open_session(const std::string& key);
  void rebase(UnixMillis at);
  double similarity_locked(ItemId from, const Counter& counter) const;

  const std::string name_;
  const ItemKnnOptions options_;

  mutable std::shared_mutex mutex_;
  ItemIds ids_;
  ForwardDecay decay_;
  std::vector<Row> rows_;  // by ItemId
  std::vector<OpenSession> sessions_;
  std::uint32_t next_slot_ = 0;
  std::uint32_t next_generation_ = 1;
  std::unordered_map<std::string, std::pair<std::uint32_t, std::uint32_t>> by_key_;  // slot, gen
  std::size_t dropped_ = 0;
};

double kind_weight(const KindWeights& weights, InteractionKind kind);

}  // namespace aisle::collector::recs
