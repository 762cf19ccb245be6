#include "agent/recs/recs_service.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <mutex>

#include "agent/privacy/consent_cache.hpp"
#include "agent/recs/recs_options.hpp"
#include "tests/support/temp_dir.hpp"

using namespace aisle;
using namespace aisle::agent::recs;
using namespace std::chrono_literals;

namespace {

// A collector stand-in: answers or fails as the test says, and records what it was asked.
class ScriptedUpstream final : public RecsUpstream {
 public:
  struct State {
    std::mutex mutex;
    bool up = true;
    bool refuse = false;  // reachable, but answering 4xx
    int calls = 0;
    RecQuery last_query;
    std::string snapshot;
  };
  explicit ScriptedUpstream(std::shared_ptr<State> state) : state_(std::move(state)) {}

  Result<RecAnswer> recommend(const RecQuery& query, const std::string&) override {
    std::lock_guard lock(state_->mutex);
    ++state_->calls;
    state_->last_query = query;
    if (!state_->up) return make_error(ErrorCode::kDeadlineExceeded, "timeout");
    if (state_->refuse) return make_error(ErrorCode::kInvalidArgument, "HTTP 401");
    RecAnswer a;
    a.rec_id = "rec-live-" + std::to_string(state_->calls);
    a.strategy = "vsknn";
    a.items = {{"LIVE-" + query.context_item, 0.9, "vsknn"}};
    return a;
  }
  Result<std::string> fetch_snapshot(const std::string&) override {
    std::lock_guard lock(state_->mutex);
    if (!state_->up || state_->snapshot.empty()) {
      return make_error(ErrorCode::kUnavailable, "down");
    }
    return state_->snapshot;
  }

 private:
  std::shared_ptr<State> state_;
};

wire::RecSnapshot snapshot_at(UnixMillis generated_at, const std::string& store = "store-1") {
  wire::RecSnapshot s;
  s.store_id = store;
  s.generated_at = generated_at;
  s.model_generation = 1;
  s.popularity = {{"P", 1.0}, {"A", 0.5}};
  s.items = {{"A", "x", true, {{"N", 0.8}}}, {"N", "x", true, {}}, {"P", "y", true, {}}};
  return s;
}

std::string encoded(const wire::RecSnapshot& s) {
  auto payload = wire::encode_rec_snapshot(s);
  REQUIRE(payload);
  return *payload;
}

RecQuery query_for(const std::string& identity, const std::string& context_item = "") {
  RecQuery q;
  q.identity = identity;
  q.context_item = context_item;
  q.placement = "kiosk_home";
  q.n = 3;
  return q;
}

Event view_of(const std::string& sku, UnixMillis at,
              ConsentState personalization = ConsentState::kGranted) {
  Event e;
  e.type = "product_view";
  e.occurred_at = at;
  e.source.store_id = "store-1";
  e.identities = {{"loyalty_id", "L1"}};
  e.consent = ConsentFlags{ConsentState::kGranted, personalization, ConsentState::kUnknown};
  e.properties = {{"sku", sku}};
  return e;
}

RecsOptions options_in(const test::TempDir& dir) {
  auto parsed = parse_recs_options(nlohmann::json{{"collector_url", "https://collector:8443"},
                                                  {"breaker_failures", 2},
                                                  {"breaker_cooldown", "5s"},
                                                  {"cache_ttl", "1m"}});
  REQUIRE(parsed);
  parsed->snapshot_path = dir.file("recs_snapshot.zst");
  return *parsed;
}

}  // namespace

