// SessionStore: what the recommendation service remembers per profile between requests: the
// current session's last items, the cart and recent purchases. Bounded: the least recently
// touched profiles are dropped beyond `max_profiles` (a dropped shopper is served as cold start).
//
// Thread-safety: sharded by profile id, one mutex per shard; update() runs on the event thread,
// get() on HTTP threads.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"

namespace aisle::collector::recs {

struct PurchaseRecord {
  std::string item;
  std::string category;
  UnixMillis at = 0;
};

struct ShopperState {
  std::uint32_t session_seq = 0;  // the session key is "<profile>#<seq>"
  bool session_ended = false;     // a session_end was seen: the next event starts a session
  UnixMillis last_at = 0;         // occurred_at of the latest event
  std::vector<std::string> session_items;  // oldest first, bounded
  std::vector<std::string> cart;           // oldest first, bounded
  std::vector<PurchaseRecord> purchases;   // oldest first, bounded
};

class SessionStore {
 public:
  explicit SessionStore(std::size_t max_profiles, std::size_t shards = 64);

  // Runs `change` on the profile's state (created empty when absent) and marks it recent.
  void update(const std::string& profile_id, const std::function<void(ShopperState&)>& change);
  // A copy of the state, or nullopt (never seen, or dropped by the LRU bound).
  std::optional<ShopperState> get(const std::string& profile_id) const;
  // Moves `from`'s state into `into` (items appended after into's, bounds applied by `combine`).
  void merge(const std::string& from, const std::string& into,
             const std::function<void(ShopperState& into, ShopperState&& from)>& combine);
  void erase(const std::string& profile_id);
  std::size_t size() const;

 private:
  struct Shard {
    mutable std::mutex mutex;
    std::list<std::pair<std::string, ShopperState>> lru;  // most recent first
    std::unordered_map<std::string_view, std::list<std::pair<std::string, ShopperState>>::iterator>
        index;  // keys view the list nodes' strings
  };
  Shard& shard_of(std::string_view profile_id) const;

  std::size_t per_shard_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace aisle::collector::recs
