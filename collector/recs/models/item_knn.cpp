#include "collector/recs/models/item_knn.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

namespace aisle::collector::recs {

double kind_weight(const KindWeights& weights, InteractionKind kind) {
  switch (kind) {
    case InteractionKind::kView:
      return weights.view;
    case InteractionKind::kCart:
      return weights.cart;
    case InteractionKind::kPurchase:
      return weights.purchase;
  }
  return weights.view;
}

ItemKnn::ItemKnn(ItemKnnOptions options, std::string name)
    : name_(std::move(name)),
      options_(options),
      ids_(options.max_items),
      // Counters are floats: keep the stored inflation below 2^100.
      decay_(options.half_life_ms, 100) {}

void ItemKnn::add(ItemId row_id, ItemId neighbour, double value) {
  std::vector<Counter>& counters = rows_[row_id].counters;
  std::size_t weakest = 0;
  for (std::size_t i = 0; i < counters.size(); ++i) {
    if (counters[i].item == neighbour) {
      counters[i].value += static_cast<float>(value);
      return;
    }
    if (counters[i].value < counters[weakest].value) weakest = i;
  }
  if (counters.size() < options_.neighbours_kept) {
    counters.push_back({neighbour, static_cast<float>(value)});
    return;
  }
  counters[weakest] = {neighbour, counters[weakest].value + static_cast<float>(value)};
}

ItemKnn::OpenSession& ItemKnn::open_session(const std::string& key) {
  if (const auto it = by_key_.find(key); it != by_key_.end()) return sessions_[it->second.first];
  const auto [slot, reused] = claim_ring_slot(sessions_, options_.max_sessions, next_slot_);
  if (reused) by_key_.erase(sessions_[slot].key);
  OpenSession& session = sessions_[slot];
  session.generation = next_generation_++;
  session.key = key;
  session.recent.clear();
  session.head = 0;
  by_key_[key] = {slot, session.generation};
  return session;
}

void ItemKnn::rebase(UnixMillis at) {
  const double multiplier = decay_.rebase(at);
  for (Row& row : rows_) {
    row.norm *= multiplier;
    for (Counter& counter : row.counters) counter.value *= static_cast<float>(multiplier);
  }
}

void ItemKnn::observe(const Interaction& interaction) {
  std::unique_lock lock(mutex_);
  const auto item = ids_.intern(interaction.item);
  if (!item) {
    ++dropped_;
    return;
  }
  if (*item >= rows_.size()) rows_.resize(*item + 1);
  if (decay_.needs_rebase(interaction.at)) rebase(interaction.at);
  const double weight = kind_weight(options_.weights, interaction.kind);
  const double factor = decay_.factor(interaction.at);
  rows_[*item].norm += weight * weight * factor;
  OpenSession& session = open_session(interaction.session_key);
  for (const RecentItem& recent : session.recent) {
    if (recent.item == *item && !options_.count_repeats) continue;
    const double value = weight * recent.weight * factor;
    add(*item, recent.item, value);
    if (recent.item != *item) add(recent.item, *item, value);
  }
  const RecentItem now{*item, static_cast<float>(weight)};
  if (session.recent.size() < options_.session_window) {
    session.recent.push_back(now);
  } else {
    session.recent[session.head] = now;
    session.head = static_cast<std::uint32_t>((session.head + 1) % session.recent.size());
  }
}

double ItemKnn::similarity_locked(ItemId from, const Counter& counter) const {
  const double norms = rows_[from].norm * rows_[counter.item].norm;
  return norms > 0 ? static_cast<double>(counter.value) / std::sqrt(norms) : 0;
}

std::vector<Candidate> ItemKnn::candidates(const RecContext& context, std::size_t n) const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> fallback;
  const std::vector<std::string>* session_items = &context.session_items;
  if (session_items->empty() && !context.context_item.empty()) {
    fallback.push_back(context.context_item);
    session_items = &fallback;
  }
  std::unordered_map<ItemId, double> scores;
  double weight = 1;
  std::size_t used = 0;
  for (auto it = session_items->rbegin();
       it != session_items->rend() && used < options_.context_items; ++it) {
    const auto id = ids_.find(*it);
    if (!id) continue;
    for (const Counter& counter : rows_[*id].counters) {
      scores[counter.item] += weight * similarity_locked(*id, counter);
    }
    weight *= options_.context_decay;
    ++used;
  }
  std::vector<ScoredItem> ranked(scores.begin(), scores.end());
  return top_candidates(std::move(ranked), n, excluded_item(context, ids_), ids_);
}

double ItemKnn::similarity(const std::string& from, const std::string& to) const {
  std::shared_lock lock(mutex_);
  const auto from_id = ids_.find(from);
  const auto to_id = ids_.find(to);
  if (!from_id || !to_id) return 0;
  for (const Counter& counter : rows_[*from_id].counters) {
    if (counter.item == *to_id) return similarity_locked(*from_id, counter);
  }
  return 0;
}

ModelStats ItemKnn::stats() const {
  std::shared_lock lock(mutex_);
  ModelStats stats;
  stats.items = ids_.size();
  stats.sessions = by_key_.size();
  stats.dropped_interactions = dropped_;
  std::size_t bytes = ids_.approx_bytes();
  for (const Row& row : rows_) {
    stats.entries += row.counters.size();
    bytes += sizeof(Row) + row.counters.capacity() * sizeof(Counter);
  }
  for (const OpenSession& session : sessions_) {
    bytes += sizeof(OpenSession) + session.key.capacity() +
             session.recent.capacity() * sizeof(RecentItem);
  }
  bytes += by_key_.size() * 64;
  stats.approx_bytes = bytes;
  return stats;
}

}  // namespace aisle::collector::recs
