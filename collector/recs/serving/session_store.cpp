#include "collector/recs/serving/session_store.hpp"

#include <algorithm>

namespace aisle::collector::recs {

SessionStore::SessionStore(std::size_t max_profiles, std::size_t shards) {
  shards = std::max<std::size_t>(1, std::min(shards, std::max<std::size_t>(1, max_profiles)));
  per_shard_ = std::max<std::size_t>(1, (max_profiles + shards - 1) / shards);
  for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

SessionStore::Shard& SessionStore::shard_of(std::string_view profile_id) const {
  return *shards_[std::hash<std::string_view>{}(profile_id) % shards_.size()];
}

void SessionStore::update(const std::string& profile_id,
                          const std::function<void(ShopperState&)>& change) {
  Shard& s = shard_of(profile_id);
  std::lock_guard lock(s.mutex);
  auto it = s.index.find(profile_id);
  if (it != s.index.end()) {
    s.lru.splice(s.lru.begin(), s.lru, it->second);
  } else {
    s.lru.emplace_front(profile_id, ShopperState{});
    s.index.emplace(s.lru.front().first, s.lru.begin());
    if (s.lru.size() > per_shard_) {
      s.index.erase(s.lru.back().first);
      s.lru.pop_back();
    }
  }
  change(s.lru.front().second);
}

std::optional<ShopperState> SessionStore::get(const std::string& profile_id) const {
  Shard& s = shard_of(profile_id);
  std::lock_guard lock(s.mutex);
  auto it = s.index.find(profile_id);
  if (it == s.index.end()) return std::nullopt;
  return it->second->second;
}

void SessionStore::merge(
    const std::string& from, const std::string& into,
    const std::function<void(ShopperState& into, ShopperState&& from)>& combine) {
  std::optional<ShopperState> moved;
  {
    Shard& s = shard_of(from);
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(from);
    if (it == s.index.end()) return;
    moved = std::move(it->second->second);
    auto node = it->second;
    s.index.erase(it);
    s.lru.erase(node);
  }
  update(into, [&](ShopperState& state) { combine(state, std::move(*moved)); });
}

void SessionStore::erase(const std::string& profile_id) {
  Shard& s = shard_of(profile_id);
  std::lock_guard lock(s.mutex);
  auto it = s.index.find(profile_id);
  if (it == s.index.end()) return;
  auto node = it->second;
  s.index.erase(it);
  s.lru.erase(node);
}

std::size_t SessionStore::size() const {
  std::size_t total = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mutex);
    total += s->lru.size();
  }
  return total;
}

}  // namespace aisle::collector::recs
