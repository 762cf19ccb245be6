// RecommendationService, the listener half: events -> interactions, session state, attribution.
#include <algorithm>

#include "collector/recs/serving/recommendation_service.hpp"
#include "common/log.hpp"

namespace aisle::collector::recs {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.recs");

constexpr std::size_t kMaxStores = 100000;  // stores remembered for the snapshot publisher

std::string string_property(const json& properties, const char* key) {
  auto it = properties.find(key);
  if (it == properties.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

template <typename T>
void bound_front(std::vector<T>& v, std::size_t max) {
  if (v.size() > max) v.erase(v.begin(), v.begin() + static_cast<long>(v.size() - max));
}

// Moves `item` to the end of `v` (most recent), keeping at most `max`.
void push_recent(std::vector<std::string>& v, const std::string& item, std::size_t max) {
  v.erase(std::remove(v.begin(), v.end(), item), v.end());
  v.push_back(item);
  bound_front(v, max);
}

}  // namespace

bool RecommendationService::may_personalize(const std::string& profile_id) const {
  if (profile_id.empty()) return false;
  const auto flags = consent_ ? consent_(profile_id) : std::nullopt;
  const ConsentState state = flags ? flags->personalization : ConsentState::kUnknown;
  return state == ConsentState::kGranted ||
         (state == ConsentState::kUnknown && options_.personalize_unknown_consent);
}

void RecommendationService::feed(const Interaction& interaction, bool aggregate_only) {
  switch (interaction.kind) {
    case InteractionKind::kView: interactions_view_.inc(); break;
    case InteractionKind::kCart: interactions_cart_.inc(); break;
    case InteractionKind::kPurchase: interactions_purchase_.inc(); break;
  }
  generation_.fetch_add(1, std::memory_order_relaxed);
  if (aggregate_only) {
    // No profile, or personalization denied: only the aggregate popularity learns, and it is
    // told nothing that links the interaction to a person or a session.
    if (popularity_ != nullptr) {
      Interaction anonymous = interaction;
      anonymous.profile_id.clear();
      anonymous.session_key.clear();
      popularity_->observe(anonymous);
    }
    return;
  }
  for (const auto& source : sources_) source->observe(interaction);
}

void RecommendationService::on_events(const std::vector<profiles::ProfiledEvent>& events) {
  for (const auto& pe : events) {
    if (pe.event == nullptr) continue;
    attribute(*pe.event);
    observe_event(*pe.event, pe.profile_id);
  }
}

void RecommendationService::observe_event(const Event& event, const std::string& profile_id) {
  const std::string& type = event.type;
  const bool relevant = type == "product_view" || type == "click" || type == "cart_add" ||
                        type == "cart_remove" || type == "purchase" || type == "session_start" ||
                        type == "session_end";
  if (!relevant) return;
  if (!event.source.store_id.empty()) {
    std::lock_guard lock(stores_mutex_);
    if (stores_.size() < kMaxStores) stores_.insert(event.source.store_id);
  }

  // The interactions this event carries.
  std::vector<Interaction> interactions;
  auto add = [&](const std::string& sku, const std::string& category, InteractionKind kind) {
    if (sku.empty()) return;
    Interaction i;
    i.profile_id = profile_id;
    i.item = sku;
    i.store_id = event.source.store_id;
    i.category = category;
    i.kind = kind;
    i.at = event.occurred_at;
    interactions.push_back(std::move(i));
  };
  const json& p = event.properties;
  bool sale = false;
  if (type == "product_view" || type == "click") {
    add(string_property(p, "sku"), string_property(p, "category"), InteractionKind::kView);
  } else if (type == "cart_add") {
    add(string_property(p, "sku"), string_property(p, "category"), InteractionKind::kCart);
  } else if (type == "purchase") {
    const std::string kind = string_property(p, "transaction_type");
    sale = kind.empty() || kind == "sale";  // returns and voids teach nothing about taste
    auto items = p.find("items");
    if (sale && items != p.end() && items->is_array()) {
      for (const auto& line : *items) {
        if (line.is_object()) {
          add(string_property(line, "sku"), string_property(line, "category"),
              InteractionKind::kPurchase);
        }
      }
    }
  }

  bool denied = false;
  if (!profile_id.empty() && consent_) {
    const auto flags = consent_(profile_id);
    denied = flags && flags->personalization == ConsentState::kDenied;
  }
  const bool personal = !profile_id.empty() && !denied;
  if (!personal) {
    for (const auto& i : interactions) feed(i, true);
    return;
  }

  std::string session_key;
  const auto& so = options_.session;
  sessions_.update(profile_id, [&](ShopperState& s) {
    const bool gap = s.last_at != 0 && event.occurred_at - s.last_at > so.gap.count();
    const bool started = type == "session_start" && (s.last_at != 0 || !s.session_items.empty());
    if (gap || started || s.session_ended) {
      ++s.session_seq;
      s.session_items.clear();
      s.session_ended = false;
    }
    s.last_at = std::max(s.last_at, event.occurred_at);
    if (type == "session_end") s.session_ended = true;
    for (const auto& i : interactions) push_recent(s.session_items, i.item, so.session_items);
    if (type == "cart_add") {
      for (const auto& i : interactions) push_recent(s.cart, i.item, so.cart_items);
    } else if (type == "cart_remove") {
      const std::string sku = string_property(p, "sku");
      s.cart.erase(std::remove(s.cart.begin(), s.cart.end(), sku), s.cart.end());
    } else if (type == "purchase" && sale) {
      for (const auto& i : interactions) {
        s.cart.erase(std::remove(s.cart.begin(), s.cart.end(), i.item), s.cart.end());
        s.purchases.push_back({i.item, i.category, i.at});
      }
      bound_front(s.purchases, so.recent_purchases);
    }
    session_key = profile_id + "#" + std::to_string(s.session_seq);
  });
  for (auto& i : interactions) {
    i.session_key = session_key;
    feed(i, false);
  }
}

void RecommendationService::attribute(const Event& event) {
  const json& p = event.properties;
  auto mark = [&](const std::string& rec_id, Outcome outcome) {
    if (rec_id.empty()) return;
    auto exposure = exposures_.mark(rec_id, outcome, event.occurred_at);
    if (!exposure || !exposure->assignment) return;
    if (outcome == Outcome::kClick) {
      experiments_.record_click(exposure->placement, *exposure->assignment);
    } else if (outcome == Outcome::kConversion) {
      experiments_.record_conversion(exposure->placement, *exposure->assignment);
    }
  };
  if (event.type == "click") {
    mark(string_property(p, "rec_id"), Outcome::kClick);
  } else if (event.type == "cart_add") {
    mark(string_property(p, "rec_id"), Outcome::kCart);
  } else if (event.type == "purchase") {
    const std::string kind = string_property(p, "transaction_type");
    if (!kind.empty() && kind != "sale") return;
    auto items = p.find("items");
    if (items == p.end() || !items->is_array()) return;
    std::set<std::string> rec_ids;  // one conversion per answer, however many lines it sold
    for (const auto& line : *items) {
      if (line.is_object()) rec_ids.insert(string_property(line, "rec_id"));
    }
    for (const auto& rec_id : rec_ids) mark(rec_id, Outcome::kConversion);
  }
}

void RecommendationService::on_merge(const profiles::MergeRecord& merge) {
  const auto& so = options_.session;
  sessions_.merge(merge.from, merge.into, [&](ShopperState& into, ShopperState&& from) {
    for (const auto& item : from.session_items) {
      if (std::find(into.session_items.begin(), into.session_items.end(), item) ==
          into.session_items.end()) {
        into.session_items.insert(into.session_items.begin(), item);
      }
    }
    bound_front(into.session_items, so.session_items);
    for (const auto& item : from.cart) {
      if (std::find(into.cart.begin(), into.cart.end(), item) == into.cart.end()) {
        into.cart.insert(into.cart.begin(), item);
      }
    }
    bound_front(into.cart, so.cart_items);
    into.purchases.insert(into.purchases.end(), from.purchases.begin(), from.purchases.end());
    std::stable_sort(into.purchases.begin(), into.purchases.end(),
                     [](const PurchaseRecord& a, const PurchaseRecord& b) { return a.at < b.at; });
    bound_front(into.purchases, so.recent_purchases);
    into.last_at = std::max(into.last_at, from.last_at);
  });
}

void RecommendationService::on_erase(const profiles::ErasedProfile& erased) {
  sessions_.erase(erased.profile_id);
  for (const auto& id : erased.merged_profile_ids) sessions_.erase(id);
  std::vector<std::string> ids = erased.merged_profile_ids;
  ids.push_back(erased.profile_id);
  for (const auto& source : sources_) source->forget_profiles(ids);
  kLog.info("recommendation state erased",
            {{"profile_id", erased.profile_id},
             {"merged", std::to_string(erased.merged_profile_ids.size())}});
}

std::vector<std::string> RecommendationService::known_stores() const {
  std::lock_guard lock(stores_mutex_);
  return {stores_.begin(), stores_.end()};
}

}  // namespace aisle::collector::recs
