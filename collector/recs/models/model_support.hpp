// Small pieces every model shares: its size figures, the bounded session ring and the final
// top-n selection.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "collector/recs/models/item_ids.hpp"
#include "collector/recs/rec_types.hpp"

namespace aisle::collector::recs {

// What a model holds, for gauges (aisle_collector_recs_model_*), the bench and the tests that
// check memory stays bounded.
struct ModelStats {
  std::size_t items = 0;              // distinct items known
  std::size_t sessions = 0;           // sessions held (past or open)
  std::size_t entries = 0;            // postings / counters held
  std::size_t approx_bytes = 0;       // rough heap footprint
  std::size_t dropped_interactions = 0;  // refused because an item bound was reached
};

using ScoredItem = std::pair<ItemId, double>;

// The best `n` of `scores` (higher first, ties by id for determinism), without `excluded`, named.
inline std::vector<Candidate> top_candidates(std::vector<ScoredItem> scores, std::size_t n,
                                             std::optional<ItemId> excluded, const ItemIds& ids) {
  if (excluded) {
    scores.erase(std::remove_if(scores.begin(), scores.end(),
                                [&](const ScoredItem& s) { return s.first == *excluded; }),
                 scores.end());
  }
  const auto better = [](const ScoredItem& a, const ScoredItem& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const std::size_t keep = std::min(n, scores.size());
  std::partial_sort(scores.begin(), scores.begin() + static_cast<std::ptrdiff_t>(keep),
                    scores.end(), better);
  std::vector<Candidate> result;
  result.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) result.push_back({ids.name(scores[i].first), scores[i].second});
  return result;
}

// The item a request must not get back: the one on screen, when the context says so.
inline std::optional<ItemId> excluded_item(const RecContext& context, const ItemIds& ids) {
  if (!context.exclude_current || context.context_item.empty()) return std::nullopt;
  return ids.find(context.context_item);
}

// The slot of a new entry in a ring of at most `capacity` entries: appended (default-constructed)
// while there is room, then the oldest slot is reused in turn (`next` remembers which). Returns
// the slot and whether it held an entry the caller must forget first.
template <typename Entry>
std::pair<std::uint32_t, bool> claim_ring_slot(std::vector<Entry>& ring, std::size_t capacity,
                                               std::uint32_t& next) {
  if (ring.size() < capacity) {
    ring.emplace_back();
    return {static_cast<std::uint32_t>(ring.size() - 1), false};
  }
  const std::uint32_t slot = next;
  next = static_cast<std::uint32_t>((next + 1) % capacity);
  return {slot, true};
}

}  // namespace aisle::collector::recs
