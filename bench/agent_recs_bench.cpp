// agent_recs_bench: the agent's recommendation server while the collector is unreachable
// (docs/agent-recommendations.md; targets from issue 6: cache hit p99 <= 1 ms, offline answer
// p99 <= 3 ms).
//
//   agent_recs_bench [requests_per_run] [runs]
//
// An in-process agent (real HTTP server on loopback, real RecsService) with a snapshot of 20,000
// items x 20 neighbours and 2,000 popular items, and 5,000 shoppers with 10 local items each
// (fed through RecsService::observe, as the ingest observer does). A collector-like HTTP server
// on loopback answers the warm-up (1,000 shopper/context pairs cached live), then is stopped;
// the breaker opens and stays open (1 h cool-down). Then one keep-alive kiosk client asks
//   1. cached pairs (mode "cache"), 2. uncached contexts of shoppers with history ("offline").
// Every answer's mode is checked. Latency per request, p50/p99; median of `runs` runs (3).
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "agent/agent.hpp"
#include "common/crypto.hpp"
#include "bench/offline_uplink.hpp"
#include "common/log.hpp"
#include "common/wire/rec_snapshot.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

using aisle::bench::OfflineUplink;

constexpr int kItems = 20000;
constexpr int kNeighbours = 20;
constexpr int kShoppers = 5000;
constexpr int kHistory = 10;
constexpr int kCachedPairs = 1000;

std::string sku(int i) {
  return "SKU-" + std::to_string(i);
}

