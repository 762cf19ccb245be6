// PropensitySession: what PropensityModel remembers about one profile (its current session and its
// purchase history), and the features an event plus that state give. docs/propensity.md,
// "Features" and "Memory".
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "collector/segments/learned/online_logistic.hpp"
#include "common/event.hpp"

namespace aisle::collector::segments {

// The numeric block of FeatureVector, in order. All but the indicator enter the model as
// log1p(value) and the drift detector as the raw value.
enum NumericFeature : std::size_t {
  kSessionEvents = 0,       // events in the session so far, this one included
  kSessionSeconds,          // seconds from the session's first event to this one
  kProductViews,            // product_view events in the session
  kDistinctItems,           // distinct SKUs viewed / added in the session (capped)
  kCartAdds,                // cart_add events in the session
  kCartValue,               // sum of price * quantity added minus removed (>= 0), major units
  kHoursSinceLastPurchase,  // 0 when the profile never purchased (see the indicator)
  kPurchases30d,            // sales in the 30 days before this event (capped)
  kNeverPurchased,          // 1 when no sale is known for the profile
};
inline constexpr std::size_t kDriftFeatureCount = 8;  // the indicator is not drift-tested
extern const std::array<const char*, kNumericFeatures> kNumericFeatureNames;

inline constexpr std::size_t kMaxDistinctItems = 64;
inline constexpr std::size_t kMaxRecentPurchases = 16;

struct PropensitySession {
  bool open = false;
  UnixMillis session_start = 0;
  UnixMillis last_event = 0;  // latest event time seen (never moves backwards)
  std::uint32_t events = 0;
  std::uint32_t product_views = 0;
  std::uint32_t cart_adds = 0;
  double cart_value = 0;
  std::vector<std::uint32_t> items;  // hashes of distinct SKUs, at most kMaxDistinctItems
  UnixMillis last_purchase = 0;      // 0: never
  std::array<UnixMillis, kMaxRecentPurchases> recent_purchases{};  // ring of sale times
  std::uint8_t recent_next = 0;

  // Starts a new session at `at` (session counters reset; purchase history kept).
  void start(UnixMillis at);
  // Adds the event to the session counters (not to the purchase history).
  void apply(const Event& event, UnixMillis at);
  // Adds a sale at `at` to the purchase history and empties the cart.
  void record_purchase(UnixMillis at);
  // Folds another profile's history into this one (merge): purchases, and the session when this
  // one has none open.
  void merge_from(const PropensitySession& other);
  // Raw numeric features at `at`.
  std::array<double, kNumericFeatures> raw_features(UnixMillis at) const;
  std::size_t memory_bytes() const { return sizeof(*this) + items.capacity() * 4; }
};

// A sale (purchase with transaction_type "sale"); returns and voids are not purchases here.
bool is_sale(const Event& event);
// Top-level category of the event's product ("coffee" of "coffee/espresso-machines"): the
// `category` property, else the first line item's; "" when none.
std::string top_category(const Event& event);
// The model input for `event`: hashed type, channel, store, category and UTC hour, and the
// transformed numeric block.
FeatureVector make_features(const OnlineLogistic& model, const Event& event,
                            const std::array<double, kNumericFeatures>& raw);

}  // namespace aisle::collector::segments
