// outbox_bench: append throughput and latency of SqliteOutbox (docs/outbox.md, "Performance").
//
//   outbox_bench [directory] [runs]
//
// For durability full and normal, 1 and 8 appending threads, and requests of 1000 and of 1
// record: appends pre-generated records (~350-byte events, UUIDv7 ids) into a fresh database in
// `directory` (default: the current one — use the disk the agent will use, not a tmpfs), `runs`
// times (default 3), and prints the median events/s, per-call latency p50/p99 and CPU time per
// call. Records are generated before the clock starts, so the figures are the outbox's alone.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "agent/outbox/sqlite_outbox.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/uuid.hpp"

namespace {

using aisle::agent::OutboxDurability;
using aisle::agent::OutboxRecord;
using Clock = std::chrono::steady_clock;

struct Scenario {
  OutboxDurability durability;
  int threads;
  int records_per_call;
  int calls_per_thread;
};

struct RunResult {
  double events_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double cpu_us_per_call = 0;
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1));
  return values[index];
}

double median(std::vector<double> values) {
  return quantile(std::move(values), 0.5);
}

// A typical canonical event, ~350 bytes of JSON.
std::string event_json(const std::string& id, long long n) {
  return "{\"event_id\":\"" + id +
         "\",\"type\":\"pos.line_item\",\"schema_version\":1,\"tenant\":\"acme\","
         "\"store_id\":\"store-0042\",\"source\":{\"kind\":\"pos\",\"device_id\":\"till-07\"},"
         "\"occurred_at\":\"2026-11-28T13:11:25.123Z\",\"received_at\":\"2026-11-28T13:11:25."
         "130Z\","
         "\"data\":{\"sku\":\"4006381333931\",\"quantity\":1,\"unit_price\":2.49,"
         "\"currency\":\"EUR\",\"basket_id\":\"b-" +
         std::to_string(n) + "\",\"line\":3}}";
}

RunResult run(const Scenario& scenario, const std::string& path) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  aisle::metrics::Registry registry;
  aisle::agent::SqliteOutboxOptions options;
  options.path = path;
  options.durability = scenario.durability;
  auto clock = aisle::SystemClock::instance();
  auto opened = aisle::agent::SqliteOutbox::open(options, clock, registry);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    std::exit(1);
  }
  auto& outbox = **opened;

  // Pre-generate every request.
  aisle::UuidV7Generator ids(clock);
  std::vector<std::vector<std::vector<OutboxRecord>>> work(scenario.threads);
  long long n = 0;
  const auto now = clock->now_unix_ms();
  for (auto& calls : work) {
    calls.resize(scenario.calls_per_thread);
    for (auto& call : calls) {
      call.reserve(scenario.records_per_call);
      for (int i = 0; i < scenario.records_per_call; ++i) {
        OutboxRecord r;
        r.event_id = ids.next().to_string();
        r.received_at = now;
        r.payload = event_json(r.event_id, n++);
        call.push_back(std::move(r));
      }
    }
  }

  std::vector<std::vector<double>> latencies(scenario.threads);
  std::vector<std::thread> threads;
  const double cpu_start = process_cpu_seconds();
  const auto start = Clock::now();
  for (int t = 0; t < scenario.threads; ++t) {
    threads.emplace_back([&, t] {
      latencies[t].reserve(scenario.calls_per_thread);
      for (auto& call : work[t]) {
        const auto call_start = Clock::now();
        auto result = outbox.append(std::move(call));
        const auto call_end = Clock::now();
        if (!result.ok()) {
          std::fprintf(stderr, "append: %s\n", result.error().message.c_str());
          std::exit(1);
        }
        latencies[t].push_back(
            std::chrono::duration<double, std::milli>(call_end - call_start).count());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = process_cpu_seconds() - cpu_start;

  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const double calls = static_cast<double>(scenario.threads) * scenario.calls_per_thread;
  RunResult result;
  result.events_per_second = calls * scenario.records_per_call / seconds;
  result.p50_ms = quantile(all, 0.5);
  result.p99_ms = quantile(all, 0.99);
  result.cpu_us_per_call = cpu / calls * 1e6;
  if (outbox.pending().rows != static_cast<std::uint64_t>(calls) * scenario.records_per_call) {
    std::fprintf(stderr, "lost records\n");
    std::exit(1);
  }
  const double commits = registry.value("aisle_agent_outbox_commits_total");
  std::fprintf(stderr, "  run: %.0f events/s, %.0f commits for %.0f calls\n",
               result.events_per_second, commits, calls);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  aisle::log::set_level(aisle::log::Level::kWarn);
  const std::string path = (std::filesystem::path(dir) / "outbox_bench.db").string();

  const Scenario scenarios[] = {
      {OutboxDurability::kFull, 1, 1000, 100},   {OutboxDurability::kFull, 8, 1000, 13},
      {OutboxDurability::kFull, 1, 1, 500},      {OutboxDurability::kFull, 8, 1, 250},
      {OutboxDurability::kNormal, 1, 1000, 100}, {OutboxDurability::kNormal, 8, 1000, 13},
      {OutboxDurability::kNormal, 1, 1, 2000},   {OutboxDurability::kNormal, 8, 1, 500},
  };
  std::printf("%-10s %7s %8s %14s %10s %10s %12s\n", "durability", "threads", "records", "events/s",
              "p50_ms", "p99_ms", "cpu_us/call");
  for (const Scenario& s : scenarios) {
    std::vector<double> rate, p50, p99, cpu;
    for (int r = 0; r < runs; ++r) {
      const RunResult result = run(s, path);
      rate.push_back(result.events_per_second);
      p50.push_back(result.p50_ms);
      p99.push_back(result.p99_ms);
      cpu.push_back(result.cpu_us_per_call);
    }
    std::printf("%-10s %7d %8d %14.0f %10.3f %10.3f %12.1f\n",
                aisle::agent::durability_name(s.durability), s.threads, s.records_per_call,
                median(rate), median(p50), median(p99), median(cpu));
    std::fflush(stdout);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  return 0;
}
