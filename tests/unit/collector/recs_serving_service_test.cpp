#include "collector/recs/serving/recommendation_service.hpp"

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.hpp"
#include "tests/unit/collector/recs_serving_fakes.hpp"

namespace aisle::collector::recs {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using fakes::TableSource;

constexpr UnixMillis kT0 = 1'760'000'000'000;
const std::string kAlice = "018bcfe5-6800-7000-8000-00000000000a";
const std::string kBob = "018bcfe5-6800-7000-8000-00000000000b";

std::vector<std::string> skus(const RecAnswer& a) {
  std::vector<std::string> out;
  for (const auto& i : a.items) out.push_back(i.sku);
  return out;
}

struct Fixture {
  Fixture() : Fixture(RecsOptions{}) {}
  explicit Fixture(RecsOptions o) {
    options = std::move(o);
    options.experiments_path = dir.file("experiments.json");
    if (!options.strategies.count("knn_only")) options.strategies["knn_only"] = {{"item_knn", 1}};
    options.default_strategy = "knn_only";
    CatalogOptions catalog_options;
    catalog_options.path = dir.file("catalog.db");
    auto opened = Catalog::open(catalog_options, clock, metrics);
    REQUIRE(opened.ok());
    catalog = std::move(*opened);
    knn->by_item["a"] = {{"b", 0.9}, {"c", 0.5}, {"d", 0.2}};
    popularity->by_store["s1"] = {{"p1", 10}, {"p2", 8}};
    popularity->by_store[""] = {{"g1", 100}, {"p1", 90}, {"g2", 50}};
    service = std::make_unique<RecommendationService>(
        options, std::vector<std::shared_ptr<CandidateSource>>{knn, popularity}, catalog.get(),
        [this](const std::string& id) -> std::optional<ConsentFlags> {
          auto it = consent.find(id);
          if (it == consent.end()) return std::nullopt;
          return it->second;
        },
        clock, metrics, 7);
  }

  void grant(const std::string& profile) {
    consent[profile].personalization = ConsentState::kGranted;
  }
  void send(const Event& e, const std::string& profile) {
    service->on_events({profiles::ProfiledEvent{&e, profile}});
  }
  RecAnswer ask(const std::string& profile, const std::string& context_item = "",
                std::size_t n = 3, const std::string& placement = "") {
    RecRequest r;
    r.profile_id = profile;
    r.store_id = "s1";
    r.context_item = context_item;
    r.n = n;
    r.placement = placement;
    return service->recommend(r);
  }

