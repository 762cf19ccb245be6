#include "agent/recs/local_model.hpp"

#include <algorithm>
#include <unordered_set>

namespace aisle::agent::recs {

void LocalModel::set_snapshot(wire::RecSnapshot snapshot) {
  auto index = std::make_shared<Indexed>();
  index->snapshot = std::move(snapshot);
  index->items.reserve(index->snapshot.items.size());
  for (const auto& item : index->snapshot.items) index->items.emplace(item.sku, &item);
  for (const auto& entry : index->snapshot.popularity) {
    index->popularity.emplace(entry.sku, entry.score);
    index->max_popularity = std::max(index->max_popularity, entry.score);
  }
  std::lock_guard lock(mutex_);
  index_ = std::move(index);
}

std::shared_ptr<const LocalModel::Indexed> LocalModel::current() const {
  std::lock_guard lock(mutex_);
  return index_;
}

bool LocalModel::has_snapshot() const {
  return current() != nullptr;
}

std::pair<UnixMillis, std::uint64_t> LocalModel::snapshot_version() const {
  const auto index = current();
  if (!index) return {0, 0};
  return {index->snapshot.generated_at, index->snapshot.model_generation};
}

bool LocalModel::available(const Indexed& index, std::string_view sku) const {
  const auto found = index.items.find(sku);
  return found == index.items.end() || found->second->available;
}

std::vector<RecItem> LocalModel::recommend(const std::vector<RecentItem>& history,
                                           const std::string& context_item, std::size_t n) const {
  std::vector<RecItem> out;
  const auto index = current();
  if (!index || n == 0) return out;
  std::unordered_set<std::string_view> excluded;
  if (!context_item.empty()) excluded.insert(context_item);
  for (const auto& item : history) {
    if (item.action == ItemAction::kPurchase) excluded.insert(item.sku);
  }

  // Neighbour scores of the recent items, weighted by action and recency.
  std::unordered_map<std::string_view, double> personal;
  double max_personal = 0;
  for (std::size_t rank = 0; rank < history.size(); ++rank) {
    const auto found = index->items.find(history[rank].sku);
    if (found == index->items.end()) continue;
    const double action_weight = history[rank].action == ItemAction::kPurchase
                                     ? weights_.purchase_weight
                                 : history[rank].action == ItemAction::kCart ? weights_.cart_weight
                                                                             : weights_.view_weight;
    const double weight = action_weight / static_cast<double>(1 + rank);
    for (const auto& neighbour : found->second->neighbours) {
      double& score = personal[neighbour.sku];
      score += weight * neighbour.score;
      max_personal = std::max(max_personal, score);
    }
  }
  if (max_personal > 0) {
    std::vector<RecItem> scored;
    scored.reserve(personal.size());
    for (const auto& [sku, score] : personal) {
      if (excluded.count(sku) || !available(*index, sku)) continue;
      double total = score / max_personal;
      if (index->max_popularity > 0) {
        const auto pop = index->popularity.find(sku);
        if (pop != index->popularity.end()) {
          total += weights_.popularity_weight * pop->second / index->max_popularity;
        }
      }
      scored.push_back({std::string(sku), total, kLocalNeighbourSource});
    }
    // Ties broken by sku so answers are stable across runs and hash orders.
    std::sort(scored.begin(), scored.end(), [](const RecItem& a, const RecItem& b) {
      return a.score != b.score ? a.score > b.score : a.sku < b.sku;
    });
    if (scored.size() > n) scored.resize(n);
    out = std::move(scored);
  }
  // Reserved before views into the items are taken: no reallocation moves their strings.
  out.reserve(n);
  std::unordered_set<std::string_view> taken;
  for (const auto& item : out) taken.insert(item.sku);
  // Filled up with the store's popular items, on the popularity scale below the personal ones.
  for (const auto& entry : index->snapshot.popularity) {
    if (out.size() >= n) break;
    if (excluded.count(entry.sku) || taken.count(entry.sku) || !available(*index, entry.sku)) {
      continue;
    }
    const double score = index->max_popularity > 0
                             ? weights_.popularity_weight * entry.score / index->max_popularity
                             : 0;
    out.push_back({entry.sku, score, kLocalPopularitySource});
  }
  return out;
}

}  // namespace aisle::agent::recs
