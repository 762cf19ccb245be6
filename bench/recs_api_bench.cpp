// recs_api_bench: GET /v1/recommendations over HTTP, the issue 6 target "p99 <= 5 ms at 2,000
// requests/s with 100,000 items and 1 M profiles loaded" (docs/recommendations.md, "Performance").
//
//   recs_api_bench [items=100000] [profiles=1000000] [rate=2000] [seconds=10] [connections=8]
//                  [runs=3] [dir]
//
// Setup: a catalog of `items` (200 categories, 10 stores, ~5% out of stock per store), the real
// models (item-kNN, V-SKNN, popularity from collector/recs/models) and a RecommendationService
// fed through on_events() with 3 product_view/cart_add events for each of `profiles` consenting
// shoppers (Zipf-like item popularity), so every profile has session state. The model update cost
// per event is measured on that feed.
//
// Load: an open-loop generator — `connections` keep-alive httplib clients, each sending at its
// share of `rate` on a fixed schedule; latency is measured from the scheduled send time (so a
// stall delays the following requests and is counted, no coordinated omission). Requests mix
// placements: kiosk_home (no context item), product_page (a context item), cart. Reports p50,
// p99, p99.9 and max per run and the median over the runs. Server and client share the machine.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "collector/api/api_keys.hpp"
#include "collector/api/recs_api.hpp"
#include "collector/recs/models/item_knn.hpp"
#include "collector/recs/models/popularity.hpp"
#include "collector/recs/models/session_knn.hpp"
#include "collector/recs/serving/recommendation_service.hpp"
#include "common/crypto.hpp"
#include "common/http/http_server.hpp"
#include "common/log.hpp"

using namespace aisle;
using namespace aisle::collector;

