// profile_api_bench: profile lookup by identifier over HTTP, the issue 4 target "p99 <= 1 ms"
// (docs/BENCHMARKS.md).
//
//   profile_api_bench [profiles=100000] [requests_per_client=20000] [clients=4] [dir]
//
// A ProfileService with `profiles` people (identify events: user_id + anonymous_id each, applied
// in batches of 1,000), served by the collector's profile API on a real HttpServer (16 threads,
// TCP_NODELAY), queried by `clients` keep-alive clients, each GET /v1/profiles?identity=user_id:<
// random known id> with a read key. Latency is measured per request at the client, on the same
// 2-core machine as the server.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "collector/api/api_keys.hpp"
#include "collector/api/profile_api.hpp"
#include "collector/profiles/profile_service.hpp"
#include "collector/store/sqlite_event_store.hpp"
#include "common/crypto.hpp"
#include "common/http/http_server.hpp"
#include "common/log.hpp"
#include "common/uuid.hpp"

using namespace aisle;
using namespace aisle::collector;

namespace {

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
  return values[index];
}

}  // namespace

int main(int argc, char** argv) {
  const long profiles = argc > 1 ? std::atol(argv[1]) : 100000;
  const long per_client = argc > 2 ? std::atol(argv[2]) : 20000;
  const int clients = argc > 3 ? std::atoi(argv[3]) : 4;
  const std::string dir =
      std::filesystem::absolute(argc > 4 ? argv[4] : "profile-api-bench").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  log::set_level(log::Level::kWarn);

  metrics::Registry metrics;
  auto clock = SystemClock::instance();
  profiles::ProfileServiceOptions options;
  options.path = dir + "/profiles.db";
  auto service = profiles::ProfileService::open(options, clock, metrics);
  if (!service) {
    std::fprintf(stderr, "open: %s\n", service.error().message.c_str());
    return 1;
  }
  SqliteEventStoreOptions store_options;
  store_options.path = dir + "/collector.db";
  auto store = SqliteEventStore::open(store_options, clock, metrics);
  if (!store) {
    std::fprintf(stderr, "store: %s\n", store.error().message.c_str());
    return 1;
  }

  const auto build_start = std::chrono::steady_clock::now();
  UuidV7Generator ids(clock);
  for (long first = 0; first < profiles; first += 1000) {
    std::vector<Event> batch;
    for (long i = first; i < std::min(profiles, first + 1000); ++i) {
      Event e;
      e.event_id = ids.next().to_string();
      e.type = "identify";
      e.schema = "aisle/identify/jsonschema/1-0-0";
      e.occurred_at = clock->now_unix_ms();
      e.received_at = e.occurred_at;
      e.source.store_id = "store-1";
      e.source.channel = Channel::kKiosk;
      e.identities = {{"user_id", "cust-" + std::to_string(i)},
                      {"anonymous_id", "anon-" + std::to_string(i)}};
      e.properties = {{"method", "login"}, {"traits", {{"loyalty_tier", "gold"}}}};
      batch.push_back(std::move(e));
    }
    std::vector<const Event*> pointers;
    for (const auto& e : batch) pointers.push_back(&e);
    if (auto applied = (*service)->apply(pointers); !applied) {
      std::fprintf(stderr, "apply: %s\n", applied.error().message.c_str());
      return 1;
    }
  }
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();

  const std::string read_key = "bench-read-key";
  ApiKeys keys({}, {ApiKey{"bench", crypto::sha256_hex(read_key), "read", ""}});
  http::ServerOptions server_options;
  server_options.threads = 16;
  http::HttpServer server(server_options, metrics, "bench");
  register_profile_api(server, ProfileApiContext{**service, **store, keys, metrics});
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "server: %s\n", started.error().message.c_str());
    return 1;
  }

  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::vector<long> failures(static_cast<std::size_t>(clients), 0);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", server.port());
      client.set_tcp_nodelay(true);
      client.set_keep_alive(true);
      httplib::Headers headers{{"Authorization", "Bearer " + read_key}};
      std::mt19937 random(static_cast<unsigned>(c) * 7919u + 1u);
      std::uniform_int_distribution<long> pick(0, profiles - 1);
      auto& mine = latencies[static_cast<std::size_t>(c)];
      mine.reserve(static_cast<std::size_t>(per_client));
      for (long i = 0; i < per_client; ++i) {
        const std::string path =
            "/v1/profiles?identity=user_id:cust-" + std::to_string(pick(random));
        const auto t0 = std::chrono::steady_clock::now();
        auto response = client.Get(path, headers);
        const auto t1 = std::chrono::steady_clock::now();
        if (!response || response->status != 200) {
          ++failures[static_cast<std::size_t>(c)];
          continue;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  server.stop();

  std::vector<double> all;
  long failed = 0;
  for (std::size_t c = 0; c < latencies.size(); ++c) {
    all.insert(all.end(), latencies[c].begin(), latencies[c].end());
    failed += failures[c];
  }
  const std::size_t ok = all.size();
  const double p50 = percentile(all, 0.50);
  const double p99 = percentile(all, 0.99);
  const double max = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  std::printf("profile_api_bench: %ld profiles (built in %.1f s), %d keep-alive clients\n",
              profiles, build_s, clients);
  std::printf("  GET /v1/profiles?identity=user_id:<id>: %zu ok, %ld failed, %.0f requests/s\n",
              ok, failed, static_cast<double>(ok) / seconds);
  std::printf("  latency at the client: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", p50, p99, max);
  std::filesystem::remove_all(dir);
  return failed == 0 ? 0 : 1;
}