aisle::wire::RecSnapshot big_snapshot() {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> any(0, kItems - 1);
  aisle::wire::RecSnapshot s;
  s.store_id = "store-1";
  s.generated_at = aisle::SystemClock::instance()->now_unix_ms();
  s.model_generation = 1;
  for (int i = 0; i < 2000; ++i) s.popularity.push_back({sku(i), 1.0 / (1 + i)});
  s.items.reserve(kItems);
  for (int i = 0; i < kItems; ++i) {
    aisle::wire::SnapshotItem item{sku(i), "cat-" + std::to_string(i % 50), i % 17 != 0, {}};
    for (int k = 0; k < kNeighbours; ++k) {
      const int other = any(random);
      if (other == i) continue;
      if (std::any_of(item.neighbours.begin(), item.neighbours.end(),
                      [&](const auto& n) { return n.sku == sku(other); })) {
        continue;
      }
      item.neighbours.push_back({sku(other), 1.0 / (1 + k)});
    }
    s.items.push_back(std::move(item));
  }
  return s;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

std::string shopper_query(int shopper, int context) {
  return "/v1/recommendations?identity=loyalty_id:L" + std::to_string(shopper) +
         "&placement=kiosk_home&n=10&context_item=" + sku(context);
}

struct Figures {
  double p50_ms = 0;
  double p99_ms = 0;
};

Figures measure(httplib::Client& kiosk, int requests, const char* expected_mode, int seed,
                bool cached) {
  std::mt19937 random(static_cast<unsigned>(seed));
  std::uniform_int_distribution<int> pair(0, kCachedPairs - 1);
  std::uniform_int_distribution<int> shopper(0, kShoppers - 1);
  std::uniform_int_distribution<int> item(0, kItems - 1);
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(requests));
  for (int i = 0; i < requests; ++i) {
    const int p = pair(random);
    // Cached pairs: shopper p with context p (warmed up); uncached: any shopper, context from
    // the upper half of the assortment (never warmed).
    const std::string path = cached ? shopper_query(p, p)
                                    : shopper_query(shopper(random), kItems / 2 + item(random) / 2);
    const auto start = Clock::now();
    auto response = kiosk.Get(path.c_str());
    const auto end = Clock::now();
    if (!response || response->status != 200) {
      std::fprintf(stderr, "request failed: %s\n", path.c_str());
      std::exit(1);
    }
    if (json::parse(response->body)["mode"] != expected_mode) {
      std::fprintf(stderr, "expected mode %s: %s\n", expected_mode, response->body.c_str());
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  return {percentile(ms, 0.5), percentile(ms, 0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  const int requests = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 3;
  aisle::log::set_level(aisle::log::Level::kWarn);
  const auto dir =
      std::filesystem::temp_directory_path() / ("agent_recs_bench_" + aisle::crypto::random_hex(4));
  std::filesystem::create_directories(dir);

  // The collector for the warm-up.
  httplib::Server collector;
  collector.Get("/v1/recommendations", [](const httplib::Request& r, httplib::Response& res) {
    const json answer = {{"rec_id", "rec-live"},
                         {"strategy", "vsknn"},
                         {"items",
                          {{{"sku", "LIVE-" + r.get_param_value("context_item")},
                            {"score", 1.0},
                            {"source", "vsknn"}}}}};
    res.set_content(answer.dump(), "application/json");
  });
  const int collector_port = collector.bind_to_any_port("127.0.0.1");
  std::thread collector_thread([&] { collector.listen_after_bind(); });

  aisle::agent::AgentConfig c;
  c.tenant = "acme";
  c.store_id = "store-1";
  c.agent_id = "agent-1";
  c.http.port = 0;
  c.http.threads = 4;
  c.schemas_builtin_dir = AISLE_SCHEMAS_SOURCE_DIR;
  c.outbox.path = (dir / "outbox.db").string();
  c.shutdown_grace = std::chrono::milliseconds(0);
  c.recommendations = {{"collector_url", "http://127.0.0.1:" + std::to_string(collector_port)},
                       {"breaker_failures", 1},
                       {"breaker_cooldown", "1h"},
                       {"snapshot_interval", "1h"},
                       {"unknown_consent", "personalize"}};
  auto created =
      aisle::agent::Agent::create(std::move(c), nullptr, std::make_unique<OfflineUplink>());
  if (!created) {
    std::fprintf(stderr, "agent: %s\n", created.error().message.c_str());
    return 1;
  }
  auto& agent = **created;
  if (!agent.start()) return 1;
  auto* recs = agent.recs();
  const auto payload = aisle::wire::encode_rec_snapshot(big_snapshot());
  if (!payload || !recs->apply_snapshot_payload(*payload, "bench")) return 1;
  std::printf("snapshot: %d items x %d neighbours, %zu bytes compressed\n", kItems, kNeighbours,
              payload->size());
  std::mt19937 random(11);
  std::uniform_int_distribution<int> any(0, kItems / 2 - 1);
  const auto now = aisle::SystemClock::instance()->now_unix_ms();
  for (int s = 0; s < kShoppers; ++s) {
    aisle::Event e;
    e.type = "product_view";
    e.occurred_at = now;
    e.source.store_id = "store-1";
    e.identities = {{"loyalty_id", "L" + std::to_string(s)}};
    for (int h = 0; h < kHistory; ++h) {
      e.properties = {{"sku", sku(any(random))}};
      recs->observe(e, "");
    }
  }

  httplib::Client kiosk("127.0.0.1", agent.http_port());
  kiosk.set_keep_alive(true);
  for (int p = 0; p < kCachedPairs; ++p) {
    auto response = kiosk.Get(shopper_query(p, p).c_str());
    if (!response || json::parse(response->body)["mode"] != "live") {
      std::fprintf(stderr, "warm-up answer not live\n");
      return 1;
    }
  }
  collector.stop();
  collector_thread.join();
  // The first failure opens the breaker (breaker_failures 1); it stays open for the run.
  (void)kiosk.Get(shopper_query(0, kItems - 1).c_str());

  std::vector<double> cache_p50, cache_p99, offline_p50, offline_p99;
  for (int run = 0; run < runs; ++run) {
    const Figures cache = measure(kiosk, requests, "cache", 100 + run, true);
    const Figures offline = measure(kiosk, requests, "offline", 200 + run, false);
    std::printf("run %d: cache hit p50 %.3f ms p99 %.3f ms | offline p50 %.3f ms p99 %.3f ms\n",
                run + 1, cache.p50_ms, cache.p99_ms, offline.p50_ms, offline.p99_ms);
    cache_p50.push_back(cache.p50_ms);
    cache_p99.push_back(cache.p99_ms);
    offline_p50.push_back(offline.p50_ms);
    offline_p99.push_back(offline.p99_ms);
  }
  std::printf(
      "median of %d runs (%d requests each, 1 keep-alive client): cache hit p50 %.3f ms p99 "
      "%.3f ms (target <= 1 ms); offline p50 %.3f ms p99 %.3f ms (target <= 3 ms)\n",
      runs, requests, percentile(cache_p50, 0.5), percentile(cache_p99, 0.5),
      percentile(offline_p50, 0.5), percentile(offline_p99, 0.5));
  agent.stop();
  std::filesystem::remove_all(dir);
  return 0;
}
