#include "collector/segments/learned/session_features.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace aisle::collector::segments {
namespace {

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t k30DaysMs = 30 * 24 * kHourMs;

double number_or(const nlohmann::json& props, const char* key, double fallback) {
  const auto it = props.find(key);
  return it != props.end() && it->is_number() ? it->get<double>() : fallback;
}

const std::string* string_prop(const nlohmann::json& props, const char* key) {
  const auto it = props.find(key);
  return it != props.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

}  // namespace

const std::array<const char*, kNumericFeatures> kNumericFeatureNames = {
    "session_events", "session_seconds",           "product_views", "distinct_items", "cart_adds",
    "cart_value",     "hours_since_last_purchase", "purchases_30d", "never_purchased"};

void PropensitySession::start(UnixMillis at) {
  open = true;
  session_start = at;
  last_event = at;
  events = 0;
  product_views = 0;
  cart_adds = 0;
  cart_value = 0;
  items.clear();
}

void PropensitySession::apply(const Event& event, UnixMillis at) {
  last_event = std::max(last_event, at);
  ++events;
  const auto& props = event.properties;
  const bool view = event.type == "product_view";
  const bool add = event.type == "cart_add";
  const bool remove = event.type == "cart_remove";
  if (view) ++product_views;
  if (add) ++cart_adds;
  if (add || remove) {
    const double line = number_or(props, "price", 0) * number_or(props, "quantity", 1);
    cart_value = std::max(0.0, cart_value + (add ? line : -line));
  }
  if ((view || add) && items.size() < kMaxDistinctItems) {
    if (const auto* sku = string_prop(props, "sku")) {
      const auto h = static_cast<std::uint32_t>(feature_hash("sku", *sku));
      if (std::find(items.begin(), items.end(), h) == items.end()) items.push_back(h);
    }
  }
}

void PropensitySession::record_purchase(UnixMillis at) {
  last_purchase = std::max(last_purchase, at);
  recent_purchases[recent_next] = at;
  recent_next = static_cast<std::uint8_t>((recent_next + 1) % kMaxRecentPurchases);
  cart_value = 0;
}

void PropensitySession::merge_from(const PropensitySession& other) {
  for (auto at : other.recent_purchases) {
    if (at != 0) {
      recent_purchases[recent_next] = at;
      recent_next = static_cast<std::uint8_t>((recent_next + 1) % kMaxRecentPurchases);
    }
  }
  last_purchase = std::max(last_purchase, other.last_purchase);
  if (!open && other.open) {
    const auto history = recent_purchases;
    const auto history_next = recent_next;
    const auto purchase = last_purchase;
    *this = other;
    recent_purchases = history;
    recent_next = history_next;
    last_purchase = purchase;
  }
}

std::array<double, kNumericFeatures> PropensitySession::raw_features(UnixMillis at) const {
  std::array<double, kNumericFeatures> f{};
  f[kSessionEvents] = events;
  f[kSessionSeconds] = static_cast<double>(std::max<std::int64_t>(0, at - session_start)) / 1000.0;
  f[kProductViews] = product_views;
  f[kDistinctItems] = static_cast<double>(items.size());
  f[kCartAdds] = cart_adds;
  f[kCartValue] = cart_value;
  f[kHoursSinceLastPurchase] =
      last_purchase == 0
          ? 0.0
          : static_cast<double>(std::max<std::int64_t>(0, at - last_purchase)) / kHourMs;
  int recent = 0;
  for (auto p : recent_purchases) recent += (p != 0 && p <= at && at - p <= k30DaysMs) ? 1 : 0;
  f[kPurchases30d] = recent;
  f[kNeverPurchased] = last_purchase == 0 ? 1.0 : 0.0;
  return f;
}

bool is_sale(const Event& event) {
  if (event.type != "purchase") return false;
  const auto* type = string_prop(event.properties, "transaction_type");
  return type == nullptr || *type == "sale";
}

std::string top_category(const Event& event) {
  const std::string* category = string_prop(event.properties, "category");
  if (!category) {
    const auto items = event.properties.find("items");
    if (items != event.properties.end() && items->is_array() && !items->empty() &&
        (*items)[0].is_object()) {
      category = string_prop((*items)[0], "category");
    }
  }
  if (!category) return {};
  return category->substr(0, category->find('/'));
}

FeatureVector make_features(const OnlineLogistic& model, const Event& event,
                            const std::array<double, kNumericFeatures>& raw) {
  FeatureVector x;
  const auto hour = ((event.occurred_at / kHourMs) % 24 + 24) % 24;
  x.slots[0] = model.slot("type", event.type);
  x.slots[1] = model.slot("channel", channel_name(event.source.channel));
  x.slots[2] = model.slot("store", event.source.store_id);
  x.slots[3] = model.slot("category", top_category(event));
  x.slots[4] = model.slot("hour", std::to_string(hour));
  for (std::size_t k = 0; k < kNumericFeatures; ++k) {
    x.numeric[k] = static_cast<float>(k == kNeverPurchased ? raw[k] : std::log1p(raw[k]));
  }
  return x;
}

}  // namespace aisle::collector::segments
