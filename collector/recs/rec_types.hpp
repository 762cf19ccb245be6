// The vocabulary of the recommendation code (docs/recommendations.md): interactions the models
// learn from, the request context, candidates and the CandidateSource role every model plays.
// The models are fed by the same streaming code online (collector) and offline
// (`aislectl eval recs`), so these types carry nothing collector-specific.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace aisle::collector::recs {

enum class InteractionKind : std::uint8_t { kView, kCart, kPurchase };

// One shopper-item interaction taken from an event (product_view, cart_add, purchase line, ...).
struct Interaction {
  std::string session_key;  // session the interaction belongs to (profile + session id)
  std::string profile_id;   // "" for anonymous (evaluation datasets)
  std::string item;         // sku
  std::string store_id;     // "" for web
  std::string category;     // "" when unknown
  InteractionKind kind = InteractionKind::kView;
  UnixMillis at = 0;        // occurred_at
};

// What a recommendation request knows.
struct RecContext {
  std::string profile_id;                  // "" for anonymous / no personalization consent
  std::string store_id;
  std::vector<std::string> session_items;  // the current session's items, oldest first
  std::vector<std::string> cart;
  std::string context_item;                // item on screen ("" on a home placement)
  std::string placement;                   // "kiosk_home", "product_page", "cart", ...
  std::vector<std::string> segments;       // segment ids the profile is in
  UnixMillis now = 0;
  bool exclude_current = true;             // never recommend the item on screen
};

struct Candidate {
  std::string item;
  double score = 0;
};

// A model that learns from the stream and proposes candidates. observe() is called from one
// thread (the stream); candidates() from many (requests) concurrently with observe().
class CandidateSource {
 public:
  virtual ~CandidateSource() = default;
  virtual const char* name() const = 0;  // "item_knn", "vsknn", "popularity", "als"
  virtual void observe(const Interaction& interaction) = 0;
  // Best first, at most `n`.
  virtual std::vector<Candidate> candidates(const RecContext& context, std::size_t n) const = 0;
  // Erasure: drop what the source keeps per profile (sessions, vectors). Sources that keep only
  // aggregates over many shoppers (co-occurrence counts, popularity) keep nothing to drop.
  virtual void forget_profiles(const std::vector<std::string>& profile_ids) { (void)profile_ids; }
};

}  // namespace aisle::collector::recs