TEST_CASE("recs service falls back live -> cache -> offline -> popularity and back to live",
          "[agent][recs][service]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto state = std::make_shared<ScriptedUpstream::State>();
  metrics::Registry metrics;
  RecsService service(options_in(dir), "store-1", std::make_unique<ScriptedUpstream>(state),
                      nullptr, clock, metrics);
  REQUIRE(service.apply_snapshot_payload(encoded(snapshot_at(clock->now_unix_ms())), "http"));
  service.observe(view_of("A", clock->now_unix_ms()), "");

  const auto live = service.handle(query_for("loyalty_id:L1", "sku-9"));
  CHECK(live.mode == ServeMode::kLive);
  CHECK(live.items.front().sku == "LIVE-sku-9");

  state->up = false;
  // The same shopper and context: the cached live answer.
  const auto cached = service.handle(query_for("loyalty_id:L1", "sku-9"));
  CHECK(cached.mode == ServeMode::kCache);
  CHECK(cached.rec_id == live.rec_id);
  // Another context: nothing cached; the local model from the shopper's view of A.
  const auto offline = service.handle(query_for("loyalty_id:L1", "sku-3"));
  CHECK(offline.mode == ServeMode::kOffline);
  REQUIRE_FALSE(offline.items.empty());
  CHECK(offline.items.front().sku == "N");
  CHECK(offline.items.front().source == kLocalNeighbourSource);
  CHECK(state->calls == 3);
  // Two failures opened the breaker: the collector is not asked again during the cool-down.
  const auto anonymous = service.handle(query_for(""));
  CHECK(anonymous.mode == ServeMode::kPopularity);
  CHECK(anonymous.items.front().sku == "P");
  CHECK(state->calls == 3);
  CHECK(metrics.value("aisle_agent_recs_upstream_skipped_total") == 1);
  CHECK(metrics.value("aisle_agent_recs_breaker_open") == 1);

  state->up = true;
  clock->advance(5s);
  const auto again = service.handle(query_for("loyalty_id:L1", "sku-3"));
  CHECK(again.mode == ServeMode::kLive);
  CHECK(metrics.value("aisle_agent_recs_breaker_open") == 0);
  CHECK(metrics.value("aisle_agent_recs_requests_total", {{"mode", "live"}}) == 2);
  CHECK(metrics.value("aisle_agent_recs_requests_total", {{"mode", "cache"}}) == 1);
  CHECK(metrics.value("aisle_agent_recs_requests_total", {{"mode", "offline"}}) == 1);
  CHECK(metrics.value("aisle_agent_recs_requests_total", {{"mode", "popularity"}}) == 1);
  CHECK(metrics.value("aisle_agent_recs_upstream_failures_total", {{"reason", "timeout"}}) == 2);
}

TEST_CASE("recs service does not open the breaker when the collector refuses a request",
          "[agent][recs][service]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto state = std::make_shared<ScriptedUpstream::State>();
  metrics::Registry metrics;
  RecsService service(options_in(dir), "store-1", std::make_unique<ScriptedUpstream>(state),
                      nullptr, clock, metrics);
  state->refuse = true;
  for (int i = 0; i < 5; ++i) {
    CHECK(service.handle(query_for("loyalty_id:L1")).mode == ServeMode::kPopularity);
  }
  CHECK(state->calls == 5);  // asked every time: the WAN is fine
  CHECK(metrics.value("aisle_agent_recs_breaker_open") == 0);
  CHECK(metrics.value("aisle_agent_recs_upstream_failures_total", {{"reason", "rejected"}}) == 5);
}

TEST_CASE("recs service cache answers expire after the TTL", "[agent][recs][service]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto state = std::make_shared<ScriptedUpstream::State>();
  metrics::Registry metrics;
  RecsService service(options_in(dir), "store-1", std::make_unique<ScriptedUpstream>(state),
                      nullptr, clock, metrics);
  REQUIRE(service.handle(query_for("loyalty_id:L1")).mode == ServeMode::kLive);
  state->up = false;
  clock->advance(61s);
  // No snapshot either: the answer is empty popularity, but still an answer.
  const auto answer = service.handle(query_for("loyalty_id:L1"));
  CHECK(answer.mode == ServeMode::kPopularity);
  CHECK(answer.items.empty());
  CHECK_FALSE(answer.rec_id.empty());
}