namespace {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
  return values[index];
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string sku(long i) { return "sku-" + std::to_string(i); }
std::string profile(long i) { return "profile-" + std::to_string(i); }

long resident_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

struct RunResult {
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, achieved_rps = 0;
  long errors = 0;
  long non_empty = 0;
  long requests = 0;
};

RunResult run_load(int port, const std::string& key, long items, long profiles, double rate,
                   double seconds, int connections, unsigned seed) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(connections));
  std::atomic<long> errors{0};
  std::atomic<long> non_empty{0};
  const auto start = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  const double per_connection = rate / connections;
  const long per_connection_requests = static_cast<long>(per_connection * seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(5, 0);
      httplib::Headers headers = {{"Authorization", "Bearer " + key}};
      std::mt19937_64 rng(seed * 1000 + static_cast<unsigned>(c));
      std::uniform_int_distribution<long> pick_profile(0, profiles - 1);
      std::uniform_int_distribution<long> pick_item(0, items - 1);
      auto& mine = latencies[static_cast<std::size_t>(c)];
      mine.reserve(static_cast<std::size_t>(per_connection_requests));
      // Connections are offset inside the period so the aggregate arrivals are evenly spaced.
      const double period_us = 1e6 / per_connection;
      const double offset_us = period_us * c / connections;
      for (long i = 0; i < per_connection_requests; ++i) {
        const auto scheduled =
            start + std::chrono::microseconds(static_cast<long>(offset_us + period_us * i));
        std::this_thread::sleep_until(scheduled);
        const long which = static_cast<long>(rng() % 3);
        std::string path = "/v1/recommendations?profile=" + profile(pick_profile(rng)) +
                           "&store=s" + std::to_string(rng() % 10) + "&n=10";
        if (which == 0) {
          path += "&placement=kiosk_home";
        } else if (which == 1) {
          path += "&placement=product_page&context_item=" + sku(pick_item(rng) % 5000);
        } else {
          path += "&placement=cart";
        }
        auto res = client.Get(path.c_str(), headers);
        const auto done = std::chrono::steady_clock::now();
        if (!res || res->status != 200) {
          ++errors;
          continue;
        }
        if (res->body.find("\"sku\"") != std::string::npos) ++non_empty;
        mine.push_back(std::chrono::duration<double, std::milli>(done - scheduled).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  RunResult r;
  r.requests = static_cast<long>(all.size());
  r.errors = errors.load();
  r.non_empty = non_empty.load();
  r.achieved_rps = static_cast<double>(all.size()) / elapsed;
  r.p50_ms = percentile(all, 0.50);
  r.p99_ms = percentile(all, 0.99);
  r.p999_ms = percentile(all, 0.999);
  r.max_ms = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const long items = argc > 1 ? std::atol(argv[1]) : 100000;
  const long profiles = argc > 2 ? std::atol(argv[2]) : 1000000;
  const double rate = argc > 3 ? std::atof(argv[3]) : 2000;
  const double seconds = argc > 4 ? std::atof(argv[4]) : 10;
  const int connections = argc > 5 ? std::atoi(argv[5]) : 8;
  const int runs = argc > 6 ? std::atoi(argv[6]) : 3;
  const std::string dir = std::filesystem::absolute(argc > 7 ? argv[7] : "recs-api-bench").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  log::set_level(log::Level::kWarn);

  metrics::Registry metrics;
  auto clock = SystemClock::instance();
  recs::CatalogOptions catalog_options;
  catalog_options.path = dir + "/catalog.db";
  auto catalog = recs::Catalog::open(catalog_options, clock, metrics);
  if (!catalog) {
    std::fprintf(stderr, "catalog: %s\n", catalog.error().message.c_str());
    return 1;
  }
  std::mt19937_64 rng(1);
  {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<recs::CatalogItem> batch;
    for (long i = 0; i < items; ++i) {
      recs::CatalogItem item;
      item.sku = sku(i);
      item.title = "Item " + std::to_string(i);
      item.category = "cat-" + std::to_string(i % 200) + "/sub-" + std::to_string(i % 7);
      item.price = static_cast<double>(1 + (i % 500));
      item.currency = "EUR";
      for (int s = 0; s < 10; ++s) {
        if (rng() % 100 < 5) item.stores["s" + std::to_string(s)] = false;
      }
      batch.push_back(std::move(item));
    }
    if (auto s = (*catalog)->upsert(std::move(batch)); !s) {
      std::fprintf(stderr, "upsert: %s\n", s.error().message.c_str());
      return 1;
    }
    std::printf("catalog: %ld items in %.1f s\n", items,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  recs::RecsOptions options;
  options.strategies = {{"blended", {{"vsknn", 1.0}, {"item_knn", 1.0}}},
                        {"popular", {{"popularity", 1.0}}}};
  options.default_strategy = "blended";
  // The LRU bound is per shard (64 shards), so hashing imbalance evicts a few profiles before
  // the total reaches the bound: 25% headroom keeps (nearly) all of them.
  options.session.max_profiles = static_cast<std::size_t>(profiles + profiles / 4);
  options.default_placement.diversity.max_per_category = 3;
  options.experiments_path.clear();
  recs::PlacementOptions cart;
  cart.exclude_cart = true;
  options.placements["cart"] = cart;
  recs::ExperimentConfig experiment;
  experiment.id = "bench-bandit";
  experiment.kind = recs::ExperimentKind::kBandit;
  experiment.arms = {{"blended", 1}, {"popular", 1}};
  options.experiments["kiosk_home"] = experiment;

  auto knn = std::make_shared<recs::ItemKnn>(recs::ItemKnnOptions{});
  auto vsknn = std::make_shared<recs::SessionKnn>("vsknn", recs::SessionKnnOptions{});
  auto popularity = std::make_shared<recs::Popularity>(recs::PopularityOptions{});
  recs::RecommendationService service(
      options, {knn, vsknn, popularity}, catalog->get(),
      [](const std::string&) -> std::optional<ConsentFlags> {
        ConsentFlags flags;
        flags.personalization = ConsentState::kGranted;
        return flags;
      },
      clock, metrics, 42);

  {
    // 3 events per profile; items Zipf-like over the first 5,000 skus so co-occurrences repeat.
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<double> weights;
    for (int i = 0; i < 5000; ++i) weights.push_back(1.0 / (i + 1));
    std::discrete_distribution<int> zipf(weights.begin(), weights.end());
    UnixMillis at = clock->now_unix_ms() - 3'600'000;
    long events = 0;
    for (long p = 0; p < profiles; ++p) {
      const std::string id = profile(p);
      Event e;
      e.event_id = "e";
      e.source.store_id = "s" + std::to_string(p % 10);
      const int base = zipf(rng);
      for (int k = 0; k < 3; ++k) {
        e.type = k == 2 ? "cart_add" : "product_view";
        e.occurred_at = at;
        const int item = k == 0 ? base : (base + 1 + zipf(rng)) % 5000;
        e.properties = {{"sku", sku(item)}};
        if (k == 2) e.properties["quantity"] = 1;
        service.on_events({profiles::ProfiledEvent{&e, id}});
        ++events;
      }
      if (p % 1000 == 0) ++at;
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("fed %ld events for %ld profiles in %.1f s: %.2f us per event (events -> "
                "interactions, session state and 3 models)\n",
                events, profiles, elapsed, elapsed * 1e6 / static_cast<double>(events));
    std::printf("profiles held: %zu, RSS %.0f MiB\n", service.profiles_held(),
                static_cast<double>(resident_kib()) / 1024);
  }

  const std::string key = "bench-write-key-0123456789";
  ApiKeys keys({ApiKey{"bench", crypto::sha256_hex(key), "", ""}}, {});
  http::ServerOptions server_options;
  server_options.threads = 16;
  http::HttpServer server(server_options, metrics, "collector");
  register_recs_api(server, RecsApiContext{service, keys, metrics, nullptr});
  if (auto s = server.start(); !s) {
    std::fprintf(stderr, "server: %s\n", s.error().message.c_str());
    return 1;
  }

  std::vector<double> p50s, p99s, p999s, maxes;
  for (int run = 0; run < runs; ++run) {
    auto r = run_load(server.port(), key, items, profiles, rate, seconds, connections,
                      static_cast<unsigned>(run + 1));
    std::printf("run %d: %ld requests at %.0f/s over %d keep-alive connections, %ld errors, "
                "%ld non-empty: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
                run + 1, r.requests, r.achieved_rps, connections, r.errors, r.non_empty, r.p50_ms,
                r.p99_ms, r.p999_ms, r.max_ms);
    p50s.push_back(r.p50_ms);
    p99s.push_back(r.p99_ms);
    p999s.push_back(r.p999_ms);
    maxes.push_back(r.max_ms);
  }
  std::printf("median of %d runs: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms "
              "(target p99 <= 5 ms); RSS %.0f MiB\n",
              runs, median(p50s), median(p99s), median(p999s), median(maxes),
              static_cast<double>(resident_kib()) / 1024);
  std::printf("service time (in-process, all runs): p50 %.3f ms, p99 %.3f ms\n",
              metrics.histogram("aisle_collector_recs_request_seconds", "", {}).quantile(0.5) * 1e3,
              metrics.histogram("aisle_collector_recs_request_seconds", "", {}).quantile(0.99) *
                  1e3);
  server.stop();
  return 0;
}
