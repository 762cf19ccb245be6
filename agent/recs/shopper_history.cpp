#include "agent/recs/shopper_history.hpp"

#include <algorithm>

#include "common/json_text.hpp"

namespace aisle::agent::recs {
namespace {

constexpr JsonLimits kPropertiesLimits{1024 * 1024, 64};

std::optional<ItemAction> action_of(std::string_view type) {
  if (type == "product_view" || type == "shelf_pickup" || type == "kiosk_interaction") {
    return ItemAction::kView;
  }
  if (type == "cart_add") return ItemAction::kCart;
  if (type == "purchase") return ItemAction::kPurchase;
  return std::nullopt;
}

void add_sku(const nlohmann::json& object, ItemAction action, UnixMillis at,
             std::vector<RecentItem>& out) {
  const auto sku = object.find("sku");
  if (sku == object.end() || !sku->is_string() || sku->get_ref<const std::string&>().empty()) {
    return;
  }
  out.push_back({sku->get<std::string>(), action, at});
}

}  // namespace

std::vector<RecentItem> items_of(const Event& event, std::string_view properties_json) {
  std::vector<RecentItem> out;
  const auto action = action_of(event.type);
  if (!action) return out;
  nlohmann::json parsed;
  const nlohmann::json* properties = &event.properties;
  if (!properties_json.empty()) {
    auto result = parse_json(properties_json, kPropertiesLimits);
    if (!result) return out;  // the validator accepted it; unreachable in practice
    parsed = std::move(*result);
    properties = &parsed;
  }
  if (!properties->is_object()) return out;
  if (*action == ItemAction::kPurchase) {
    const auto items = properties->find("items");
    if (items != properties->end() && items->is_array()) {
      for (const auto& line : *items) {
        if (line.is_object()) add_sku(line, *action, event.occurred_at, out);
      }
    }
    return out;
  }
  add_sku(*properties, *action, event.occurred_at, out);
  return out;
}

ShopperHistory::ShopperHistory(ShopperHistoryOptions options, ClockPtr clock)
    : options_(options), clock_(std::move(clock)) {}

void ShopperHistory::observe(const Event& event, std::string_view properties_json) {
  if (event.identities.empty() || options_.max_shoppers == 0) return;
  const auto items = items_of(event, properties_json);
  if (items.empty() && !event.consent) return;
  for (const auto& [type, value] : event.identities) {
    record(type + ":" + value, items, event.consent);
  }
}

void ShopperHistory::record(const std::string& identity, const std::vector<RecentItem>& items,
                            const std::optional<ConsentFlags>& consent) {
  std::lock_guard lock(mutex_);
  auto found = index_.find(identity);
  if (found == index_.end()) {
    lru_.push_front(Shopper{identity, {}, ConsentState::kUnknown});
    found = index_.emplace(identity, lru_.begin()).first;
    while (lru_.size() > options_.max_shoppers) {
      index_.erase(lru_.back().identity);
      lru_.pop_back();
    }
  } else {
    lru_.splice(lru_.begin(), lru_, found->second);
  }
  Shopper& shopper = *found->second;
  if (consent && consent->personalization != ConsentState::kUnknown) {
    shopper.personalization = consent->personalization;
  }
  for (const auto& item : items) {
    auto same = std::find_if(shopper.items.begin(), shopper.items.end(),
                             [&](const RecentItem& held) { return held.sku == item.sku; });
    RecentItem merged = item;
    if (same != shopper.items.end()) {
      merged.action = std::max(same->action, item.action);
      merged.at = std::max(same->at, item.at);
      shopper.items.erase(same);
    }
    shopper.items.insert(shopper.items.begin(), std::move(merged));
    if (shopper.items.size() > options_.max_items) shopper.items.pop_back();
  }
}

std::vector<RecentItem> ShopperHistory::recent(const std::string& identity) const {
  std::lock_guard lock(mutex_);
  const auto found = index_.find(identity);
  if (found == index_.end()) return {};
  // occurred_at is the producer's clock; a kiosk clock far off only shortens or extends the TTL.
  const UnixMillis oldest = clock_->now_unix_ms() - options_.ttl.count();
  std::vector<RecentItem> out;
  for (const auto& item : found->second->items) {
    if (item.at >= oldest) out.push_back(item);
  }
  return out;
}

ConsentState ShopperHistory::personalization(const std::string& identity) const {
  std::lock_guard lock(mutex_);
  const auto found = index_.find(identity);
  return found == index_.end() ? ConsentState::kUnknown : found->second->personalization;
}

std::size_t ShopperHistory::erase(const std::vector<std::string>& identities) {
  std::lock_guard lock(mutex_);
  std::size_t erased = 0;
  for (const auto& identity : identities) {
    const auto found = index_.find(identity);
    if (found == index_.end()) continue;
    lru_.erase(found->second);
    index_.erase(found);
    ++erased;
  }
  return erased;
}

std::size_t ShopperHistory::shoppers() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace aisle::agent::recs
