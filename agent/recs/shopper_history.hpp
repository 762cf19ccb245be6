// ShopperHistory: the items each shopper interacted with in this store, as the agent's ingest
// saw them (product views, cart adds, purchases, shelf pickups, kiosk item interactions) — the
// input of the store-local model while the collector is unreachable. Keyed by every identity of
// the event ("type:value", after the agent's pseudonymization, as in the consent cache), so a
// kiosk asking by any of them finds the history.
//
// Bounded: at most `max_shoppers` identities (least recently active evicted first), at most
// `max_items` distinct items per identity (most recent kept); items older than `ttl` are ignored.
// Thread-safe: observe() runs on ingest threads (HTTP workers, adapter runners), recent() on
// HTTP workers; one mutex, held for a few map operations.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/event.hpp"

namespace aisle::agent::recs {

enum class ItemAction { kView, kCart, kPurchase };

struct RecentItem {
  std::string sku;
  ItemAction action = ItemAction::kView;  // the strongest action seen on it
  UnixMillis at = 0;                      // latest occurred_at
};

struct ShopperHistoryOptions {
  std::size_t max_shoppers = 50000;
  std::size_t max_items = 20;
  std::chrono::milliseconds ttl{4 * 60 * 60 * 1000};
};

class ShopperHistory {
 public:
  ShopperHistory(ShopperHistoryOptions options, ClockPtr clock);

  // Records the items of an admitted event. `properties_json` is the compact text of the
  // properties when the ingest fast path left event.properties empty, else empty.
  void observe(const Event& event, std::string_view properties_json);

  // The identity's items, most recent first, without those older than the TTL.
  std::vector<RecentItem> recent(const std::string& identity) const;
  // The personalization flag of the identity's latest event that carried one (kUnknown if none).
  ConsentState personalization(const std::string& identity) const;
  // Forgets identities (erasure). Returns how many were held.
  std::size_t erase(const std::vector<std::string>& identities);
  std::size_t shoppers() const;

 private:
  struct Shopper {
    std::string identity;
    std::vector<RecentItem> items;  // most recent first
    ConsentState personalization = ConsentState::kUnknown;
  };
  void record(const std::string& identity, const std::vector<RecentItem>& items,
              const std::optional<ConsentFlags>& consent);

  const ShopperHistoryOptions options_;
  ClockPtr clock_;
  mutable std::mutex mutex_;
  std::list<Shopper> lru_;  // most recently active first
  std::unordered_map<std::string, std::list<Shopper>::iterator> index_;
};

// The items an event is about, with the action they count as; empty for other event types.
std::vector<RecentItem> items_of(const Event& event, std::string_view properties_json);

}  // namespace aisle::agent::recs
