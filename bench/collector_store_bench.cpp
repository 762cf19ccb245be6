// collector_store_bench: throughput of SqliteEventStore::commit for agent batches of 1,000
// events (~600-byte canonical JSON each), the unit the collector's pipeline commits.
//
// Scenarios: all-new UUIDv7 ids (agents), 10% duplicates (retransmitted events), and random
// UUIDv4 ids (web/mobile producers). Each run writes a fresh database; the figures are the median
// and best over runs of events / total commit time, per-commit p50/p99 wall time, and the
// committing thread's CPU time per commit (stable on a shared machine, where wall time is not).
// Request building is outside the timed region: only the store is measured.
//
// Usage: collector_store_bench [--runs N] [--batches N] [--dir DIR] [--synchronous full|normal]
// DIR must be on the disk the collector will use (fsync cost is the point); default $TMPDIR.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "collector/store/sqlite_event_store.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/uuid.hpp"

namespace {

using aisle::Uuid;
using aisle::collector::BatchReceipt;
using aisle::collector::CommitRequest;
using aisle::collector::SqliteEventStore;
using aisle::collector::SqliteEventStoreOptions;
using aisle::collector::StoredEvent;

constexpr std::size_t kBatchEvents = 1000;

struct Settings {
  int runs = 5;
  int batches = 100;
  std::string dir;
  bool synchronous_full = true;
};

enum class Scenario { kNewV7, kDuplicates10, kRandomV4 };

const char* scenario_name(Scenario s) {
  switch (s) {
    case Scenario::kNewV7: return "uuidv7, all new";
    case Scenario::kDuplicates10: return "uuidv7, 10% duplicates";
    case Scenario::kRandomV4: return "uuidv4 (random), all new";
  }
  return "?";
}

// A canonical event of about 600 bytes, shaped like a kiosk product view.
std::string make_payload(const std::string& id, const std::string& store, std::mt19937_64& rng) {
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      R"({"event_id":"%s","type":"product_view","schema":"aisle/product_view/1",)"
      R"("occurred_at":"2024-05-02T10:15:30.123Z","received_at":"2024-05-02T10:15:30.456Z",)"
      R"("store_id":"%s","agent_id":"agent-01","channel":"kiosk","device_id":"kiosk-07",)"
      R"("session_id":"s-%016llx","identity":{"type":"loyalty_card","value":"LC-%010llu"},)"
      R"("consent":{"analytics":true,"personalization":true,"marketing":false},)"
      R"("properties":{"sku":"SKU-%08llu","category":"grocery/dairy/yoghurt","price":{"amount":)"
      R"(%llu,"currency":"EUR"},"position":%llu,"list":"recommendations","dwell_ms":%llu,)"
      R"("source":"shelf_screen","ab_bucket":"B","screen":{"w":1080,"h":1920}}})",
      id.c_str(), store.c_str(), static_cast<unsigned long long>(rng()),
      static_cast<unsigned long long>(rng() % 10'000'000'000ULL),
      static_cast<unsigned long long>(rng() % 100'000'000ULL),
      static_cast<unsigned long long>(rng() % 5000), static_cast<unsigned long long>(rng() % 24),
      static_cast<unsigned long long>(rng() % 60'000));
  return buf;
}

Uuid random_v4(std::mt19937_64& rng) {
  Uuid id;
  for (auto& b : id.bytes) b = static_cast<std::uint8_t>(rng());
  id.bytes[6] = static_cast<std::uint8_t>((id.bytes[6] & 0x0F) | 0x40);
  id.bytes[8] = static_cast<std::uint8_t>((id.bytes[8] & 0x3F) | 0x80);
  return id;
}

CommitRequest make_batch(Scenario scenario, std::uint64_t seq, aisle::UuidV7Generator& v7,
                         std::vector<std::string>& earlier_ids, std::mt19937_64& rng) {
  CommitRequest request;
  BatchReceipt receipt;
  receipt.stream_id = "bench-stream";
  receipt.batch_seq = seq;
  receipt.tenant = "acme";
  receipt.store_id = "store-001";
  receipt.agent_id = "agent-01";
  receipt.first_seq = (seq - 1) * kBatchEvents + 1;
  receipt.last_seq = seq * kBatchEvents;
  request.receipt = receipt;
  request.events.reserve(kBatchEvents);
  for (std::size_t i = 0; i < kBatchEvents; ++i) {
    StoredEvent e;
    const bool duplicate =
        scenario == Scenario::kDuplicates10 && !earlier_ids.empty() && i % 10 == 0;
    if (duplicate) {
      e.event_id = earlier_ids[rng() % earlier_ids.size()];
    } else {
      e.event_id = (scenario == Scenario::kRandomV4 ? random_v4(rng) : v7.next()).to_string();
      earlier_ids.push_back(e.event_id);
    }
    e.type = "product_view";
    e.schema = "aisle/product_view/1";
    e.store_id = "store-" + std::to_string(1 + rng() % 20);
    e.agent_id = "agent-01";
    e.channel = "kiosk";
    e.occurred_at = 1'714'644'930'123;
    e.received_at = 1'714'644'930'456;
    e.payload = make_payload(e.event_id, e.store_id, rng);
    request.events.push_back(std::move(e));
  }
  return request;
}

// CPU time of the calling thread: with other processes on the cores, wall time alone cannot tell
// the store's cost from waiting for a core; wall minus CPU is mostly the fsync.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct RunResult {
  double events_per_second = 0;
  std::vector<double> commit_ms;
  std::vector<double> commit_cpu_ms;
  std::uint64_t duplicates = 0;
  double bytes_per_event = 0;
};

RunResult run_once(const Settings& settings, Scenario scenario, int run) {
  const std::filesystem::path dir =
      std::filesystem::path(settings.dir) / ("collector-store-bench-" + std::to_string(run));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  SqliteEventStoreOptions options;
  options.path = (dir / "events.db").string();
  options.synchronous_full = settings.synchronous_full;
  aisle::metrics::Registry registry;
  auto clock = aisle::SystemClock::instance();
  auto store = SqliteEventStore::open(options, clock, registry);
  if (!store) {
    std::fprintf(stderr, "open failed: %s\n", store.error().message.c_str());
    std::exit(1);
  }
  std::mt19937_64 rng(static_cast<std::uint64_t>(run) * 7919 + 1);
  aisle::UuidV7Generator v7(clock);
  std::vector<std::string> earlier_ids;
  RunResult result;
  double total_seconds = 0;
  for (int b = 1; b <= settings.batches; ++b) {
    CommitRequest request =
        make_batch(scenario, static_cast<std::uint64_t>(b), v7, earlier_ids, rng);
    const double cpu_started = thread_cpu_seconds();
    const auto started = std::chrono::steady_clock::now();
    auto committed = (*store)->commit(std::move(request));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    result.commit_cpu_ms.push_back((thread_cpu_seconds() - cpu_started) * 1e3);
    if (!committed) {
      std::fprintf(stderr, "commit failed: %s\n", committed.error().message.c_str());
      std::exit(1);
    }
    result.duplicates += committed->duplicates;
    result.commit_ms.push_back(seconds * 1e3);
    total_seconds += seconds;
  }
  const double events = static_cast<double>(settings.batches) * kBatchEvents;
  result.events_per_second = events / total_seconds;
  store->reset();  // checkpoints and removes the WAL
  result.bytes_per_event = static_cast<double>(std::filesystem::file_size(options.path)) / events;
  std::filesystem::remove_all(dir);
  return result;
}

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1));
  return values[index];
}

