#include "collector/segments/learned/propensity_model.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/metrics.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

constexpr UnixMillis kT0 = 1'760'000'000'000;
constexpr std::int64_t kMinute = 60'000;

Event make_event(const std::string& type, UnixMillis at, const std::string& store, Channel channel,
                 json properties = json::object()) {
  Event e;
  e.event_id = "e";
  e.type = type;
  e.schema = "aisle/" + type + "/jsonschema/1-0-0";
  e.occurred_at = at;
  e.source.store_id = store;
  e.source.channel = channel;
  e.properties = std::move(properties);
  return e;
}

json sale(double total) {
  return {{"order_id", "o-1"},
          {"transaction_type", "sale"},
          {"total", total},
          {"currency", "EUR"},
          {"items", json::array({{{"sku", "A"}, {"quantity", 1}, {"unit_price", total}}})}};
}

struct Harness {
  explicit Harness(PropensityOptions options = {}, DriftOptions drift = {.enabled = false}) {
    auto opened = PropensityModel::open(options, drift, clock, metrics);
    REQUIRE(opened.ok());
    model = std::move(*opened);
  }
  void send(const std::string& profile, const Event& e) {
    model->observe(profiles::ProfiledEvent{&e, profile});
  }
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  std::unique_ptr<PropensityModel> model;
};

// One shopping session of `profile` starting at `start`: `browse` events, then a purchase (buyer)
// or a session_end / nothing (the session times out). Returns the time after the session.
UnixMillis play_session(Harness& h, const std::string& profile, UnixMillis start, bool buyer,
                        bool informative, std::mt19937_64& rng) {
  // Informative: buyers shop in store-1 at a kiosk and add espresso machines to the cart;
  // non-buyers browse books on the web in store-2. Non-informative: everyone looks the same.
  const bool looks_like_buyer = informative ? buyer : (rng() % 2 == 0);
  const std::string store = looks_like_buyer ? "store-1" : "store-2";
  const Channel channel = looks_like_buyer ? Channel::kKiosk : Channel::kWeb;
  const std::string category = looks_like_buyer ? "coffee/espresso" : "books/novels";
  const int browse = 2 + static_cast<int>(rng() % 5);
  UnixMillis t = start;
  h.send(profile, make_event("session_start", t, store, channel, {{"entry_point", "direct"}}));
  for (int k = 0; k < browse; ++k) {
    t += kMinute;
    const bool add = looks_like_buyer ? (k % 2 == 1) : false;
    h.send(profile, make_event(add ? "cart_add" : "product_view", t, store, channel,
                               {{"sku", "sku-" + std::to_string(rng() % 50)},
                                {"category", category},
                                {"price", 100},
                                {"quantity", 1}}));
  }
  t += kMinute;
  if (buyer) {
    h.send(profile, make_event("purchase", t, store, channel, sale(250)));
  } else if (rng() % 2 == 0) {
    h.send(profile, make_event("session_end", t, store, channel,
                               {{"duration_seconds", 60}, {"event_count", browse + 1}}));
  }
  return t;
}

double run_stream(Harness& h, bool informative, int sessions) {
  std::mt19937_64 rng(42);
  UnixMillis t = kT0;
  for (int s = 0; s < sessions; ++s) {
    const bool buyer = rng() % 10 < 3;
    // Sessions of 200 shoppers interleave in time only through their start; each profile shops
    // once per 200 sessions, so earlier sessions have timed out when it returns.
    const std::string profile = "p-" + std::to_string(s % 200);
    play_session(h, profile, t, buyer, informative, rng);
    t += kMinute / 2;
  }
  h.clock->advance(std::chrono::hours(24));
  h.model->expire_sessions();
  const auto d = h.model->describe();
  REQUIRE(d["auc"].is_number());
  return d["auc"].get<double>();
}

TEST_CASE("propensity learns a separable synthetic stream (prequential AUC > 0.9)",
          "[collector][propensity]") {
  Harness h;
  const double auc = run_stream(h, true, 3000);
  INFO("auc " << auc);
  CHECK(auc > 0.9);
  CHECK(h.metrics.value("aisle_collector_propensity_auc") > 0.9);
  CHECK(h.metrics.value("aisle_collector_propensity_logloss") > 0);
  CHECK(h.metrics.value("aisle_collector_propensity_examples_total", {{"label", "positive"}}) > 0);
  CHECK(h.metrics.value("aisle_collector_propensity_labels_total", {{"outcome", "timeout"}}) > 0);
  CHECK(h.metrics.value("aisle_collector_propensity_labels_total", {{"outcome", "session_end"}}) >
        0);
}

TEST_CASE("propensity on a non-informative stream stays near AUC 0.5", "[collector][propensity]") {
  Harness h;
  const double auc = run_stream(h, false, 3000);
  INFO("auc " << auc);
  CHECK(auc > 0.45);
  CHECK(auc < 0.55);
  // Log-loss of an uninformed model on a 30% base rate is near the entropy, 0.61.
  const double loss = h.model->describe()["log_loss"].get<double>();
  CHECK(loss > 0.55);
  CHECK(loss < 0.75);
}

