#include <catch2/catch.hpp>
#include <memory>

#include "agent/recs/local_model.hpp"
#include "agent/recs/shopper_history.hpp"

using namespace aisle;
using namespace aisle::agent::recs;
using namespace std::chrono_literals;

namespace {

// Popularity: P 1.0, OOS 0.9, A 0.5, B 0.25. OOS is out of stock in this store.
// Neighbours: A -> B 0.8, OOS 0.6, C 0.4;  B -> C 1.0, A 0.8.
wire::RecSnapshot hand_snapshot() {
  wire::RecSnapshot s;
  s.store_id = "store-1";
  s.generated_at = 1000;
  s.model_generation = 1;
  s.popularity = {{"P", 1.0}, {"OOS", 0.9}, {"A", 0.5}, {"B", 0.25}};
  s.items = {{"A", "x", true, {{"B", 0.8}, {"OOS", 0.6}, {"C", 0.4}}},
             {"B", "x", true, {{"C", 1.0}, {"A", 0.8}}},
             {"C", "y", true, {}},
             {"OOS", "y", false, {}},
             {"P", "z", true, {}}};
  return s;
}

std::unique_ptr<LocalModel> hand_model() {
  auto model = std::make_unique<LocalModel>(LocalModelWeights{0.2, 1, 3, 5});
  model->set_snapshot(hand_snapshot());
  return model;
}

std::vector<std::string> skus(const std::vector<RecItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.sku);
  return out;
}

Event event_of(const std::string& type, const nlohmann::json& properties, UnixMillis at) {
  Event e;
  e.type = type;
  e.occurred_at = at;
  e.source.store_id = "store-1";
  e.identities = {{"loyalty_id", "L1"}, {"session_id", "s-1"}};
  e.properties = properties;
  return e;
}

}  // namespace

TEST_CASE("local model scores neighbours of recent items by action, recency and popularity",
          "[agent][recs][local_model]") {
  const auto model = hand_model();
  // Most recent first: A viewed (rank 0, weight 1), B carted (rank 1, weight 3 / 2 = 1.5).
  const std::vector<RecentItem> history = {{"A", ItemAction::kView, 2},
                                           {"B", ItemAction::kCart, 1}};
  // personal: B = 1*0.8 = 0.8, OOS = 0.6 (out of stock), C = 1*0.4 + 1.5*1.0 = 1.9,
  // A = 1.5*0.8 = 1.2; max 1.9. score = personal/1.9 + 0.2 * pop/1.0:
  // C = 1.0, A = 1.2/1.9 + 0.1 = 0.7316, B = 0.8/1.9 + 0.05 = 0.4711; then popularity fill P 0.2.
  const auto items = model->recommend(history, "", 10);
  REQUIRE(skus(items) == std::vector<std::string>{"C", "A", "B", "P"});
  CHECK(items[0].score == Approx(1.0));
  CHECK(items[1].score == Approx(1.2 / 1.9 + 0.1));
  CHECK(items[2].score == Approx(0.8 / 1.9 + 0.05));
  CHECK(items[3].score == Approx(0.2));
  CHECK(items[0].source == kLocalNeighbourSource);
  CHECK(items[3].source == kLocalPopularitySource);
}

TEST_CASE("local model excludes the item on screen, purchases and unavailable items",
          "[agent][recs][local_model]") {
  const auto model = hand_model();
  const std::vector<RecentItem> history = {{"A", ItemAction::kView, 2},
                                           {"B", ItemAction::kPurchase, 1}};
  // B bought: excluded. C on screen: excluded. OOS: out of stock.
  CHECK(skus(model->recommend(history, "C", 10)) == std::vector<std::string>{"A", "P"});
  CHECK(skus(model->recommend(history, "C", 1)) == std::vector<std::string>{"A"});
}

TEST_CASE("local model without history answers the store's available popular items",
          "[agent][recs][local_model]") {
  const auto model = hand_model();
  const auto items = model->recommend({}, "", 3);
  CHECK(skus(items) == std::vector<std::string>{"P", "A", "B"});
  CHECK(items[1].score == Approx(0.2 * 0.5));
  LocalModel empty(LocalModelWeights{});
  CHECK(empty.recommend({}, "", 3).empty());
  CHECK_FALSE(empty.has_snapshot());
}

TEST_CASE("shopper history keeps recent items per identity, bounded and deduplicated",
          "[agent][recs][history]") {
  auto clock = std::make_shared<ManualClock>(10'000'000);
  ShopperHistory history({2, 3, 60min}, clock);
  const UnixMillis now = clock->now_unix_ms();
  history.observe(event_of("product_view", {{"sku", "A"}}, now), "");
  history.observe(event_of("cart_add", {{"sku", "B"}}, now), "");
  // Fast path: properties as text.
  history.observe(event_of("product_view", nlohmann::json::object(), now), R"({"sku":"A"})");
  history.observe(event_of("purchase", {}, now),
                  R"({"items":[{"sku":"C"},{"sku":"B"}],"total":3})");
  history.observe(event_of("footfall", {{"sku", "Z"}}, now), "");  // not an item event
  const auto recent = history.recent("loyalty_id:L1");
  REQUIRE(recent.size() == 3);
  CHECK(recent[0].sku == "B");
  CHECK(recent[0].action == ItemAction::kPurchase);  // the strongest action is kept
  CHECK(recent[1].sku == "C");
  CHECK(recent[2].sku == "A");
  CHECK(history.recent("session_id:s-1").size() == 3);  // every identity of the event

  // A fourth item pushes out the oldest.
  history.observe(event_of("product_view", {{"sku", "D"}}, now), "");
  CHECK(history.recent("loyalty_id:L1").back().sku == "C");

  // Items older than the TTL are not used.
  clock->advance(61min);
  CHECK(history.recent("loyalty_id:L1").empty());

  // The shopper bound (2) evicts the least recently active identity.
  Event other = event_of("product_view", {{"sku", "A"}}, clock->now_unix_ms());
  other.identities = {{"loyalty_id", "L2"}};
  history.observe(other, "");
  CHECK(history.shoppers() == 2);
  CHECK(history.erase({"loyalty_id:L2", "loyalty_id:nobody"}) == 1);
}

TEST_CASE("shopper history remembers the personalization flag of the latest event with one",
          "[agent][recs][history]") {
  auto clock = std::make_shared<ManualClock>();
  ShopperHistory history({}, clock);
  Event e = event_of("product_view", {{"sku", "A"}}, clock->now_unix_ms());
  history.observe(e, "");
  CHECK(history.personalization("loyalty_id:L1") == ConsentState::kUnknown);
  e.consent = ConsentFlags{ConsentState::kGranted, ConsentState::kDenied, ConsentState::kUnknown};
  history.observe(e, "");
  CHECK(history.personalization("loyalty_id:L1") == ConsentState::kDenied);
  e.consent->personalization = ConsentState::kUnknown;  // says nothing: the flag stays
  history.observe(e, "");
  CHECK(history.personalization("loyalty_id:L1") == ConsentState::kDenied);
}