  test::TempDir dir{"aisle-recs-service"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  RecsOptions options;
  std::unique_ptr<Catalog> catalog;
  std::shared_ptr<TableSource> knn = std::make_shared<TableSource>("item_knn");
  std::shared_ptr<TableSource> popularity = std::make_shared<TableSource>("popularity");
  std::map<std::string, ConsentFlags> consent;
  std::unique_ptr<RecommendationService> service;
};

TEST_CASE("events become interactions with session keys, cart and purchases",
          "[collector][recs][service]") {
  Fixture f;
  f.grant(kAlice);
  f.send(fakes::commerce_event(1, "product_view", kT0, {{"sku", "a"}, {"category", "coffee"}}),
         kAlice);
  f.send(fakes::commerce_event(2, "cart_add", kT0 + 1000, {{"sku", "b"}, {"quantity", 1}}), kAlice);
  f.send(fakes::commerce_event(3, "cart_add", kT0 + 2000, {{"sku", "c"}, {"quantity", 1}}), kAlice);
  f.send(fakes::commerce_event(4, "cart_remove", kT0 + 3000, {{"sku", "c"}, {"quantity", 1}}),
         kAlice);
  f.send(fakes::commerce_event(5, "page_view", kT0 + 3500, {{"url", "https://x/"}}), kAlice);
  f.send(fakes::commerce_event(
             6, "purchase", kT0 + 4000,
             {{"transaction_type", "sale"},
              {"items", json::array({{{"sku", "b"}, {"quantity", 1}, {"unit_price", 2}},
                                     {{"sku", "e"}, {"quantity", 1}, {"unit_price", 3},
                                      {"category", "tea"}}})}}),
         kAlice);
  f.send(fakes::commerce_event(7, "click", kT0 + 5000, {{"target", "nav"}}), kAlice);  // no sku

  REQUIRE(f.knn->observed.size() == 5);
  CHECK(f.knn->observed[0].item == "a");
  CHECK(f.knn->observed[0].kind == InteractionKind::kView);
  CHECK(f.knn->observed[0].category == "coffee");
  CHECK(f.knn->observed[0].session_key == kAlice + "#0");
  CHECK(f.knn->observed[0].store_id == "s1");
  CHECK(f.knn->observed[1].kind == InteractionKind::kCart);
  CHECK(f.knn->observed[3].item == "b");
  CHECK(f.knn->observed[4].item == "e");
  CHECK(f.knn->observed[4].kind == InteractionKind::kPurchase);
  CHECK(f.knn->observed[4].category == "tea");
  CHECK(f.popularity->observed.size() == 5);

  auto state = f.service->shopper(kAlice);
  REQUIRE(state);
  CHECK(state->session_items == std::vector<std::string>{"a", "c", "b", "e"});
  CHECK(state->cart.empty());  // c removed, b bought
  REQUIRE(state->purchases.size() == 2);
  CHECK(state->purchases[1].item == "e");
  CHECK(f.metrics.value("aisle_collector_recs_interactions_total", {{"kind", "purchase"}}) == 2);
}

TEST_CASE("a new session starts after the inactivity gap and at session_start",
          "[collector][recs][service]") {
  RecsOptions o;
  o.session.gap = 30min;
  Fixture f(o);
  f.send(fakes::commerce_event(1, "product_view", kT0, {{"sku", "a"}}), kAlice);
  f.send(fakes::commerce_event(2, "product_view", kT0 + 29 * 60000, {{"sku", "b"}}), kAlice);
  f.send(fakes::commerce_event(3, "product_view", kT0 + 60 * 60000, {{"sku", "c"}}), kAlice);
  f.send(fakes::commerce_event(4, "session_start", kT0 + 61 * 60000, json::object()), kAlice);
  f.send(fakes::commerce_event(5, "product_view", kT0 + 62 * 60000, {{"sku", "d"}}), kAlice);
  f.send(fakes::commerce_event(6, "session_end", kT0 + 63 * 60000, json::object()), kAlice);
  f.send(fakes::commerce_event(7, "product_view", kT0 + 64 * 60000, {{"sku", "e"}}), kAlice);
  REQUIRE(f.knn->observed.size() == 5);
  CHECK(f.knn->observed[0].session_key == kAlice + "#0");
  CHECK(f.knn->observed[1].session_key == kAlice + "#0");
  CHECK(f.knn->observed[2].session_key == kAlice + "#1");
  CHECK(f.knn->observed[3].session_key == kAlice + "#2");
  CHECK(f.knn->observed[4].session_key == kAlice + "#3");
  CHECK(f.service->shopper(kAlice)->session_items == std::vector<std::string>{"e"});
}

TEST_CASE("anonymous events and denied consent feed only popularity, without a session",
          "[collector][recs][service]") {
  Fixture f;
  f.consent[kBob].personalization = ConsentState::kDenied;
  f.send(fakes::commerce_event(1, "product_view", kT0, {{"sku", "a"}}), "");
  f.send(fakes::commerce_event(2, "product_view", kT0, {{"sku", "b"}}), kBob);
  CHECK(f.knn->observed.empty());
  REQUIRE(f.popularity->observed.size() == 2);
  CHECK(f.popularity->observed[1].profile_id.empty());
  CHECK(f.popularity->observed[1].session_key.empty());
  CHECK_FALSE(f.service->shopper(kBob));
}

TEST_CASE("a consenting shopper gets the strategy's personalized items, current item excluded",
          "[collector][recs][service]") {
  Fixture f;
  f.grant(kAlice);
  f.send(fakes::commerce_event(1, "product_view", kT0, {{"sku", "a"}}), kAlice);
  auto answer = f.ask(kAlice, "a", 2);
  CHECK(answer.mode == "personalized");
  CHECK(answer.strategy == "knn_only");
  CHECK(skus(answer) == std::vector<std::string>{"b", "c"});
  CHECK(answer.items[0].source == "item_knn");
  CHECK(answer.rec_id.size() == 36);
  REQUIRE_FALSE(f.knn->contexts.empty());
  CHECK(f.knn->contexts.back().session_items == std::vector<std::string>{"a"});
  CHECK(f.knn->contexts.back().profile_id == kAlice);
  CHECK(f.metrics.value("aisle_collector_recs_requests_total", {{"mode", "personalized"}}) == 1);
}

TEST_CASE("without personalization consent the answer is popular and ignores the session",
          "[collector][recs][service]") {
  Fixture f;  // kAlice's consent is unknown: not personalized by default
  f.send(fakes::commerce_event(1, "product_view", kT0, {{"sku", "a"}}), kAlice);
  auto answer = f.ask(kAlice, "", 2);
  CHECK(answer.mode == "popular");
  CHECK(answer.strategy == "popular");
  CHECK(skus(answer) == std::vector<std::string>{"p1", "p2"});
  CHECK(answer.items[0].source == "popularity_store");
  for (const auto& c : f.popularity->contexts) {
    CHECK(c.profile_id.empty());
    CHECK(c.session_items.empty());
  }
  CHECK(f.knn->contexts.empty());
}

TEST_CASE("the fallback chain fills from store, then global popularity, then the catalog",
          "[collector][recs][service]") {
  Fixture f;
  f.grant(kAlice);
  // Cold start: the model knows nothing of this shopper. Store popularity has 2, global adds g1
  // and g2 (p1 is already shown).
  auto answer = f.ask(kAlice, "", 4);
  CHECK(answer.mode == "popular");
  CHECK(answer.strategy == "knn_only");
  CHECK(skus(answer) == std::vector<std::string>{"p1", "p2", "g1", "g2"});
  CHECK(answer.items[2].source == "popularity_global");

  // The catalog completes when popularity runs out.
  REQUIRE(f.catalog->upsert({{"cat1", "", "x", 0, "", true, {}, 0},
                             {"cat2", "", "x", 0, "", true, {{"s1", false}}, 0},
                             {"cat3", "", "x", 0, "", true, {}, 0}})
              .ok());
  auto more = f.ask(kAlice, "", 6);
  CHECK(skus(more) == std::vector<std::string>{"p1", "p2", "g1", "g2", "cat1", "cat3"});
  CHECK(more.items[4].source == "catalog");
  CHECK(f.metrics.value("aisle_collector_recs_fallback_total", {{"level", "catalog"}}) == 1);
}

TEST_CASE("personalized items come first and popularity fills the rest below them",
          "[collector][recs][service]") {
  Fixture f;
  f.grant(kAlice);
  f.send(fakes::commerce_event(1, "product_view", kT0, {{"sku", "a"}}), kAlice);
  auto answer = f.ask(kAlice, "a", 5);
  CHECK(answer.mode == "personalized");
  REQUIRE(skus(answer) == std::vector<std::string>{"b", "c", "d", "p1", "p2"});
  CHECK(answer.items[3].score < answer.items[2].score);
  CHECK(answer.items[3].source == "popularity_store");
}

TEST_CASE("an answer is never empty while the catalog has an item, even if rules exclude all",
          "[collector][recs][service]") {
  Fixture f;
  f.popularity->by_store.clear();
  REQUIRE(f.catalog->upsert({{"only", "", "x", 0, "", true, {}, 0}}).ok());
  f.grant(kAlice);
  f.send(fakes::commerce_event(
             1, "purchase", kT0,
             {{"items", json::array({{{"sku", "only"}, {"quantity", 1}, {"unit_price", 2}}})}}),
         kAlice);
  auto answer = f.ask(kAlice, "", 3);
  CHECK(skus(answer) == std::vector<std::string>{"only"});

  // Nothing anywhere: an empty answer, counted.
  Fixture empty;
  empty.popularity->by_store.clear();
  CHECK(empty.ask(kAlice).items.empty());
  CHECK(empty.metrics.value("aisle_collector_recs_empty_answers_total") == 1);
}

TEST_CASE("recently bought items are excluded from personalized and fallback items",
          "[collector][recs][service]") {
  Fixture f;
  f.grant(kAlice);
  f.send(fakes::commerce_event(1, "product_view", kT0, {{"sku", "a"}}), kAlice);
  f.send(fakes::commerce_event(
             2, "purchase", kT0 + 1,
             {{"items", json::array({{{"sku", "b"}, {"quantity", 1}, {"unit_price", 2}},
                                     {{"sku", "p1"}, {"quantity", 1}, {"unit_price", 2}}})}}),
         kAlice);
  f.knn->by_item["p1"] = f.knn->by_item["a"];  // the session's last item is p1 now
  auto answer = f.ask(kAlice, "", 4);
  CHECK(skus(answer) == std::vector<std::string>{"c", "d", "p2", "g1"});
}

TEST_CASE("clicks, cart adds and purchases with a rec_id are attributed once per answer",
          "[collector][recs][service]") {
  Fixture f;
  f.grant(kAlice);
  auto answer = f.ask(kAlice, "", 2, "kiosk_home");
  f.send(fakes::commerce_event(1, "click", kT0 + 10,
                              {{"target", "rec"}, {"sku", "p1"}, {"rec_id", answer.rec_id}}),
         kAlice);
  f.send(fakes::commerce_event(2, "click", kT0 + 20,
                              {{"target", "rec"}, {"sku", "p2"}, {"rec_id", answer.rec_id}}),
         kAlice);
  f.send(fakes::commerce_event(3, "cart_add", kT0 + 30,
                              {{"sku", "p1"}, {"quantity", 1}, {"rec_id", answer.rec_id}}),
         kAlice);
  f.send(fakes::commerce_event(
             4, "purchase", kT0 + 40,
             {{"items", json::array({{{"sku", "p1"}, {"quantity", 1}, {"unit_price", 2},
                                      {"rec_id", answer.rec_id}}})}}),
         kAlice);
  f.send(fakes::commerce_event(5, "click", kT0 + 50,
                              {{"target", "rec"}, {"rec_id", "unknown-rec-id"}}),
         kAlice);
  auto stats = f.service->exposures().stats();
  const auto& counts = stats.at({"kiosk_home", "knn_only"});
  CHECK(counts.impressions == 1);
  CHECK(counts.clicks == 1);
  CHECK(counts.carts == 1);
  CHECK(counts.conversions == 1);
  CHECK(f.metrics.value("aisle_collector_recs_clicks_total",
                        {{"placement", "kiosk_home"}, {"strategy", "knn_only"}}) == 1);
  CHECK(f.metrics.value("aisle_collector_recs_unattributed_total") == 1);
}

TEST_CASE("a click after the attribution window is not attributed",
          "[collector][recs][service]") {
  RecsOptions o;
  o.attribution.window = 1h;
  Fixture f(o);
  auto answer = f.ask(kAlice, "", 2, "pdp");
  f.send(fakes::commerce_event(1, "click", kT0 + 2 * 3600000,
                              {{"target", "rec"}, {"rec_id", answer.rec_id}}),
         kAlice);
  CHECK(f.service->exposures().stats().at({"pdp", "popular"}).clicks == 0);
}

TEST_CASE("an A/B experiment on a placement picks the strategy and counts per arm",
          "[collector][recs][service]") {
  RecsOptions o;
  o.strategies["pop_only"] = {{"popularity", 1}};
  o.strategies["knn_only"] = {{"item_knn", 1}};
  ExperimentConfig e;
  e.id = "exp-pdp";
  e.arms = {{"knn_only", 1}, {"pop_only", 1}};
  o.experiments["pdp"] = e;
  Fixture f(o);
  std::map<std::string, int> by_strategy;
  for (int i = 0; i < 200; ++i) {
    const std::string profile = "profile-" + std::to_string(i);
    f.grant(profile);
    auto first = f.ask(profile, "", 2, "pdp");
    auto second = f.ask(profile, "", 2, "pdp");
    REQUIRE(first.experiment);
    CHECK(first.strategy == second.strategy);
    ++by_strategy[first.strategy];
    f.send(fakes::commerce_event(i, "click", kT0 + 1, {{"target", "x"}, {"rec_id", first.rec_id}}),
           profile);
  }
  CHECK(by_strategy["knn_only"] > 60);
  CHECK(by_strategy["pop_only"] > 60);
  auto stats = f.service->experiments().stats("pdp");
  REQUIRE(stats);
  CHECK(stats->arms[0].exposures + stats->arms[1].exposures == 400);
  CHECK(stats->arms[0].clicks + stats->arms[1].clicks == 200);
  // Other placements run no experiment.
  CHECK_FALSE(f.ask("profile-1", "", 2, "cart").experiment);
}

TEST_CASE("merges move session state and erasure forgets it", "[collector][recs][service]") {
  Fixture f;
  f.send(fakes::commerce_event(1, "cart_add", kT0, {{"sku", "x"}, {"quantity", 1}}), kBob);
  f.send(fakes::commerce_event(2, "product_view", kT0 + 1, {{"sku", "y"}}), kAlice);
  f.service->on_merge({kAlice, kBob, "user_id:u", kT0 + 2});
  CHECK_FALSE(f.service->shopper(kBob));
  auto alice = f.service->shopper(kAlice);
  REQUIRE(alice);
  CHECK(alice->cart == std::vector<std::string>{"x"});
  CHECK(alice->session_items == std::vector<std::string>{"x", "y"});
  profiles::ErasedProfile erased;
  erased.profile_id = kAlice;
  f.service->on_erase(erased);
  CHECK_FALSE(f.service->shopper(kAlice));
}

TEST_CASE("session state is bounded by the LRU", "[collector][recs][service]") {
  RecsOptions o;
  o.session.max_profiles = 64;
  Fixture f(o);
  for (int i = 0; i < 1000; ++i) {
    f.send(fakes::commerce_event(i, "product_view", kT0 + i, {{"sku", "a"}}),
           "p-" + std::to_string(i));
  }
  CHECK(f.service->profiles_held() <= 64);
  CHECK(f.service->shopper("p-999"));
  CHECK_FALSE(f.service->shopper("p-0"));
}

TEST_CASE("the store snapshot holds store popularity, the assortment and neighbours",
          "[collector][recs][service]") {
  Fixture f;
  REQUIRE(f.catalog->upsert({{"a", "", "coffee", 1, "EUR", true, {}, 0},
                             {"b", "", "coffee", 1, "EUR", false, {{"s1", true}}, 0},
                             {"z", "", "tea", 1, "EUR", true, {{"s1", false}}, 0}})
              .ok());
  f.send(fakes::commerce_event(1, "product_view", kT0, {{"sku", "a"}}), "");
  auto snapshot = f.service->store_snapshot("s1");
  REQUIRE(snapshot.ok());
  CHECK(snapshot->store_id == "s1");
  CHECK(snapshot->model_generation == 1);
  REQUIRE(snapshot->popularity.size() == 2);
  CHECK(snapshot->popularity[0].sku == "p1");
  REQUIRE(snapshot->items.size() == 2);  // z is out of stock in s1
  CHECK(snapshot->items[0].sku == "a");
  CHECK(snapshot->items[0].category == "coffee");
  REQUIRE(snapshot->items[0].neighbours.size() == 3);
  CHECK(snapshot->items[0].neighbours[0].sku == "b");
  CHECK(snapshot->items[1].sku == "b");
  CHECK(snapshot->items[1].available);

  auto payload = wire::encode_rec_snapshot(*snapshot);
  REQUIRE(payload.ok());
  auto decoded = wire::decode_rec_snapshot(*payload);
  REQUIRE(decoded.ok());
  CHECK(*decoded == *snapshot);

  std::vector<std::string> published;
  CHECK(f.service->publish_snapshots([&](const std::string& store, const std::string& p) {
    published.push_back(store);
    CHECK(wire::decode_rec_snapshot(p).ok());
    return ok_status();
  }) == 1);
  CHECK(published == std::vector<std::string>{"s1"});
  CHECK(f.metrics.value("aisle_collector_recs_snapshots_published_total") == 1);
}

TEST_CASE("experiments changed at runtime persist and replace the configured ones on load",
          "[collector][recs][service]") {
  RecsOptions o;
  o.strategies["pop_only"] = {{"popularity", 1}};
  o.strategies["knn_only"] = {{"item_knn", 1}};
  ExperimentConfig configured;
  configured.id = "configured";
  configured.arms = {{"knn_only", 1}, {"pop_only", 1}};
  o.experiments["cart"] = configured;
  Fixture f(o);
  ExperimentConfig e;
  e.id = "runtime";
  e.kind = ExperimentKind::kBandit;
  e.arms = {{"knn_only", 1}, {"pop_only", 1}};
  REQUIRE(f.service->set_experiment("pdp", e).ok());
  REQUIRE(f.service->remove_experiment("cart").ok());
  e.arms[1].strategy = "nope";
  auto refused = f.service->set_experiment("pdp", e);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "experiment.arms[1].strategy: unknown strategy \"nope\"");

  RecommendationService restarted(f.options, {f.knn, f.popularity}, f.catalog.get(), nullptr,
                                  f.clock, f.metrics, 1);
  CHECK(restarted.experiments().get("cart"));  // from the configuration
  REQUIRE(restarted.load_persisted_experiments().ok());
  CHECK_FALSE(restarted.experiments().get("cart"));
  auto pdp = restarted.experiments().get("pdp");
  REQUIRE(pdp);
  CHECK(pdp->id == "runtime");
  CHECK(pdp->kind == ExperimentKind::kBandit);
}

}  // namespace
}  // namespace aisle::collector::recs