TEST_CASE("recs service gives shoppers without personalization consent popularity only",
          "[agent][recs][service][consent]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto state = std::make_shared<ScriptedUpstream::State>();
  metrics::Registry metrics;
  auto consent = agent::privacy::ConsentCache::open(dir.file("consent.db"));
  REQUIRE(consent);
  wire::ConsentUpdate update;
  update.from_version = 0;
  update.to_version = 1;
  update.entries = {
      {"loyalty_id:L1",
       ConsentFlags{ConsentState::kGranted, ConsentState::kDenied, ConsentState::kUnknown},
       clock->now_unix_ms(), 1}};
  REQUIRE((*consent)->apply(update));
  RecsService service(options_in(dir), "store-1", std::make_unique<ScriptedUpstream>(state),
                      consent->get(), clock, metrics);
  REQUIRE(service.apply_snapshot_payload(encoded(snapshot_at(clock->now_unix_ms())), "http"));
  // The event's own flag says granted, but the consent cache (the collector's decision) wins.
  service.observe(view_of("A", clock->now_unix_ms(), ConsentState::kGranted), "");

  // Live: the collector is asked without the identity.
  CHECK(service.handle(query_for("loyalty_id:L1")).mode == ServeMode::kLive);
  CHECK(state->last_query.identity.empty());
  CHECK(metrics.value("aisle_agent_recs_consent_denied_total") == 1);

  // Offline: popularity, not the neighbours of A.
  state->up = false;
  const auto offline = service.handle(query_for("loyalty_id:L1", "x"));
  CHECK(offline.mode == ServeMode::kPopularity);
  CHECK(offline.items.front().sku == "P");
}

TEST_CASE("recs service personalizes unknown consent only when configured",
          "[agent][recs][service][consent]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  metrics::Registry metrics;
  RecsOptions options = options_in(dir);
  options.collector.url.clear();
  const Event unknown = view_of("A", clock->now_unix_ms(), ConsentState::kUnknown);
  {
    RecsService service(options, "store-1", nullptr, nullptr, clock, metrics);
    REQUIRE(service.apply_snapshot_payload(encoded(snapshot_at(1)), "mqtt"));
    service.observe(unknown, "");
    CHECK(service.handle(query_for("loyalty_id:L1")).mode == ServeMode::kPopularity);
  }
  options.unknown_consent = UnknownConsent::kPersonalize;
  metrics::Registry metrics2;
  RecsService service(options, "store-1", nullptr, nullptr, clock, metrics2);
  service.observe(unknown, "");
  // The snapshot persisted by the first service is read back at construction.
  CHECK(metrics2.value("aisle_agent_recs_snapshot_updates_total", {{"origin", "file"}}) == 1);
  const auto answer = service.handle(query_for("loyalty_id:L1"));
  CHECK(answer.mode == ServeMode::kOffline);
  CHECK(answer.items.front().sku == "N");
}

