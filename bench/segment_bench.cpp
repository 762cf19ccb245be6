// segment_bench: the segment engine's evaluation rate and memory, the issue 5 target
// ">= 200,000 events/s on one core with 100 active segments and 1 M profiles" (docs/segments.md,
// "Performance").
//
//   segment_bench [profiles=1000000] [events_per_run=2000000] [runs=3] [dir]
//
// 100 segments are generated from 20 rule shapes (counts with predicates, sums, averages, maxima,
// distinct counts, recency, session cart and zone, traits, consent, membership of another
// segment) over 10 event types and windows from 5 minutes to 30 days. A warm-up sends one event
// to every profile; then each run hands `events_per_run` events (random profile, random type,
// realistic properties) to on_events in batches of 1,000 from one thread, the simulated clock
// advancing 1 s per batch (so short windows expire and timers fire: tick() is called every batch
// and is included). A sink receives every change (it counts them; the collector's sinks queue
// them), so building each SegmentChange with its id is part of the measured cost. The membership
// flush to SQLite runs on its own thread in the collector and is timed separately. Reported: events/s per run and the median; window-state bytes per profile
// (the engine's own accounting) and the process RSS growth per profile.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <time.h>

#include "collector/segments/segment_engine.hpp"
#include "common/log.hpp"

using namespace aisle;
using namespace aisle::collector;
using nlohmann::json;

