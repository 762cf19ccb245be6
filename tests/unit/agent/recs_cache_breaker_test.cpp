#include <catch2/catch.hpp>

#include "agent/recs/circuit_breaker.hpp"
#include "agent/recs/rec_cache.hpp"

using namespace aisle;
using namespace aisle::agent::recs;
using namespace std::chrono_literals;

namespace {

RecAnswer answer_with(const std::string& rec_id) {
  RecAnswer a;
  a.rec_id = rec_id;
  a.strategy = "item_knn";
  a.items = {{"sku-1", 0.5, "item_knn"}};
  return a;
}

RecQuery query_for(const std::string& identity, const std::string& context_item = "") {
  RecQuery q;
  q.identity = identity;
  q.context_item = context_item;
  q.placement = "kiosk_home";
  q.n = 5;
  return q;
}

}  // namespace

TEST_CASE("rec cache returns an answer within its TTL and not after", "[agent][recs][cache]") {
  auto clock = std::make_shared<ManualClock>();
  RecCache cache(10, 1000ms, clock);
  cache.put("k", answer_with("rec-1"));
  clock->advance(1000ms);
  auto hit = cache.get("k");
  REQUIRE(hit);
  CHECK(hit->rec_id == "rec-1");
  CHECK(hit->items == std::vector<RecItem>{{"sku-1", 0.5, "item_knn"}});
  clock->advance(1ms);
  CHECK_FALSE(cache.get("k"));
  CHECK(cache.size() == 0);  // an expired entry found is dropped
}

TEST_CASE("rec cache evicts the least recently used entry over its bound", "[agent][recs][cache]") {
  auto clock = std::make_shared<ManualClock>();
  RecCache cache(2, 60s, clock);
  cache.put("a", answer_with("rec-a"));
  cache.put("b", answer_with("rec-b"));
  REQUIRE(cache.get("a"));  // a is now more recent than b
  cache.put("c", answer_with("rec-c"));
  CHECK(cache.size() == 2);
  CHECK(cache.get("a"));
  CHECK_FALSE(cache.get("b"));
  CHECK(cache.get("c"));
  // Replacing an entry refreshes it and does not grow the cache.
  cache.put("a", answer_with("rec-a2"));
  CHECK(cache.size() == 2);
  CHECK(cache.get("a")->rec_id == "rec-a2");
}

TEST_CASE("rec cache keys separate shoppers and contexts, and erasure drops a shopper's",
          "[agent][recs][cache]") {
  auto clock = std::make_shared<ManualClock>();
  RecCache cache(10, 60s, clock);
  const auto k1 = RecCache::key_of(query_for("loyalty_id:L1"), true);
  const auto k1_context = RecCache::key_of(query_for("loyalty_id:L1", "sku-9"), true);
  const auto k2 = RecCache::key_of(query_for("loyalty_id:L10"), true);
  const auto anonymous = RecCache::key_of(query_for("loyalty_id:L1"), false);
  CHECK(k1 != k1_context);
  CHECK(k1 != k2);
  CHECK(k1 != anonymous);
  cache.put(k1, answer_with("1"));
  cache.put(k1_context, answer_with("2"));
  cache.put(k2, answer_with("3"));
  cache.put(anonymous, answer_with("4"));
  // "loyalty_id:L1" must not take "loyalty_id:L10" with it.
  CHECK(cache.erase_prefix("i:loyalty_id:L1\x1f") == 2);
  CHECK(cache.get(k2));
  CHECK(cache.get(anonymous));
  CHECK_FALSE(cache.get(k1));
}

TEST_CASE("rec cache of zero entries stores nothing", "[agent][recs][cache]") {
  RecCache cache(0, 60s, std::make_shared<ManualClock>());
  cache.put("k", answer_with("x"));
  CHECK_FALSE(cache.get("k"));
}

TEST_CASE("circuit breaker opens after N consecutive failures and probes after the cool-down",
          "[agent][recs][breaker]") {
  auto clock = std::make_shared<ManualClock>();
  CircuitBreaker breaker(3, 5000ms, clock);
  CHECK(breaker.allow());
  breaker.record_failure();
  breaker.record_failure();
  breaker.record_success();  // a success resets the count
  breaker.record_failure();
  breaker.record_failure();
  CHECK(breaker.state() == CircuitBreaker::State::kClosed);
  breaker.record_failure();
  CHECK(breaker.state() == CircuitBreaker::State::kOpen);
  CHECK(breaker.times_opened() == 1);
  CHECK_FALSE(breaker.allow());
  clock->advance(4999ms);
  CHECK_FALSE(breaker.allow());
  clock->advance(1ms);
  CHECK(breaker.allow());  // the probe
  CHECK(breaker.state() == CircuitBreaker::State::kHalfOpen);
  CHECK_FALSE(breaker.allow());  // only one probe at a time
  breaker.record_failure();      // the probe failed: open again for a full cool-down
  CHECK(breaker.state() == CircuitBreaker::State::kOpen);
  CHECK(breaker.times_opened() == 2);
  CHECK_FALSE(breaker.allow());
  clock->advance(5000ms);
  CHECK(breaker.allow());
  breaker.record_success();
  CHECK(breaker.state() == CircuitBreaker::State::kClosed);
  CHECK(breaker.allow());
  CHECK(breaker.allow());
}

TEST_CASE("circuit breaker allows a new probe when the previous one never reported",
          "[agent][recs][breaker]") {
  auto clock = std::make_shared<ManualClock>();
  CircuitBreaker breaker(1, 1000ms, clock);
  breaker.record_failure();
  clock->advance(1000ms);
  CHECK(breaker.allow());
  CHECK_FALSE(breaker.allow());
  clock->advance(1000ms);
  CHECK(breaker.allow());
}