TEST_CASE("recs service refuses another store's snapshot and ignores older ones",
          "[agent][recs][service][snapshot]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto state = std::make_shared<ScriptedUpstream::State>();
  metrics::Registry metrics;
  RecsService service(options_in(dir), "store-1", std::make_unique<ScriptedUpstream>(state),
                      nullptr, clock, metrics);
  auto other = service.apply_snapshot_payload(encoded(snapshot_at(5, "store-2")), "mqtt");
  REQUIRE_FALSE(other);
  CHECK(other.error().message == "snapshot is for store 'store-2', this agent serves 'store-1'");
  auto garbage = service.apply_snapshot_payload("not zstd", "mqtt");
  REQUIRE_FALSE(garbage);
  CHECK(metrics.value("aisle_agent_recs_snapshot_errors_total", {{"origin", "mqtt"}}) == 2);

  state->snapshot = encoded(snapshot_at(10));
  REQUIRE(service.refresh_snapshot());
  CHECK(service.status()["snapshot"]["generated_at"] == 10);
  REQUIRE(service.apply_snapshot_payload(encoded(snapshot_at(9)), "mqtt"));
  CHECK(service.status()["snapshot"]["generated_at"] == 10);
  CHECK(metrics.value("aisle_agent_recs_snapshot_stale_total") == 1);
  CHECK(std::filesystem::exists(dir.file("recs_snapshot.zst")));

  // A pushed snapshot is applied by the thread once started.
  service.start();
  service.accept_pushed_snapshot(encoded(snapshot_at(20)));
  for (int i = 0; i < 200 && service.status()["snapshot"]["generated_at"] != 20; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK(service.status()["snapshot"]["generated_at"] == 20);
  service.stop();
}

TEST_CASE("recs service erasure forgets the shopper's history and cached answers",
          "[agent][recs][service]") {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto state = std::make_shared<ScriptedUpstream::State>();
  metrics::Registry metrics;
  RecsService service(options_in(dir), "store-1", std::make_unique<ScriptedUpstream>(state),
                      nullptr, clock, metrics);
  REQUIRE(service.apply_snapshot_payload(encoded(snapshot_at(1)), "http"));
  service.observe(view_of("A", clock->now_unix_ms()), "");
  REQUIRE(service.handle(query_for("loyalty_id:L1")).mode == ServeMode::kLive);
  CHECK(service.erase({"loyalty_id:L1"}) == 2);  // one history, one cached answer
  state->up = false;
  CHECK(service.handle(query_for("loyalty_id:L1")).mode == ServeMode::kPopularity);
}

TEST_CASE("recs options parse every key and name the wrong one", "[agent][recs][options]") {
  auto empty = parse_recs_options(nlohmann::json::object());
  REQUIRE(empty);
  CHECK_FALSE(empty->enabled);
  auto parsed = parse_recs_options(nlohmann::json::parse(R"({
      "collector_url": "https://collector.example:8443/", "timeout": "200ms",
      "cache_ttl": "2m", "cache_entries": 500, "snapshot_interval": "10m",
      "breaker_failures": 4, "breaker_cooldown": "3s", "history_items": 7,
      "unknown_consent": "personalize", "max_snapshot_bytes": "4MiB", "max_n": 30})"));
  REQUIRE(parsed);
  CHECK(parsed->enabled);
  CHECK(parsed->collector.url == "https://collector.example:8443");
  CHECK(parsed->collector.timeout == 200ms);
  CHECK(parsed->cache_ttl == 120s);
  CHECK(parsed->cache_entries == 500);
  CHECK(parsed->snapshot_interval == 600s);
  CHECK(parsed->breaker_failures == 4);
  CHECK(parsed->breaker_cooldown == 3s);
  CHECK(parsed->history_items == 7);
  CHECK(parsed->unknown_consent == UnknownConsent::kPersonalize);
  CHECK(parsed->snapshot_limits.max_payload_bytes == 4 * 1024 * 1024);
  CHECK(parsed->max_n == 30);

  auto error_of = [](const char* text) {
    auto result = parse_recs_options(nlohmann::json::parse(text));
    REQUIRE_FALSE(result);
    return result.error().message;
  };
  CHECK(parse_recs_options(nlohmann::json::object({{"api_key_file", "/etc/aisle/recs.key"}}))
            ->collector.api_key_file == "/etc/aisle/recs.key");
  CHECK(error_of(R"({"timeot": "1s"})") == "recommendations.timeot: unknown key");
  CHECK(error_of(R"({"timeout": "soon"})") ==
        "recommendations.timeout: expected a duration like \"150ms\" or \"10m\"");
  CHECK(error_of(R"({"collector_url": "ftp://x"})") ==
        "recommendations.collector_url: expected an http:// or https:// URL");
  CHECK(error_of(R"({"breaker_failures": 0})") ==
        "recommendations.breaker_failures: expected an integer in [1, 1000]");
  CHECK(error_of(R"({"unknown_consent": "yes"})") ==
        "recommendations.unknown_consent: expected \"popularity\" or \"personalize\"");
  CHECK(error_of(R"({"default_n": 50, "max_n": 20})") ==
        "recommendations.default_n: must not exceed max_n");
}