TEST_CASE("propensity scores each example before it trains on it", "[collector][propensity]") {
  Harness h;
  const auto store = std::string("store-1");
  // The untrained model scores 0.5; the first session's examples must carry exactly that.
  h.send("p1", make_event("product_view", kT0, store, Channel::kKiosk, {{"sku", "A"}}));
  REQUIRE(h.model->score(kPurchasePropensity, "p1") == Approx(0.5));
  h.send("p1", make_event("cart_add", kT0 + 1000, store, Channel::kKiosk,
                          {{"sku", "A"}, {"price", 10}, {"quantity", 1}}));
  h.send("p1", make_event("purchase", kT0 + 2000, store, Channel::kKiosk, sale(10)));
  auto window = h.model->evaluation_window();
  REQUIRE(window.size() == 2);
  CHECK(window[0].score == 0.5f);
  CHECK(window[1].score == 0.5f);
  CHECK(window[0].label);

  // Second session (another profile): the scores observe() gave are the ones evaluated, and the
  // training that followed changed what the same event scores now.
  h.send("p2", make_event("product_view", kT0 + 3000, store, Channel::kKiosk, {{"sku", "A"}}));
  const double before = *h.model->score(kPurchasePropensity, "p2");
  CHECK(before > 0.5);  // learned from p1's purchase
  h.send("p2", make_event("purchase", kT0 + 4000, store, Channel::kKiosk, sale(10)));
  window = h.model->evaluation_window();
  REQUIRE(window.size() == 3);
  CHECK(window[2].score == static_cast<float>(before));
  h.send("p3", make_event("product_view", kT0 + 5000, store, Channel::kKiosk, {{"sku", "A"}}));
  CHECK(*h.model->score(kPurchasePropensity, "p3") > before);
}

TEST_CASE("a session closed by inactivity labels its examples negative",
          "[collector][propensity]") {
  PropensityOptions options;
  options.session_gap_ms = 30 * kMinute;
  Harness h(options);
  h.send("p1", make_event("product_view", kT0, "s", Channel::kWeb, {{"sku", "A"}}));
  h.send("p1", make_event("product_view", kT0 + kMinute, "s", Channel::kWeb, {{"sku", "B"}}));
  CHECK(h.model->evaluation_window().empty());
  CHECK(h.model->score(kPurchasePropensity, "p1").has_value());
  // 31 minutes of collector time without an event of p1: the next event of anyone closes it.
  h.clock->advance(std::chrono::minutes(31));
  h.send("p2", make_event("product_view", kT0 + 2 * kMinute, "s", Channel::kWeb, {{"sku", "C"}}));
  const auto window = h.model->evaluation_window();
  REQUIRE(window.size() == 2);
  CHECK_FALSE(window[0].label);
  CHECK_FALSE(window[1].label);
  CHECK_FALSE(h.model->score(kPurchasePropensity, "p1").has_value());  // session over
  CHECK(h.model->score(kPurchasePropensity, "p2").has_value());
  CHECK_FALSE(h.model->score("other_model", "p2").has_value());
}

TEST_CASE("a late batch from an offline store keeps its sessions and labels",
          "[collector][propensity]") {
  Harness h;
  // Live traffic is three hours ahead of the store whose agent was offline.
  h.send("live",
         make_event("product_view", kT0 + 180 * kMinute, "s", Channel::kWeb, {{"sku", "A"}}));
  h.send("p1", make_event("product_view", kT0, "s", Channel::kPos, {{"sku", "A"}}));
  h.send("p1", make_event("cart_add", kT0 + kMinute, "s", Channel::kPos,
                          {{"sku", "A"}, {"price", 10}, {"quantity", 1}}));
  h.send("p1", make_event("purchase", kT0 + 2 * kMinute, "s", Channel::kPos, sale(10)));
  const auto window = h.model->evaluation_window();
  REQUIRE(window.size() == 2);
  CHECK(window[0].label);
  CHECK(window[1].label);
  // Within the replayed batch, event time still separates sessions: 40 minutes apart is two.
  h.send("p1", make_event("product_view", kT0 + 42 * kMinute, "s", Channel::kPos, {{"sku", "B"}}));
  h.send("p1", make_event("product_view", kT0 + 90 * kMinute, "s", Channel::kPos, {{"sku", "C"}}));
  REQUIRE(h.model->evaluation_window().size() == 3);
  CHECK_FALSE(h.model->evaluation_window()[2].label);
}

