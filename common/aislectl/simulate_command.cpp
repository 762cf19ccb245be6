#include "common/aislectl/simulate_command.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "common/aislectl/devenv.hpp"
#include "common/signal_waiter.hpp"
#include "common/sim/catalog.hpp"
#include "common/sim/sim_driver.hpp"
#include "common/sim/store_day.hpp"

namespace aisle::ctl {
namespace {

constexpr const char* kUsage =
    "Usage: aislectl simulate [--env DIR [--store STORE_ID]]\n"
    "           [--agent-http URL] [--collector-http URL] [--write-key KEY]\n"
    "           [--pos tcp:HOST:PORT] [--counter tcp:HOST:PORT|serial:/PATH] [--ble udp:HOST:PORT]\n"
    "           [--rfid file:PATH] [--weight file:PATH] [--loyalty-key KEY] [--store-id ID]\n"
    "           [--seed N] [--catalog-seed N] [--speed X] [--duration S] [--shoppers N]\n"
    "           [--start-hour H] [--max-shoppers N] [--report S]\n"
    "\n"
    "Simulates a store day and drives a running agent through its real device transports: POS\n"
    "receipts (pos_jsonl) and door counts over TCP, BLE gateway advertisements over UDP, RFID\n"
    "reads and weight shelf readings appended to the files the agent tails; kiosks use the\n"
    "agent's HTTP API (events, GET /v1/recommendations) and the web shop posts to the\n"
    "collector's HTTP ingest with the write key. A device without an endpoint is skipped.\n"
    "\n"
    "  --env DIR         take every endpoint, key and seed from a devenv made with devices\n"
    "                    (as `aislectl demo` makes it); --store picks the agent (default the first)\n"
    "  --loyalty-key K   the POS decoders' loyalty_key: kiosks and the web send loyalty ids as\n"
    "                    HMAC-SHA256(K, card number), the pseudonym the decoder makes of the receipt's\n"
    "  --seed N          the store day (default 1); --catalog-seed N: the assortment and layout the\n"
    "                    agent's adapter options were made from (default 1)\n"
    "  --speed X         simulated seconds per wall second (default 1); the agent's decoder timers\n"
    "                    must be set for it (devenv does; docs/simulator.md)\n"
    "  --duration S      wall seconds to run (default 0: until Ctrl-C)\n"
    "  --shoppers N      arrivals per hour at the day's peak (default 1200: a large store)\n"
    "  --start-hour H    simulated time of day at the start (default 11.0)\n"
    "  --max-shoppers N  stop admitting shoppers after N (default 0: no limit)\n"
    "  --report S        print counters every S wall seconds (default 5)\n"
    "\n"
    "The same seeds, options and start time give the same frames. Exit 0 when every frame and\n"
    "event was delivered, 1 when some were not (connection refused, HTTP error), 2 on bad usage.\n";

bool take_prefixed(const std::string& value, const char* scheme, std::string& out) {
  const std::string prefix = std::string(scheme) + ":";
  if (value.rfind(prefix, 0) != 0) return false;
  out = value.substr(prefix.size());
  return true;
}

void print_stats(double elapsed, const sim::StoreDay& day, const sim::DriverStats& stats) {
  const sim::StoreDayStats& s = day.stats();
  std::printf("t=%5.1fs shoppers %llu (known %llu) receipts %llu |", elapsed,
              static_cast<unsigned long long>(s.shoppers),
              static_cast<unsigned long long>(s.known_shoppers),
              static_cast<unsigned long long>(s.receipts));
  for (int i = 0; i < sim::kSinkCount; ++i) {
    const sim::SinkStats& sink = stats.sinks[i];
    std::printf(" %s %llu", sim::sink_name(static_cast<sim::Sink>(i)),
                static_cast<unsigned long long>(sink.sent));
    if (sink.failed) std::printf(" (%llu failed)", static_cast<unsigned long long>(sink.failed));
  }
  std::printf(" | recs served %llu, 404 %llu, failed %llu, clicks %llu\n",
              static_cast<unsigned long long>(stats.recs_served),
              static_cast<unsigned long long>(stats.recs_not_found),
              static_cast<unsigned long long>(stats.recs_failed),
              static_cast<unsigned long long>(stats.rec_clicks));
  std::fflush(stdout);
}

}  // namespace

int run_simulate_command(const std::vector<std::string>& args) {
  sim::DriverTargets targets;
  sim::StoreDayOptions day;
  sim::CatalogOptions catalog_options;
  double duration = 0, report = 5;
  std::string env_dir, store;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= args.size()) {
      std::cerr << "aislectl simulate: " << a << " needs a value (or is unknown)\n" << kUsage;
      return 2;
    }
    const std::string& v = args[++i];
    bool ok = true;
    if (a == "--env") env_dir = v;
    else if (a == "--store") store = v;
    else if (a == "--agent-http") targets.agent_http = v;
    else if (a == "--collector-http") targets.collector_http = v;
    else if (a == "--write-key") targets.write_key = v;
    else if (a == "--pos") ok = take_prefixed(v, "tcp", targets.devices.pos_tcp);
    else if (a == "--counter") {
      // serial:/PATH: the simulator opens a pseudo-terminal and links PATH to it.
      ok = v.rfind("serial:/", 0) == 0 ? take_prefixed(v, "serial", targets.devices.counter_serial)
                                       : take_prefixed(v, "tcp", targets.devices.counter_tcp);
    }
    else if (a == "--ble") ok = take_prefixed(v, "udp", targets.devices.ble_udp);
    else if (a == "--rfid") ok = take_prefixed(v, "file", targets.devices.rfid_file);
    else if (a == "--weight") ok = take_prefixed(v, "file", targets.devices.weight_file);
    else if (a == "--loyalty-key") day.loyalty_key = v;
    else if (a == "--store-id") day.store_id = v;
    else if (a == "--seed") day.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--catalog-seed") catalog_options.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--speed") ok = (day.speed = std::atof(v.c_str())) > 0;
    else if (a == "--duration") ok = (duration = std::atof(v.c_str())) >= 0;
    else if (a == "--shoppers") ok = (day.peak_shoppers_per_hour = std::atof(v.c_str())) > 0;
    else if (a == "--start-hour") ok = (day.start_hour = std::atof(v.c_str())) >= 0 && day.start_hour < 24;
    else if (a == "--max-shoppers") day.max_shoppers = std::atoll(v.c_str());
    else if (a == "--report") ok = (report = std::atof(v.c_str())) > 0;
    else {
      std::cerr << "aislectl simulate: unknown argument " << a << "\n" << kUsage;
      return 2;
    }
    if (!ok) {
      std::cerr << "aislectl simulate: bad value for " << a << ": '" << v << "'\n" << kUsage;
      return 2;
    }
  }
  if (!env_dir.empty()) {
    auto env = read_devenv(env_dir);
    if (!env) {
      std::cerr << "aislectl simulate: " << env.error().message << "\n";
      return 2;
    }
    const DevEnvAgent* agent = nullptr;
    for (const auto& a : env->agents) {
      if (store.empty() || a.store_id == store) {
        agent = &a;
        break;
      }
    }
    if (!agent || !agent->devices) {
      std::cerr << "aislectl simulate: " << env_dir << " has no agent "
                << (store.empty() ? "" : store + " ") << "with devices\n";
      return 2;
    }
    targets.agent_http = agent->http;
    targets.collector_http = env->collector_http;
    targets.write_key = env->write_key;
    targets.devices = *agent->devices;
    day.loyalty_key = env->loyalty_key;
    day.store_id = agent->store_id;
    catalog_options = env->catalog;
    if (env->device_speed != day.speed) {
      std::cerr << "aislectl simulate: note: the agents' decoder timers are set for --speed "
                << env->device_speed << "\n";
    }
  }
  SignalWaiter signals;
  const sim::Catalog catalog = sim::build_catalog(catalog_options);
  day.wall_start = SystemClock::instance()->now_unix_ms();
  sim::StoreDay store_day(catalog, day);
  sim::SimDriver driver(targets);
  if (auto s = driver.open(); !s) {
    std::cerr << "aislectl simulate: " << s.error().message << "\n";
    return 2;
  }
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::thread worker([&] {
    sim::RunOptions run;
    run.duration = std::chrono::milliseconds(static_cast<std::int64_t>(duration * 1000));
    sim::run_simulation(store_day, driver, run, stop);
    done = true;
  });
  const auto started = std::chrono::steady_clock::now();
  auto next_report = started + std::chrono::milliseconds(static_cast<int>(report * 1000));
  while (!done.load()) {
    if (signals.wait(std::chrono::milliseconds(100)) == SignalEvent::kTerminate) stop = true;
    if (std::chrono::steady_clock::now() >= next_report) {
      next_report += std::chrono::milliseconds(static_cast<int>(report * 1000));
      // StoreDay's counters are written by the worker: read them as a snapshot for display only.
      print_stats(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                  store_day, driver.stats());
    }
  }
  worker.join();
  const sim::DriverStats stats = driver.stats();
  print_stats(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
              store_day, stats);
  std::uint64_t failed = 0;
  for (const auto& sink : stats.sinks) failed += sink.failed;
  return failed == 0 ? 0 : 1;
}

}  // namespace aisle::ctl
