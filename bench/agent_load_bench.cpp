// agent_load_bench: the issue 7 budget "the agent with all five adapters active under simulator
// load of a large store (10x a realistic peak) stays under 10% of one core and 60 MB RSS"
// (docs/simulator.md).
//
//   agent_load_bench [seconds=60] [runs=3] [peak_shoppers_per_hour=12000] [speed=1]
//
// Each run: a devenv with one agent whose five adapters (POS and door counters on TCP, BLE on
// UDP, RFID and weight shelves tailing files) are configured for a large store's catalog, the
// TLS broker and the collector; the store simulator in this process drives the agent at real
// time (speed 1: the decoders' default timers) from the evening peak, after 25 simulated minutes
// of warm-up so the store is full. The agent's CPU is utime+stime from /proc/<pid>/stat over the
// measured window; its memory is VmHWM (peak RSS over its whole life) from /proc/<pid>/status.
// The median of the runs is printed last.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/aislectl/devenv.hpp"
#include "common/log.hpp"
#include "common/process.hpp"
#include "common/sim/sim_driver.hpp"
#include "common/sim/store_day.hpp"

using namespace aisle;

namespace {

// utime + stime of a process in clock ticks.
long long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may contain spaces) start after the last ')'.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) {
      stime = std::atoll(field.c_str());
      break;
    }
  }
  return utime + stime;
}

long long status_kib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

// A large store: a hypermarket-sized assortment with item-level RFID on 1,200 units and 832 BLE
// beacons (see docs/simulator.md for the assumptions).
sim::CatalogOptions large_store() {
  sim::CatalogOptions o;
  o.seed = 7;
  o.products_per_category = 200;
  o.rfid_tagged_per_category = 100;
  o.rfid_units_per_sku = 4;
  o.weight_items_per_category = 24;
  o.beacons_per_zone = 64;
  o.rfid_antennas = 32;
  o.doors = 6;
  o.kiosks = 12;
  o.registers = 30;
  o.customers = 50000;
  return o;
}

struct RunResult {
  double cpu_percent = 0;
  double hwm_mib = 0;
  double frames_per_s = 0;
  std::uint64_t ble_visits_unobserved = 0, zone_visits = 0;
};

bool run_once(double seconds, double peak, double speed, int index, RunResult& result) {
  namespace fs = std::filesystem;
  char pattern[] = "/tmp/aisle-agent-load-XXXXXX";
  if (!::mkdtemp(pattern)) return false;
  const std::string dir = std::string(pattern) + "/env";
  ctl::DevEnvInitOptions init;
  init.devices = true;
  init.device_speed = speed;
  init.catalog = large_store();
  auto env = ctl::devenv_init(dir, init);
  if (!env) {
    std::fprintf(stderr, "devenv init: %s\n", env.error().message.c_str());
    return false;
  }
  ctl::DevEnvUpOptions up;
  up.bin_dir = AISLE_BINARY_DIR;
  if (auto s = ctl::devenv_up(dir, up); !s) {
    std::fprintf(stderr, "devenv up: %s\n", s.error().message.c_str());
    (void)ctl::devenv_down(dir, {});
    return false;
  }
  auto pid = read_pid_file(dir + "/run/agent-1.pid");
  if (!pid) {
    (void)ctl::devenv_down(dir, {});
    return false;
  }
  const sim::Catalog catalog = sim::build_catalog(env->catalog);
  sim::StoreDayOptions day;
  day.seed = static_cast<std::uint64_t>(100 + index);
  day.store_id = env->agents[0].store_id;
  day.loyalty_key = env->loyalty_key;
  day.speed = speed;
  day.start_hour = 17.5;  // the evening peak
  day.warmup_minutes = 25;
  day.peak_shoppers_per_hour = peak;
  day.wall_start = SystemClock::instance()->now_unix_ms();
  sim::StoreDay store(catalog, day);
  sim::SimDriver driver({env->agents[0].http, env->collector_http, env->write_key,
                         *env->agents[0].devices});
  if (auto s = driver.open(); !s) {
    (void)ctl::devenv_down(dir, {});
    return false;
  }
  std::atomic<bool> stop{false};
  std::thread worker([&] { sim::run_simulation(store, driver, {}, stop); });
  // The first seconds carry the warm-up's initial readings (every tag and shelf once): settle.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  auto frames = [&] {
    const sim::DriverStats s = driver.stats();
    std::uint64_t n = 0;
    for (int i = 0; i < 5; ++i) n += s.sinks[i].sent;
    return n;
  };
  const long long ticks0 = cpu_ticks(*pid);
  const std::uint64_t frames0 = frames();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long long>(seconds * 1000)));
  const long long ticks1 = cpu_ticks(*pid);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::uint64_t frames1 = frames();
  result.hwm_mib = static_cast<double>(status_kib(*pid, "VmHWM")) / 1024.0;
  stop = true;
  worker.join();
  result.cpu_percent =
      100.0 * static_cast<double>(ticks1 - ticks0) / static_cast<double>(::sysconf(_SC_CLK_TCK)) / wall;
  result.frames_per_s = static_cast<double>(frames1 - frames0) / wall;
  result.zone_visits = store.stats().zone_visits;
  result.ble_visits_unobserved = store.stats().zone_visits_unobserved;
  const sim::DriverStats stats = driver.stats();
  std::printf("run %d: agent CPU %.2f%% of one core, VmHWM %.1f MiB; frames/s %.0f (", index + 1,
              result.cpu_percent, result.hwm_mib, result.frames_per_s);
  for (int i = 0; i < sim::kSinkCount; ++i) {
    std::printf("%s%s %llu", i ? ", " : "", sim::sink_name(static_cast<sim::Sink>(i)),
                static_cast<unsigned long long>(stats.sinks[i].sent));
  }
  std::printf(" sent in total); %llu shoppers, %llu zone visits (%llu without a free beacon)\n",
              static_cast<unsigned long long>(store.stats().shoppers),
              static_cast<unsigned long long>(result.zone_visits),
              static_cast<unsigned long long>(result.ble_visits_unobserved));
  std::fflush(stdout);
  (void)ctl::devenv_down(dir, {});
  std::error_code ec;
  fs::remove_all(pattern, ec);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 60;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 3;
  const double peak = argc > 3 ? std::atof(argv[3]) : 12000;
  const double speed = argc > 4 ? std::atof(argv[4]) : 1;
  log::set_level(log::Level::kWarn);
  std::vector<RunResult> results;
  for (int i = 0; i < runs; ++i) {
    RunResult r;
    if (!run_once(seconds, peak, speed, i, r)) return 1;
    results.push_back(r);
  }
  auto median = [&](auto member) {
    std::vector<double> v;
    for (const auto& r : results) v.push_back(r.*member);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double cpu = median(&RunResult::cpu_percent);
  const double hwm = median(&RunResult::hwm_mib);
  std::printf("median of %d runs (%.0f s each, %.0f shoppers/h at the peak, speed %.0f): agent CPU "
              "%.2f%% of one core (budget 10%%), peak RSS %.1f MiB (budget 60 MB), %.0f frames/s\n",
              runs, seconds, peak, speed, cpu, hwm, median(&RunResult::frames_per_s));
  return cpu < 10.0 && hwm < 60.0 * 1e6 / (1024.0 * 1024.0) ? 0 : 2;
}