Settings parse_args(int argc, char** argv) {
  Settings s;
  const char* tmp = std::getenv("TMPDIR");
  s.dir = tmp && *tmp ? tmp : "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::string value = argv[i + 1];
    if (key == "--runs") {
      s.runs = std::max(1, std::atoi(value.c_str()));
    } else if (key == "--batches") {
      s.batches = std::max(1, std::atoi(value.c_str()));
    } else if (key == "--dir") {
      s.dir = value;
    } else if (key == "--synchronous") {
      s.synchronous_full = value != "normal";
    } else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      std::exit(64);
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse_args(argc, argv);
  aisle::log::set_level(aisle::log::Level::kWarn);
  std::printf("collector_store_bench: %d runs x %d batches x %zu events, synchronous=%s, dir=%s\n",
              settings.runs, settings.batches, kBatchEvents,
              settings.synchronous_full ? "full" : "normal", settings.dir.c_str());
  std::printf("%-26s %11s %11s %11s %11s %11s %9s %8s\n", "scenario", "median ev/s", "best ev/s",
              "commit p50", "commit p99", "cpu p50", "dups/run", "B/event");
  for (Scenario scenario : {Scenario::kNewV7, Scenario::kDuplicates10, Scenario::kRandomV4}) {
    std::vector<double> rates;
    std::vector<double> commit_ms;
    std::vector<double> cpu_ms;
    std::uint64_t duplicates = 0;
    double bytes_per_event = 0;
    for (int run = 0; run < settings.runs; ++run) {
      RunResult r = run_once(settings, scenario, run);
      rates.push_back(r.events_per_second);
      commit_ms.insert(commit_ms.end(), r.commit_ms.begin(), r.commit_ms.end());
      cpu_ms.insert(cpu_ms.end(), r.commit_cpu_ms.begin(), r.commit_cpu_ms.end());
      duplicates = r.duplicates;
      bytes_per_event = r.bytes_per_event;
    }
    std::printf("%-26s %11.0f %11.0f %8.2f ms %8.2f ms %8.2f ms %9llu %8.0f\n",
                scenario_name(scenario), percentile(rates, 0.5), percentile(rates, 1.0),
                percentile(commit_ms, 0.5), percentile(commit_ms, 0.99), percentile(cpu_ms, 0.5),
                static_cast<unsigned long long>(duplicates), bytes_per_event);
  }
  return 0;
}