TEST_CASE("a long session keeps at most max_examples_per_session examples",
          "[collector][propensity]") {
  PropensityOptions options;
  options.max_examples_per_session = 5;
  Harness h(options);
  for (int k = 0; k < 40; ++k) {
    h.send("p1", make_event("product_view", kT0 + k * 1000, "s", Channel::kWeb, {{"sku", "A"}}));
  }
  h.send("p1", make_event("purchase", kT0 + 50'000, "s", Channel::kWeb, sale(5)));
  CHECK(h.model->evaluation_window().size() == 5);
}

TEST_CASE("propensity state is bounded by max_profiles (LRU) and follows merges and erasures",
          "[collector][propensity]") {
  PropensityOptions options;
  options.max_profiles = 3;
  Harness h(options);
  for (int p = 0; p < 5; ++p) {
    h.send("p" + std::to_string(p),
           make_event("product_view", kT0 + p, "s", Channel::kWeb, {{"sku", "A"}}));
  }
  CHECK(h.model->profiles() == 3);
  CHECK(h.metrics.value("aisle_collector_propensity_evicted_total") == 2);
  CHECK(h.metrics.value("aisle_collector_propensity_examples_dropped_total") == 2);
  CHECK_FALSE(h.model->score(kPurchasePropensity, "p0").has_value());
  CHECK(h.model->score(kPurchasePropensity, "p4").has_value());

  // p3 merged into p2: p3's state is gone, its pending example joins p2's session.
  h.model->on_merge(profiles::MergeRecord{"p2", "p3", "user_id:u", kT0});
  CHECK(h.model->profiles() == 2);
  CHECK_FALSE(h.model->score(kPurchasePropensity, "p3").has_value());
  h.send("p2", make_event("purchase", kT0 + 10, "s", Channel::kWeb, sale(5)));
  CHECK(h.model->evaluation_window().size() == 2);  // p2's and p3's product views

  h.model->forget("p4");
  CHECK_FALSE(h.model->score(kPurchasePropensity, "p4").has_value());
  CHECK(h.model->profiles() == 1);
  CHECK(h.model->memory_bytes() > 0);
}

TEST_CASE("returns do not count as purchases and unattributed events are not scored",
          "[collector][propensity]") {
  Harness h;
  h.send("p1", make_event("product_view", kT0, "s", Channel::kPos, {{"sku", "A"}}));
  json refund = sale(5);
  refund["transaction_type"] = "return";
  h.send("p1", make_event("purchase", kT0 + 1, "s", Channel::kPos, refund));
  CHECK(h.model->evaluation_window().empty());
  h.send("", make_event("product_view", kT0 + 2, "s", Channel::kPos, {{"sku", "A"}}));
  CHECK(h.metrics.value("aisle_collector_propensity_unattributed_total") == 1);
}

TEST_CASE("propensity feeds one drift value per labelled session to the drift detector",
          "[collector][propensity][drift]") {
  DriftOptions drift;
  drift.window = 20;
  drift.check_every = 20;
  Harness h({}, drift);
  UnixMillis t = kT0;
  for (int s = 0; s < 80; ++s) {
    const std::string profile = "p" + std::to_string(s);
    const double price = s < 60 ? 10 : 1000;  // carts grow a hundredfold after session 60
    h.send(profile, make_event("product_view", t, "s", Channel::kWeb, {{"sku", "A"}}));
    h.send(profile, make_event("cart_add", t + 1000, "s", Channel::kWeb,
                               {{"sku", "A"}, {"price", price}, {"quantity", 1}}));
    h.send(profile, make_event("purchase", t + 2000, "s", Channel::kWeb, sale(price)));
    t += 10'000;
    if (s == 59) {
      CHECK(h.metrics.value("aisle_collector_feature_drift_tests_total") == 2 * kDriftFeatureCount);
      CHECK(h.metrics.value("aisle_collector_feature_drift", {{"feature", "cart_value"}}) == 0);
    }
  }
  CHECK(h.metrics.value("aisle_collector_feature_drift", {{"feature", "cart_value"}}) == 1);
  CHECK(h.metrics.value("aisle_collector_feature_drift", {{"feature", "session_events"}}) == 0);
  const auto d = h.model->describe();
  CHECK(d["drift"]["features"][kCartValue]["drifted"] == true);
}

TEST_CASE("parse_propensity_options reads the section and names what is wrong",
          "[collector][propensity]") {
  auto o = parse_propensity_options(
      json{{"session_gap_ms", 600000}, {"max_profiles", 10}, {"hash_bits", 12}});
  REQUIRE(o.ok());
  CHECK(o->session_gap_ms == 600000);
  CHECK(o->max_profiles == 10);
  CHECK(o->hash_bits == 12);
  CHECK(parse_propensity_options(json::object()).ok());
  auto unknown = parse_propensity_options(json{{"max_profile", 10}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "segments.propensity.max_profile: unknown key");
  auto range = parse_propensity_options(json{{"hash_bits", 40}});
  REQUIRE_FALSE(range.ok());
  CHECK(range.error().message.find("segments.propensity.hash_bits: must be in [8, 26]") == 0);
  CHECK_FALSE(parse_propensity_options(json{{"learning_rate", 0}}).ok());
  CHECK_FALSE(parse_propensity_options(json::array()).ok());
}

}  // namespace
}  // namespace aisle::collector::segments