namespace {

// CPU time of the calling thread: "on one core" whatever else the machine runs.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

const std::vector<std::string> kTypes = {"page_view", "product_view", "cart_add", "cart_remove",
                                         "purchase",  "search",       "session_start", "identify",
                                         "beacon_proximity", "click"};
const std::vector<std::string> kCategories = {"coffee/espresso-machines", "coffee/beans",
                                              "coffee/grinders", "coffee/cups", "tea/loose",
                                              "tea/pots", "kitchen/kettles", "kitchen/scales"};
const std::vector<std::string> kWindows = {"5m", "30m", "1h", "24h", "7d", "30d"};

json rule(int i) {
  const std::string w = kWindows[static_cast<std::size_t>(i) % kWindows.size()];
  const std::string cat = kCategories[static_cast<std::size_t>(i) % kCategories.size()];
  const int n = 1 + i % 4;
  switch (i % 20) {
    case 0: return {{"count", {{"event", "page_view"}, {"window", w}, {"op", ">"}, {"value", n}}}};
    case 1:
      return {{"count", {{"event", "product_view"}, {"window", w}, {"op", ">="}, {"value", n},
                         {"where", {{{"property", "category"}, {"op", "=="}, {"value", cat}}}}}}};
    case 2:
      return {{"sum", {{"event", "cart_add"}, {"property", "price"}, {"window", w}, {"op", ">"},
                       {"value", 100 * n}}}};
    case 3:
      return {{"avg", {{"event", "purchase"}, {"property", "total"}, {"window", "30d"},
                       {"op", ">="}, {"value", 50 * n}}}};
    case 4:
      return {{"distinct", {{"event", "product_view"}, {"property", "category"}, {"window", w},
                            {"op", ">="}, {"value", n}}}};
    case 5: return {{"recency", {{"event", "purchase"}, {"op", ">"}, {"value", "7d"}}}};
    case 6: return {{"session", {{"metric", "cart_items"}, {"op", ">="}, {"value", n}}}};
    case 7: return {{"session", {{"metric", "zone"}, {"op", "=="}, {"value", "coffee-aisle"}}}};
    case 8: return {{"trait", {{"name", "tier"}, {"op", "=="}, {"value", "gold"}}}};
    case 9:
      return {{"all",
               {{{"count", {{"event", "product_view"}, {"window", "7d"}, {"op", ">="}, {"value", 2},
                            {"where", {{{"property", "price"}, {"op", ">"}, {"value", 100}}}}}}},
                {{"not", {{"count", {{"event", "purchase"}, {"window", "7d"}, {"op", ">"},
                                     {"value", 0}}}}}}}}};
    case 10:
      return {{"max", {{"event", "cart_add"}, {"property", "price"}, {"window", w}, {"op", ">"},
                       {"value", 300}}}};
    case 11:
      return {{"count", {{"event", "search"}, {"window", w}, {"op", ">="}, {"value", n}}}};
    case 12:
      return {{"any", {{{"count", {{"event", "click"}, {"window", w}, {"op", ">"}, {"value", n}}}},
                       {{"count", {{"event", "session_start"}, {"window", "7d"}, {"op", ">="},
                                   {"value", 3}}}}}}};
    case 13:
      return {{"count", {{"event", "cart_remove"}, {"window", w}, {"op", ">="}, {"value", 1}}}};
    case 14: return {{"segment", "s000"}};  // a dependent of segment 0
    case 15:
      return {{"count", {{"event", "beacon_proximity"}, {"window", "1h"}, {"op", ">="},
                         {"value", n},
                         {"where", {{{"property", "zone_id"}, {"op", "in"},
                                     {"value", {"coffee-aisle", "tea-aisle"}}}}}}}};
    case 16:
      return {{"min", {{"event", "purchase"}, {"property", "total"}, {"window", "30d"},
                       {"op", "<"}, {"value", 20}}}};
    case 17:
      return {{"sum", {{"event", "purchase"}, {"property", "total"}, {"window", "30d"},
                       {"op", ">="}, {"value", 500}}}};
    case 18:
      return {{"distinct", {{"event", "beacon_proximity"}, {"property", "zone_id"},
                            {"window", "24h"}, {"op", ">="}, {"value", 2}}}};
    default:
      return {{"recency", {{"event", "page_view"}, {"op", "<"}, {"value", "30m"}}}};
  }
}

Event make_event(std::mt19937_64& rng, std::uint64_t n) {
  auto roll = [&](int hi) { return std::uniform_int_distribution<int>(0, hi)(rng); };
  Event e;
  e.event_id = "evt-" + std::to_string(n);
  e.type = kTypes[static_cast<std::size_t>(roll(static_cast<int>(kTypes.size()) - 1))];
  e.source.store_id = "store-0042";
  e.source.channel = Channel::kKiosk;
  e.source.agent_id = "agent-0042-a";
  const std::string& cat = kCategories[static_cast<std::size_t>(roll(7))];
  if (e.type == "product_view" || e.type == "cart_add" || e.type == "cart_remove") {
    e.properties = {{"sku", "SKU-" + std::to_string(roll(5000))},
                    {"category", cat},
                    {"price", 5.0 + roll(600)},
                    {"quantity", 1 + roll(2)}};
  } else if (e.type == "purchase") {
    e.properties = {{"order_id", "o-" + std::to_string(n)}, {"total", 10.0 + roll(800)},
                    {"currency", "EUR"}};
  } else if (e.type == "identify") {
    e.properties = {{"traits", {{"tier", roll(3) == 0 ? "gold" : "silver"}}}};
  } else if (e.type == "beacon_proximity") {
    e.properties = {{"zone_id", roll(1) ? "coffee-aisle" : "tea-aisle"}, {"transition", "enter"}};
  } else if (e.type == "search") {
    e.properties = {{"query", "espresso"}};
  } else {
    e.properties = {{"url", "/c/" + cat}};
  }
  return e;
}

// The engine builds a SegmentChange only when a sink listens: one must, as in the collector.
class CountingSink final : public segments::SegmentChangeSink {
 public:
  void on_change(const segments::SegmentChange& change) override {
    ++changes;
    id_bytes += change.change_id.size();
  }
  std::uint64_t changes = 0;
  std::uint64_t id_bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t profiles = argc > 1 ? std::stoul(argv[1]) : 1'000'000;
  const std::size_t per_run = argc > 2 ? std::stoul(argv[2]) : 2'000'000;
  const int runs = argc > 3 ? std::stoi(argv[3]) : 3;
  const std::filesystem::path dir =
      argc > 4 ? std::filesystem::path(argv[4])
               : std::filesystem::temp_directory_path() / "aisle-segment-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  log::set_level(log::Level::kWarn);

  auto clock = std::make_shared<ManualClock>(1'700'000'000'000);
  metrics::Registry metrics;
  segments::SegmentOptions options;
  options.path = (dir / "segments.db").string();
  segments::SegmentEngineDeps deps;
  deps.clock = clock;
  deps.metrics = &metrics;
  auto engine = segments::SegmentEngine::open(options, deps);
  if (!engine) {
    std::fprintf(stderr, "open: %s\n", engine.error().message.c_str());
    return 1;
  }
  auto sink = std::make_shared<CountingSink>();
  (*engine)->add_sink(sink);
  for (int i = 0; i < 100; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "s%03d", i);
    auto v = (*engine)->put(id, {{"name", id}, {"condition", rule(i)}});
    if (!v) {
      std::fprintf(stderr, "put %s: %s\n", id, v.error().message.c_str());
      return 1;
    }
  }
  (*engine)->run_backfills();

