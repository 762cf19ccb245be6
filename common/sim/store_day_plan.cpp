// StoreDay: what one shopper does, planned when they arrive.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/crypto.hpp"
#include "common/sim/device_formats.hpp"
#include "common/sim/sim_events.hpp"
#include "common/sim/store_day.hpp"
#include "common/sim/store_day_internal.hpp"
#include "common/time_format.hpp"

namespace aisle::sim {
namespace {

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMinute = 60 * kSecond;

std::string money(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  return buffer;
}

}  // namespace

void StoreDay::plan_shopper(std::int64_t at) {
  ++stats_.shoppers;
  const Customer* customer = nullptr;
  std::vector<double> affinity;
  if (!catalog_.customers.empty() && random_.chance(options_.known_share)) {
    customer = &catalog_.customers[random_.next() % catalog_.customers.size()];
    affinity = customer->affinity;
    ++stats_.known_shoppers;
  } else {
    // An anonymous shopper still has a purpose: one favourite category.
    affinity.assign(catalog_.categories.size(), 0.3 / static_cast<double>(catalog_.categories.size()));
    affinity[random_.next() % affinity.size()] += 0.7;
  }

  std::int64_t t = at;
  // Some known shoppers look things up on the web shop first, then come in.
  if (customer && random_.chance(customer->web_propensity * 0.5)) {
    plan_web_session(t, *customer, false);
    t += static_cast<std::int64_t>(random_.uniform(10, 40) * kMinute);
  }

  const int door = static_cast<int>(random_.next() % catalog_.doors.size());
  const std::int64_t interval = timing_.counter_interval_s * kSecond;
  ++door_counts_[static_cast<std::size_t>(door)][t / interval].first;

  Basket basket;
  const int zones = static_cast<int>(random_.integer(2, 5));
  std::vector<double> weights = affinity;
  bool kiosk_done = false;
  for (int z = 0; z < zones; ++z) {
    const int category = static_cast<int>(random_.weighted(weights));
    weights[static_cast<std::size_t>(category)] = 0;  // each aisle once
    t += static_cast<std::int64_t>(random_.uniform(20, 60) * kSecond);  // walking there
    t = plan_zone(t, category, affinity, basket);
    if (customer && !kiosk_done && random_.chance(options_.kiosk_share)) {
      kiosk_done = true;
      t += static_cast<std::int64_t>(random_.uniform(10, 30) * kSecond);
      plan_kiosk(t, *customer, category);
      t += static_cast<std::int64_t>(random_.uniform(40, 120) * kSecond);
    }
    if (std::all_of(weights.begin(), weights.end(), [](double w) { return w <= 0; })) break;
  }
  t += static_cast<std::int64_t>(random_.uniform(20, 60) * kSecond);
  t = plan_zone(t, catalog_.checkout_zone(), affinity, basket);
  plan_receipt(t, customer, basket, affinity);
  t += static_cast<std::int64_t>(random_.uniform(15, 45) * kSecond);
  ++door_counts_[static_cast<std::size_t>(random_.next() % catalog_.doors.size())][t / interval]
        .second;

  // Afterwards app users often open the app within minutes (the receipt, points); the login
  // then links the phone's cookie profile with the loyalty profile the receipt just made.
  if (customer && customer->has_app && random_.chance(0.8)) {
    plan_web_session(t + static_cast<std::int64_t>(random_.uniform(0.5, 3) * kMinute), *customer,
                     true);
  } else if (customer && random_.chance(customer->web_propensity * 0.4)) {
    plan_web_session(t + static_cast<std::int64_t>(random_.uniform(30, 240) * kMinute), *customer,
                     true);
  }
}

std::int64_t StoreDay::plan_zone(std::int64_t at, int zone_index, const std::vector<double>& affinity,
                                 Basket& basket) {
  (void)affinity;
  const Zone& zone = catalog_.zones[static_cast<std::size_t>(zone_index)];
  const bool checkout = zone.type == "checkout_queue";
  const std::int64_t dwell =
      static_cast<std::int64_t>(random_.uniform(checkout ? 60 : 45, checkout ? 180 : 240) * kSecond);
  ++stats_.zone_visits;

  // BLE: a beacon of this zone that nobody else is near from the approach to the last report.
  const std::int64_t step = std::max<std::int64_t>(
      200, static_cast<std::int64_t>(timing_.ble_sample_ms * options_.speed));
  const std::int64_t exit_reports =
      static_cast<std::int64_t>(timing_.ble_min_exit_ms * options_.speed * 1.5) + 6 * step;
  const std::int64_t approach = at - 3 * step;
  int beacon = -1;
  for (std::size_t g = 0; g < beacon_zone_.size(); ++g) {
    if (beacon_zone_[g] == zone_index && beacon_busy_until_[g] < approach) {
      beacon = static_cast<int>(g);
      break;
    }
  }
  if (beacon >= 0) {
    const std::uint64_t id = next_visit_++;
    BleVisit visit;
    visit.beacon = beacon;
    visit.leave_at = at + dwell;
    visit.end_at = at + dwell + exit_reports;
    visit.step = step;
    ble_visits_.emplace(id, visit);
    beacon_busy_until_[static_cast<std::size_t>(beacon)] =
        visit.end_at + static_cast<std::int64_t>(timing_.ble_lost_ms * options_.speed);
    Task task = make_task(approach, TaskKind::kBleSample);
    task.visit = id;
    push(std::move(task));
  } else {
    ++stats_.zone_visits_unobserved;
  }

  if (!checkout) {
    const std::vector<double> item_counts = {0.2, 0.4, 0.3, 0.1};
    const int items = static_cast<int>(random_.weighted(item_counts));
    // A put-back comes after the RFID reader has noticed the tag missing (absent_ms).
    const std::int64_t min_back =
        static_cast<std::int64_t>(timing_.rfid_absent_ms * options_.speed * 1.5) +
        static_cast<std::int64_t>(timing_.rfid_cycle_ms * options_.speed * 2);
    for (int i = 0; i < items; ++i) {
      const int product = choose_product(zone.category_index);
      const Product& p = catalog_.products[static_cast<std::size_t>(product)];
      const int quantity = p.shelf == ShelfKind::kWeight ? static_cast<int>(random_.integer(1, 3)) : 1;
      const std::int64_t when = at + static_cast<std::int64_t>(random_.uniform(0.1, 0.8) *
                                                               static_cast<double>(dwell));
      Task task = make_task(when, TaskKind::kPickup, product, quantity);
      if (random_.chance(options_.putback_share)) {
        task.back_at = when + min_back + static_cast<std::int64_t>(random_.uniform(5, 60) * kSecond);
      } else {
        basket.items.emplace_back(product, quantity);
      }
      push(std::move(task));
    }
  }
  return at + dwell;
}

std::int64_t StoreDay::plan_web_session(std::int64_t at, const Customer& customer,
                                        bool after_visit) {
  ++stats_.web_sessions;
  const nlohmann::json source = {{"store_id", options_.web_store_id}, {"channel", "web"}};
  char session[48];
  std::snprintf(session, sizeof session, "sess-w-%s-%lld", customer.user_id.c_str(),
                static_cast<long long>(++web_session_seq_));
  // After a visit the shopper is on the phone: another device, another cookie.
  const std::string anonymous_id = customer.anonymous_id + (after_visit ? "-phone" : "");
  nlohmann::json ids = {{"anonymous_id", anonymous_id}, {"session_id", session}};
  std::int64_t t = at;
  auto send = [&](const std::string& type, const nlohmann::json& properties) {
    emit(t, Sink::kWeb,
         sim_event_text(type, next_event_id(t), wall_at(t), source, ids, properties));
    t += static_cast<std::int64_t>(random_.uniform(8, 60) * kSecond);
  };
  send("page_view", {{"url", "https://shop.example.com/"}, {"page_type", "home"}});
  // App users log in: the identify links their cookie to their account (and their card).
  if (customer.has_app) {
    nlohmann::json login = ids;
    login["user_id"] = customer.user_id;
    login["email_sha256"] = crypto::sha256_hex(customer.email);
    if (!customer.loyalty_number.empty() && !options_.loyalty_key.empty()) {
      login["loyalty_id"] = loyalty_pseudonym(customer.loyalty_number);
    }
    ids = login;
    send("identify", {{"method", "login"}});
    ids.erase("email_sha256");
    ids.erase("loyalty_id");
  }
  const int views = static_cast<int>(random_.integer(2, 5));
  int last = -1;
  for (int v = 0; v < views; ++v) {
    const int category = static_cast<int>(random_.weighted(customer.affinity));
    last = choose_product(category);
    const Product& p = catalog_.products[static_cast<std::size_t>(last)];
    send("product_view", {{"sku", p.sku},
                          {"gtin", p.gtin},
                          {"name", p.name},
                          {"category", p.category},
                          {"price", p.price},
                          {"currency", "EUR"}});
  }
  if (last >= 0 && random_.chance(0.5)) {
    const Product& p = catalog_.products[static_cast<std::size_t>(last)];
    send("cart_add", {{"sku", p.sku}, {"quantity", 1}, {"price", p.price}, {"currency", "EUR"},
                      {"category", p.category}});
    if (after_visit && customer.has_app && random_.chance(0.5)) {
      char order[48];
      std::snprintf(order, sizeof order, "W-%s-%lld", customer.user_id.c_str(),
                    static_cast<long long>(web_session_seq_));
      send("purchase",
           {{"order_id", order},
            {"transaction_type", "sale"},
            {"items", {{{"sku", p.sku}, {"name", p.name}, {"category", p.category},
                        {"quantity", 1}, {"unit_price", p.price}}}},
            {"total", p.price},
            {"currency", "EUR"},
            {"payment_method", "card"},
            {"fulfillment", "ship_to_home"}});
    }
  }
  return t;
}

void StoreDay::plan_kiosk(std::int64_t at, const Customer& customer, int category) {
  ++stats_.kiosk_visits;
  auto visit = std::make_shared<KioskVisit>();
  visit->kiosk_id = "kiosk-" + std::to_string(random_.integer(1, catalog_.options.kiosks));
  visit->source = {{"store_id", options_.store_id}, {"channel", "kiosk"}, {"device_id", visit->kiosk_id}};
  char session[64];
  std::snprintf(session, sizeof session, "sess-k-%s-%lld", options_.store_id.c_str(),
                static_cast<long long>(at / 1000));
  // The kiosk knows the shopper from the scanned loyalty card, or from the app's QR login.
  if (!customer.loyalty_number.empty() && !options_.loyalty_key.empty() &&
      (!customer.has_app || random_.chance(0.5))) {
    const std::string loyalty = loyalty_pseudonym(customer.loyalty_number);
    visit->identities = {{"loyalty_id", loyalty}, {"session_id", session}};
    visit->identity = "loyalty_id:" + loyalty;
  } else {
    visit->identities = {{"user_id", customer.user_id}, {"session_id", session}};
    visit->identity = "user_id:" + customer.user_id;
  }
  const UnixMillis wall = wall_at(at);
  visit->events.push_back(sim_event_text(
      "kiosk_interaction", next_event_id(at), wall, visit->source, visit->identities,
      {{"kiosk_id", visit->kiosk_id}, {"action", "screen_view"}, {"screen", "home"}}));
  const Product& p = catalog_.products[static_cast<std::size_t>(choose_product(category))];
  visit->events.push_back(sim_event_text(
      "product_view", next_event_id(at), wall, visit->source, visit->identities,
      {{"sku", p.sku}, {"name", p.name}, {"category", p.category}, {"price", p.price},
       {"currency", "EUR"}}));
  visit->click_roll = random_.uniform();
  visit->pick = random_.next();
  visit->id_seed = random_.next();
  std::string identity = visit->identity;
  emit(at, Sink::kKiosk, std::move(identity), std::move(visit));
}

void StoreDay::plan_receipt(std::int64_t at, const Customer* customer, Basket& basket,
                            const std::vector<double>& affinity) {
  // Things bought that no shelf device saw (most of the store), by the shopper's taste.
  const int extra = static_cast<int>(random_.integer(basket.items.empty() ? 0 : 0, 4));
  for (int i = 0; i < extra; ++i) {
    basket.items.emplace_back(choose_product(static_cast<int>(random_.weighted(affinity))), 1);
  }
  if (basket.items.empty()) return;  // left without buying
  ++stats_.receipts;
  const int lane = static_cast<int>(random_.integer(1, catalog_.options.registers));
  char receipt[64];
  std::snprintf(receipt, sizeof receipt, "R-%s-%02d-%06lld", options_.store_id.c_str(), lane,
                static_cast<long long>(++receipt_seq_));
  nlohmann::json items = nlohmann::json::array();
  double total = 0;
  for (const auto& [product, quantity] : basket.items) {
    const Product& p = catalog_.products[static_cast<std::size_t>(product)];
    items.push_back({{"sku", p.sku}, {"gtin", p.gtin}, {"name", p.name}, {"qty", quantity},
                     {"price", p.price}});
    total += p.price * quantity;
  }
  const std::vector<const char*> payments = {"card", "card", "cash", "mobile_wallet"};
  nlohmann::json line = {{"receipt_id", receipt},
                         {"ts", format_rfc3339_ms(wall_at(at))},
                         {"register", "lane-" + std::to_string(lane)},
                         {"type", "sale"},
                         {"currency", "EUR"},
                         {"payment", payments[random_.next() % payments.size()]},
                         {"total", std::stod(money(total))},
                         {"items", std::move(items)}};
  if (customer && !customer->loyalty_number.empty() && random_.chance(0.9)) {
    line["loyalty"] = customer->loyalty_number;  // raw: the decoder pseudonymizes it
  }
  emit(at, Sink::kPos, line.dump());
}

}  // namespace aisle::sim
