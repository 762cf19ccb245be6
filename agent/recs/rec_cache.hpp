// RecCache: the last live answers per shopper and context, for answering while the collector is
// slow or unreachable. Bounded: at most `max_entries` (least recently used evicted first), and an
// entry older than `ttl` is never returned (and is dropped when found).
//
// Thread-safe (one mutex; lookups copy the answer out, a few items).
#pragma once

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "agent/recs/rec_answer.hpp"
#include "common/clock.hpp"

namespace aisle::agent::recs {

class RecCache {
 public:
  RecCache(std::size_t max_entries, std::chrono::milliseconds ttl, ClockPtr clock);

  void put(const std::string& key, RecAnswer answer);
  std::optional<RecAnswer> get(const std::string& key);
  // Drops every entry whose key starts with `prefix` (an erased shopper's answers).
  std::size_t erase_prefix(const std::string& prefix);
  std::size_t size() const;

  // The key of a query: the shopper (identity or profile, "" when anonymous) and the context.
  static std::string key_of(const RecQuery& query, bool personalized);

 private:
  struct Entry {
    std::string key;
    RecAnswer answer;
    std::chrono::steady_clock::time_point stored_at;
  };
  const std::size_t max_entries_;
  const std::chrono::milliseconds ttl_;
  ClockPtr clock_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace aisle::agent::recs
