#include "collector/recs/models/popularity.hpp"

#include <algorithm>
#include <mutex>

#include "collector/recs/models/item_knn.hpp"

namespace aisle::collector::recs {
namespace {

constexpr std::int64_t kHourMs = 3'600'000;

std::size_t hour_of_day(UnixMillis at) {
  return static_cast<std::size_t>(((at / kHourMs) % 24 + 24) % 24);
}

bool better(const ScoredItem& a, const ScoredItem& b) {
  return a.second != b.second ? a.second > b.second : a.first < b.first;
}

}  // namespace

Popularity::Popularity(PopularityOptions options, std::string name)
    : name_(std::move(name)),
      options_(options),
      top_cached_(std::min(options.top_cached, options.max_items_per_key / 2)),
      ids_(options.max_items),
      decay_(options.half_life_ms) {}

void Popularity::update(Table& table, ItemId item, double value) {
  const double count = (table.counts[item] += value);
  if (table.counts.size() > options_.max_items_per_key) {
    // Keep the stronger half: amortized O(1) per update, and the table never exceeds its bound.
    // The top list survives untouched: top_cached <= max_items_per_key / 2.
    std::vector<ScoredItem> all(table.counts.begin(), table.counts.end());
    const std::size_t keep = options_.max_items_per_key / 2;
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                     better);
    all.resize(keep);
    table.counts = std::unordered_map<ItemId, double>(all.begin(), all.end());
  }
  // Counts only grow (decay inflates new weights instead of shrinking old ones), so the top list
  // stays exact when each updated item is moved up or let in past the weakest entry.
  std::vector<ScoredItem>& top = table.top;
  auto it = std::find_if(top.begin(), top.end(),
                         [item](const ScoredItem& entry) { return entry.first == item; });
  if (it == top.end()) {
    if (top.size() < top_cached_) {
      top.emplace_back(item, count);
    } else if (better({item, count}, top.back())) {
      top.back() = {item, count};
    } else {
      return;
    }
    it = top.end() - 1;
  } else {
    it->second = count;
  }
  while (it != top.begin() && better(*it, *(it - 1))) {
    std::iter_swap(it, it - 1);
    --it;
  }
}

Popularity::Table* Popularity::keyed_table(std::unordered_map<std::string, Table>& tables,
                                           const std::string& key) {
  if (key.empty()) return nullptr;
  if (const auto it = tables.find(key); it != tables.end()) return &it->second;
  if (by_store_.size() + by_category_.size() >= options_.max_keys) return nullptr;
  return &tables[key];
}

void Popularity::rebase(UnixMillis at) {
  const double multiplier = decay_.rebase(at);
  const auto scale = [multiplier](Table& table) {
    for (auto& entry : table.counts) entry.second *= multiplier;
    for (auto& entry : table.top) entry.second *= multiplier;
  };
  scale(overall_);
  for (Table& table : by_hour_) scale(table);
  for (auto& entry : by_store_) scale(entry.second);
  for (auto& entry : by_category_) scale(entry.second);
}

void Popularity::observe(const Interaction& interaction) {
  std::unique_lock lock(mutex_);
  const auto item = ids_.intern(interaction.item);
  if (!item) {
    ++dropped_;
    return;
  }
  if (*item >= category_of_.size()) category_of_.resize(*item + 1);
  if (!interaction.category.empty()) category_of_[*item] = interaction.category;
  if (decay_.needs_rebase(interaction.at)) rebase(interaction.at);
  const double value =
      kind_weight(options_.weights, interaction.kind) * decay_.factor(interaction.at);
  update(overall_, *item, value);
  update(by_hour_[hour_of_day(interaction.at)], *item, value);
  if (Table* table = keyed_table(by_store_, interaction.store_id)) update(*table, *item, value);
  if (Table* table = keyed_table(by_category_, interaction.category)) update(*table, *item, value);
}

void Popularity::blend(const Table& table, double weight,
                       std::unordered_map<ItemId, double>& scores) {
  if (weight <= 0 || table.top.empty() || table.top.front().second <= 0) return;
  const double best = table.top.front().second;
  for (const auto& [item, count] : table.top) scores[item] += weight * count / best;
}

std::vector<Candidate> Popularity::candidates(const RecContext& context, std::size_t n) const {
  std::shared_lock lock(mutex_);
  std::unordered_map<ItemId, double> scores;
  const Table* store = nullptr;
  if (!context.store_id.empty()) {
    if (const auto it = by_store_.find(context.store_id); it != by_store_.end()) {
      store = &it->second;
    }
  }
  blend(store != nullptr ? *store : overall_, options_.store_weight, scores);
  if (context.now > 0) blend(by_hour_[hour_of_day(context.now)], options_.hour_weight, scores);
  if (const auto item = ids_.find(context.context_item)) {
    if (const auto it = by_category_.find(category_of_[*item]); it != by_category_.end()) {
      blend(it->second, options_.category_weight, scores);
    }
  }
  std::vector<ScoredItem> ranked(scores.begin(), scores.end());
  return top_candidates(std::move(ranked), n, excluded_item(context, ids_), ids_);
}

ModelStats Popularity::stats() const {
  std::shared_lock lock(mutex_);
  ModelStats stats;
  stats.items = ids_.size();
  stats.dropped_interactions = dropped_;
  std::size_t bytes = ids_.approx_bytes() + category_of_.capacity() * sizeof(std::string);
  const auto count = [&](const Table& table) {
    stats.entries += table.counts.size();
    bytes += table.counts.size() * 32 + table.counts.bucket_count() * 8 +
             table.top.capacity() * sizeof(ScoredItem);
  };
  count(overall_);
  for (const Table& table : by_hour_) count(table);
  for (const auto& entry : by_store_) count(entry.second);
  for (const auto& entry : by_category_) count(entry.second);
  stats.approx_bytes = bytes;
  return stats;
}

}  // namespace aisle::collector::recs
