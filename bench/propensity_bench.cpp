// propensity_bench: the cost of the learned score on the segment engine's hot path
// (docs/propensity.md, "Cost").
//
//   propensity_bench [events] [profiles] [runs]
//
// A synthetic stream (default 300,000 events over 50,000 profiles, sessions of 2-12 events, 30%
// ending in a purchase, the rest ending by session_end or timing out) is fed to a fresh
// PropensityModel per run; each event is observe()d and then score()d, as the segment engine does.
// Prints ns per event (median of `runs`, default 3), the model's memory and bytes per profile,
// and the prequential AUC reached (a sanity check: buyers differ only by more cart adds).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "collector/segments/learned/propensity_model.hpp"
#include "common/log.hpp"

namespace {

using aisle::Event;
using aisle::collector::segments::PropensityModel;
using nlohmann::json;

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Item {
  Event event;
  std::string profile;
};

std::vector<Item> make_stream(std::size_t events, std::size_t profiles) {
  std::mt19937_64 rng(1);
  std::vector<Item> out;
  out.reserve(events);
  const std::vector<std::string> categories = {"coffee/espresso", "books/novels", "garden/tools",
                                               "toys/lego", "audio/headphones"};
  aisle::UnixMillis t = 1'760'000'000'000;
  std::size_t next_profile = 0;
  while (out.size() < events) {
    const std::string profile = "profile-" + std::to_string(next_profile++ % profiles);
    const bool buyer = rng() % 10 < 3;
    const std::string store = "store-" + std::to_string(rng() % 40);
    const auto channel = static_cast<aisle::Channel>(rng() % 4);
    const int length = 2 + static_cast<int>(rng() % 11);
    for (int k = 0; k < length && out.size() < events; ++k) {
      Event e;
      e.event_id = "e";
      e.occurred_at = t;
      e.source.store_id = store;
      e.source.channel = channel;
      const auto& category = categories[rng() % categories.size()];
      if (k == length - 1 && buyer) {
        e.type = "purchase";
        e.properties = {
            {"order_id", "o"},
            {"transaction_type", "sale"},
            {"total", 80},
            {"currency", "EUR"},
            {"items",
             json::array(
                 {{{"sku", "A"}, {"quantity", 1}, {"unit_price", 80}, {"category", category}}})}};
      } else if (k == length - 1 && rng() % 2 == 0) {
        e.type = "session_end";
        e.properties = {{"duration_seconds", 60}, {"event_count", length}};
      } else {
        const bool add = rng() % (buyer ? 3 : 6) == 0;
        e.type = add ? "cart_add" : "product_view";
        e.properties = {{"sku", "sku-" + std::to_string(rng() % 5000)},
                        {"category", category},
                        {"price", 5 + static_cast<double>(rng() % 200)},
                        {"quantity", 1}};
      }
      e.schema = "aisle/" + e.type + "/jsonschema/1-0-0";
      out.push_back({std::move(e), profile});
      t += 50;  // 20 events/s of event time: sessions of other profiles time out meanwhile
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 300'000;
  const std::size_t profiles = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 50'000;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  aisle::log::set_level(aisle::log::Level::kWarn);
  const auto stream = make_stream(events, profiles);

  std::vector<double> ns_per_event;      // wall clock
  std::vector<double> cpu_ns_per_event;  // this thread's CPU time (the machine may be shared)
  std::vector<double> describe_us;  // one describe(): AUC + log-loss of the window, memory walk
  std::size_t memory = 0;
  std::size_t base_memory = 0;
  std::size_t kept = 0;
  double auc = 0;
  double checksum = 0;
  for (int run = 0; run < runs; ++run) {
    aisle::metrics::Registry metrics;
    aisle::collector::segments::PropensityOptions options;
    options.max_profiles = profiles;
    // The clock below runs 20 events/s, 50x slower than the loop: the default 10 s gauge refresh
    // (an exact AUC over 10,000 examples, timed separately below) would run every 200 events
    // here instead of every 10 s of real time. Refresh on the example count only.
    options.gauge_interval_ms = 86'400'000;
    aisle::collector::segments::DriftOptions drift;
    // Collector time advances with event time (20 events/s), so idle sessions time out as they
    // would live; the clock's atomic add is inside the timed loop (a few ns).
    auto clock = std::make_shared<aisle::ManualClock>();
    auto model = PropensityModel::open(options, drift, clock, metrics);
    if (!model) {
      std::fprintf(stderr, "open: %s\n", model.error().message.c_str());
      return 1;
    }
    base_memory = (*model)->memory_bytes();  // weights, evaluation and drift windows
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_ns();
    for (const auto& item : stream) {
      clock->advance(std::chrono::milliseconds(50));
      (*model)->observe({&item.event, item.profile});
      checksum += (*model)->score("purchase_propensity", item.profile).value_or(0);
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    cpu_ns_per_event.push_back((thread_cpu_ns() - cpu_start) / static_cast<double>(stream.size()));
    ns_per_event.push_back(
        static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
        static_cast<double>(stream.size()));
    const double auc_start = thread_cpu_ns();
    (void)(*model)->describe();  // computes AUC and log-loss over the window
    describe_us.push_back((thread_cpu_ns() - auc_start) / 1000.0);
    memory = (*model)->memory_bytes();
    kept = (*model)->profiles();
    auc = (*model)->describe()["auc"].get<double>();
  }
  std::sort(ns_per_event.begin(), ns_per_event.end());
  std::sort(cpu_ns_per_event.begin(), cpu_ns_per_event.end());
  std::printf("propensity observe+score: %zu events, %zu profiles, median of %d runs\n",
              stream.size(), profiles, runs);
  std::printf("  ns/event, thread CPU time: %.0f (min %.0f, max %.0f)\n",
              cpu_ns_per_event[cpu_ns_per_event.size() / 2], cpu_ns_per_event.front(),
              cpu_ns_per_event.back());
  std::printf("  ns/event, wall clock: %.0f (min %.0f, max %.0f)\n",
              ns_per_event[ns_per_event.size() / 2], ns_per_event.front(), ns_per_event.back());
  std::printf(
      "  memory: %.1f MiB for %zu profiles: %.1f MiB fixed (weights, evaluation and "
      "drift windows) + %.0f B/profile\n",
      static_cast<double>(memory) / (1 << 20), kept, static_cast<double>(base_memory) / (1 << 20),
      kept ? static_cast<double>(memory - base_memory) / static_cast<double>(kept) : 0.0);
  std::sort(describe_us.begin(), describe_us.end());
  std::printf(
      "  describe() (exact AUC + log-loss of the window, memory walk over profiles): %.0f us\n",
      describe_us[describe_us.size() / 2]);
  std::printf("  prequential AUC on this stream: %.3f (checksum %.1f)\n", auc, checksum);
  return 0;
}