  std::vector<std::string> ids(profiles);
  for (std::size_t i = 0; i < profiles; ++i) ids[i] = "p" + std::to_string(i);
  std::mt19937_64 rng(42);
  // A pool of distinct events, reused with fresh profile ids and times (building JSON per
  // event would measure nlohmann, not the engine).
  std::vector<Event> pool;
  for (std::uint64_t i = 0; i < 50'000; ++i) pool.push_back(make_event(rng, i));
  const long rss_before = rss_kib();

  std::vector<profiles::ProfiledEvent> batch(1000);
  std::uint64_t next = 0;
  struct Rates {
    double wall = 0;  // events per wall-clock second (shared machine: other work included)
    double cpu = 0;   // events per CPU-second of the evaluating thread
    double flush_s = 0;
  };
  auto run = [&](std::size_t count, bool sequential_profiles) -> Rates {
    double flush_s = 0;
    double flush_cpu = 0;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_s();
    for (std::size_t done = 0; done < count; done += batch.size()) {
      clock->advance(std::chrono::seconds(1));
      const UnixMillis now = clock->now_unix_ms();
      for (std::size_t i = 0; i < batch.size(); ++i, ++next) {
        Event& e = pool[next % pool.size()];
        e.occurred_at = now - static_cast<UnixMillis>(i % 500);
        batch[i].event = &e;
        batch[i].profile_id = sequential_profiles ? ids[(done + i) % profiles]
                                                  : ids[rng() % profiles];
      }
      (*engine)->on_events(batch);
      (*engine)->tick(now);
      if ((done / batch.size()) % 250 == 0) {
        const auto f0 = std::chrono::steady_clock::now();
        const double c0 = thread_cpu_s();
        (void)(*engine)->flush();
        flush_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
        flush_cpu += thread_cpu_s() - c0;
      }
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = thread_cpu_s() - cpu_start - flush_cpu;
    return Rates{static_cast<double>(count) / (total - flush_s), static_cast<double>(count) / cpu,
                 flush_s};
  };

  std::printf("segment_bench: %zu profiles, 100 segments, %zu events per run\n", profiles, per_run);
  auto warm = run(profiles, true);
  std::printf("warm-up (one event per profile): %.0f events/s wall, %.0f per CPU-second\n",
              warm.wall, warm.cpu);
  std::vector<double> rates;
  std::vector<double> cpu_rates;
  for (int r = 0; r < runs; ++r) {
    const Rates rate = run(per_run, false);
    rates.push_back(rate.wall);
    cpu_rates.push_back(rate.cpu);
    std::printf("run %d: %.0f events/s wall, %.0f events per CPU-second (membership flush %.2f s, "
                "a separate thread in the collector, excluded)\n",
                r + 1, rate.wall, rate.cpu, rate.flush_s);
  }
  std::sort(rates.begin(), rates.end());
  std::sort(cpu_rates.begin(), cpu_rates.end());
  const std::size_t held = (*engine)->profile_count();
  const std::size_t bytes = (*engine)->state_bytes();
  const long rss_after = rss_kib();
  std::printf("median: %.0f events/s wall, %.0f events per CPU-second\n", rates[rates.size() / 2],
              cpu_rates[cpu_rates.size() / 2]);
  std::printf("profiles held: %zu; window state %.0f bytes/profile (engine accounting); RSS "
              "growth %.0f bytes/profile\n",
              held, held ? static_cast<double>(bytes) / static_cast<double>(held) : 0.0,
              held ? static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(held)
                   : 0.0);
  std::printf("changes: %.0f entered, %.0f exited (%llu delivered to the sink); timer "
              "evaluations %.0f\n",
              metrics.value("aisle_collector_segments_changes_total", {{"kind", "entered"}}),
              metrics.value("aisle_collector_segments_changes_total", {{"kind", "exited"}}),
              static_cast<unsigned long long>(sink->changes),
              metrics.value("aisle_collector_segments_timer_evaluations_total"));
  (*engine)->stop();
  std::filesystem::remove_all(dir);
  return 0;
}
