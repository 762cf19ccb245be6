#include "agent/recs/rec_cache.hpp"

namespace aisle::agent::recs {

RecCache::RecCache(std::size_t max_entries, std::chrono::milliseconds ttl, ClockPtr clock)
    : max_entries_(max_entries), ttl_(ttl), clock_(std::move(clock)) {}

void RecCache::put(const std::string& key, RecAnswer answer) {
  if (max_entries_ == 0) return;
  std::lock_guard lock(mutex_);
  const auto now = clock_->now_steady();
  if (const auto found = index_.find(key); found != index_.end()) {
    found->second->answer = std::move(answer);
    found->second->stored_at = now;
    lru_.splice(lru_.begin(), lru_, found->second);
    return;
  }
  lru_.push_front(Entry{key, std::move(answer), now});
  index_.emplace(key, lru_.begin());
  while (lru_.size() > max_entries_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

std::optional<RecAnswer> RecCache::get(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto found = index_.find(key);
  if (found == index_.end()) return std::nullopt;
  if (clock_->now_steady() - found->second->stored_at > ttl_) {
    lru_.erase(found->second);
    index_.erase(found);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, found->second);
  return found->second->answer;
}

std::size_t RecCache::erase_prefix(const std::string& prefix) {
  std::lock_guard lock(mutex_);
  std::size_t erased = 0;
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->key.starts_with(prefix)) {
      index_.erase(it->key);
      it = lru_.erase(it);
      ++erased;
    } else {
      ++it;
    }
  }
  return erased;
}

std::size_t RecCache::size() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

std::string RecCache::key_of(const RecQuery& query, bool personalized) {
  // Unit separators cannot occur in query parameters the API accepts (control characters are
  // refused), so distinct queries never share a key.
  std::string key;
  if (personalized) key = !query.identity.empty() ? "i:" + query.identity : "p:" + query.profile;
  key += '\x1f';
  key += query.context_item;
  key += '\x1f';
  key += query.placement;
  key += '\x1f';
  key += std::to_string(query.n);
  return key;
}

}  // namespace aisle::agent::recs
