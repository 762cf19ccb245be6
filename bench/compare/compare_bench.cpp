// compare_bench: the same store traffic through (a) Aisle's agent and (b) the do-it-yourself
// alternative, a Mosquitto bridge with persistence on the gateway (docs/compare.md).
//
//   compare_bench [--events N] [--rate R] [--runs K] [--outage S] [--down S] [--settle S]
//                 [--threads T] [--chunk C] [--scenarios throughput,kill,outage,outage-kill]
//                 [--variants aisle,diy,diy-tuned] [--dir DIR] [--bin-dir DIR]
//
// Scenarios, each run `runs` times per variant in a fresh environment:
//   throughput  N events as fast as the gateway takes them; events/s from the first send until
//               the last accepted event is stored centrally.
//   kill        N events at R events/s; at 40% sent the gateway process (aisle-agent / the
//               gateway Mosquitto) is killed with SIGKILL and started again S_down seconds later.
//   outage      N events at R events/s; at 30% sent the central broker is stopped (SIGTERM) and
//               started again `outage` seconds later.
//   outage-kill both: the central broker stops at 30% sent, the gateway is killed (SIGKILL) at
//               50% while the backlog sits on it, restarted S_down later, and the central broker
//               comes back `outage` seconds after it stopped (so outage > 20% of N / R + down).
// Lost = acknowledged by the gateway (HTTP 202 / PUBACK) but never stored centrally; duplicates
// = stored more than once. Everything runs on this machine, on loopback.
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "bench/compare/diy_bridge.hpp"
#include "bench/compare/producer.hpp"
#include "bench/compare/store_traffic.hpp"
#include "collector/store/sqlite_db.hpp"
#include "common/aislectl/devenv.hpp"
#include "common/log.hpp"
#include "common/process.hpp"
#include "common/wire/topics.hpp"

namespace {

using namespace aisle::bench::compare;
using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct Args {
  std::size_t events = 10000;
  double rate = 500;
  int runs = 3;
  int outage_s = 10;
  int down_s = 2;
  int settle_s = 40;  // give up waiting for delivery after this long without progress
  int threads = 4;
  std::size_t chunk = 100;
  std::vector<std::string> scenarios{"throughput", "kill", "outage", "outage-kill"};
  std::vector<std::string> variants{"aisle", "diy", "diy-tuned"};
  std::string dir = "compare-bench";
  std::string bin_dir = AISLE_BINARY_DIR;  // aisle-agent and aisle-collector
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool parse_args(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return false;
    const std::string value = argv[++i];
    if (flag == "--events")
      args.events = std::stoul(value);
    else if (flag == "--rate")
      args.rate = std::stod(value);
    else if (flag == "--runs")
      args.runs = std::stoi(value);
    else if (flag == "--outage")
      args.outage_s = std::stoi(value);
    else if (flag == "--down")
      args.down_s = std::stoi(value);
    else if (flag == "--settle")
      args.settle_s = std::stoi(value);
    else if (flag == "--threads")
      args.threads = std::stoi(value);
    else if (flag == "--chunk")
      args.chunk = std::stoul(value);
    else if (flag == "--scenarios")
      args.scenarios = split_list(value);
    else if (flag == "--variants")
      args.variants = split_list(value);
    else if (flag == "--dir")
      args.dir = value;
    else if (flag == "--bin-dir")
      args.bin_dir = value;
    else
      return false;
  }
  return args.events > 0 && args.runs > 0 && args.threads > 0 && args.chunk > 0;
}

std::string mosquitto_binary() {
  const char* env = std::getenv("AISLE_MOSQUITTO");
  return env && *env ? env : "/usr/sbin/mosquitto";
}

int port_of(const std::string& url) {
  const auto colon = url.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(url.c_str() + colon + 1);
}

// One run of one scenario with one variant.
struct Outcome {
  bool ok = false;
  std::string error;
  std::size_t accepted = 0;
  double accept_rate = 0;  // events/s acknowledged by the gateway, producer side
  double stored_rate = 0;  // events/s from the first send until the last store
  double deliver_s = 0;    // first send until the last stored event
  std::size_t stored = 0;  // distinct accepted events stored centrally
  std::size_t lost = 0;
  std::size_t duplicates = 0;      // extra arrivals stored centrally
  std::size_t unacked_stored = 0;  // not acknowledged to the producer, stored anyway
  long redelivered = -1;           // Aisle: redeliveries the collector dropped (metric)
};

// A process this bench started (the DIY brokers) and how to start it again.
struct OwnedProcess {
  std::vector<std::string> argv;
  std::string log_file;
  int port = 0;
  pid_t pid = -1;

  aisle::Status start() {
    aisle::SpawnOptions options;
    options.argv = argv;
    options.log_file = log_file;
    auto spawned = aisle::spawn(options);
    if (!spawned) return spawned.error();
    pid = *spawned;
    return aisle::wait_for_tcp("127.0.0.1", port, Millis(10000));
  }
  void stop() {
    if (pid > 0) (void)aisle::terminate(pid, Millis(5000));
    pid = -1;
  }
  void kill9() {
    if (pid > 0) (void)aisle::kill9(pid);
    pid = -1;
  }
};

// What a scenario does to the gateway or to the centre, for either variant.
struct Faults {
  std::function<void()> kill_gateway;
  std::function<void()> restart_gateway;
  std::function<void()> stop_central;
  std::function<void()> restart_central;
};

// Drives the traffic, injects the scenario's fault mid-stream, then waits until every accepted
// event is stored or nothing arrived for `settle_s`. `stored_now` reports the central count of
// distinct events. Fills the rates and `accepted` (per event, from the producers).
Outcome run_traffic(const Args& args, const std::string& scenario, const StoreTraffic& traffic,
                    const SenderFactory& senders, const Faults& faults,
                    const std::function<std::size_t()>& stored_now,
                    std::vector<std::uint8_t>& accepted) {
  DriveOptions drive_options;
  drive_options.threads = args.threads;
  drive_options.chunk = args.chunk;
  drive_options.rate = scenario == "throughput" ? 0 : args.rate;
  std::atomic<std::size_t> sent{0};
  DriveResult driven;
  const auto started = SteadyClock::now();
  std::thread producer([&] { driven = drive(traffic, senders, drive_options, sent); });
  const std::size_t total = traffic.texts.size();
  if (scenario == "kill") {
    while (sent.load() < total * 4 / 10) std::this_thread::sleep_for(Millis(5));
    faults.kill_gateway();
    std::this_thread::sleep_for(std::chrono::seconds(args.down_s));
    faults.restart_gateway();
  } else if (scenario == "outage") {
    while (sent.load() < total * 3 / 10) std::this_thread::sleep_for(Millis(5));
    faults.stop_central();
    std::this_thread::sleep_for(std::chrono::seconds(args.outage_s));
    faults.restart_central();
  } else if (scenario == "outage-kill") {
    // The store is cut off, a backlog builds on the gateway, and the gateway dies (power cut)
    // before the link is back: what its persistence holds is all that can still arrive.
    while (sent.load() < total * 3 / 10) std::this_thread::sleep_for(Millis(5));
    faults.stop_central();
    const auto outage_end = SteadyClock::now() + std::chrono::seconds(args.outage_s);
    while (sent.load() < total / 2) std::this_thread::sleep_for(Millis(5));
    faults.kill_gateway();
    std::this_thread::sleep_for(std::chrono::seconds(args.down_s));
    faults.restart_gateway();
    std::this_thread::sleep_until(outage_end);
    faults.restart_central();
  }
  producer.join();

  Outcome outcome;
  outcome.accepted = driven.accepted_count;
  outcome.accept_rate = static_cast<double>(driven.accepted_count) / driven.seconds;
  std::size_t last = stored_now();
  auto last_change = SteadyClock::now();
  while (last < driven.accepted_count &&
         SteadyClock::now() - last_change < std::chrono::seconds(args.settle_s)) {
    std::this_thread::sleep_for(Millis(50));
    const std::size_t now = stored_now();
    if (now != last) {
      last = now;
      last_change = SteadyClock::now();
    }
  }
  outcome.deliver_s = std::chrono::duration<double>(last_change - started).count();
  outcome.stored_rate = static_cast<double>(last) / outcome.deliver_s;
  outcome.ok = true;
  accepted = std::move(driven.accepted);
  return outcome;
}

// Fills stored / lost / duplicates / unacked_stored from per-id arrival counts.
void account(const StoreTraffic& traffic, const std::vector<std::uint8_t>& accepted,
             const std::unordered_map<std::string, std::uint32_t>& counts, Outcome& outcome) {
  outcome.stored = outcome.lost = outcome.duplicates = outcome.unacked_stored = 0;
  for (std::size_t i = 0; i < traffic.id_hex.size(); ++i) {
    const auto it = counts.find(traffic.id_hex[i]);
    const std::uint32_t n = it == counts.end() ? 0 : it->second;
    if (n > 1) outcome.duplicates += n - 1;
    if (accepted[i]) {
      if (n == 0)
        ++outcome.lost;
      else
        ++outcome.stored;
    } else if (n > 0) {
      ++outcome.unacked_stored;
    }
  }
}

Outcome failure(std::string why) {
  Outcome outcome;
  outcome.error = std::move(why);
  return outcome;
}

// A fresh devenv (PKI, central broker config, collector and agent configs) in `dir`.
aisle::Result<aisle::ctl::DevEnv> fresh_env(const std::string& dir) {
  (void)aisle::ctl::devenv_down(dir, {});
  aisle::ctl::DevEnvInitOptions init;
  init.force = true;
  return aisle::ctl::devenv_init(dir, init);
}

// --- (a) Aisle: producers -> aisle-agent -> central Mosquitto -> aisle-collector ---------------

std::unordered_map<std::string, std::uint32_t> collector_counts(const std::string& db_path) {
  std::unordered_map<std::string, std::uint32_t> counts;
  auto db = aisle::collector::SqliteDb::open(db_path);
  if (!db) return counts;
  auto rows = db->prepare("SELECT lower(hex(event_id)) FROM events");
  if (!rows) return counts;
  while (true) {
    auto row = rows->step();
    if (!row || !*row) break;
    ++counts[std::string(rows->column_text(0))];
  }
  rows->reset();
  return counts;
}

// The sum of a metric's series in Prometheus text; -1 when absent.
long metric_sum(const std::string& text, const std::string& name) {
  long sum = -1;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    sum = std::max(sum, 0L) + std::atol(line.c_str() + line.rfind(' ') + 1);
  }
  return sum;
}

Outcome run_aisle(const Args& args, const std::string& scenario, const StoreTraffic& traffic,
                  const std::string& dir) {
  auto env = fresh_env(dir);
  if (!env) return failure("devenv init: " + env.error().message);
  aisle::ctl::DevEnvUpOptions up;
  up.bin_dir = args.bin_dir;
  if (auto s = aisle::ctl::devenv_up(dir, up); !s) {
    (void)aisle::ctl::devenv_down(dir, {});
    return failure("devenv up: " + s.error().message);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the agent connects to the broker
  httplib::Client collector("127.0.0.1", port_of(env->collector_http));
  const auto stored_now = [&]() -> std::size_t {
    auto r = collector.Get("/v1/status");
    if (!r || r->status != 200) return 0;
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    return body.is_discarded() ? 0 : body.value("events_stored", std::size_t{0});
  };
  const auto pid_of = [&](const std::string& part) -> pid_t {
    auto pid = aisle::read_pid_file(dir + "/run/" + part + ".pid");
    return pid ? *pid : -1;
  };
  Faults faults;
  faults.kill_gateway = [&] { (void)aisle::kill9(pid_of("agent-1")); };
  // The agent alone, as devenv_up starts it (same command line, log and pid file): devenv_up
  // would also start the broker, which outage-kill keeps down.
  faults.restart_gateway = [&] {
    aisle::SpawnOptions spawn;
    spawn.argv = {args.bin_dir + "/aisle-agent", "--config", env->agents[0].config};
    spawn.log_file = dir + "/log/agent-1.log";
    spawn.working_dir = dir;
    auto pid = aisle::spawn(spawn);
    if (!pid) return;
    (void)aisle::write_pid_file(dir + "/run/agent-1.pid", *pid);
    (void)aisle::wait_for_http_ok("127.0.0.1", port_of(env->agents[0].http), "/healthz",
                                  Millis(20000));
  };
  faults.stop_central = [&] { (void)aisle::terminate(pid_of("mosquitto"), Millis(5000)); };
  faults.restart_central = [&] { (void)aisle::ctl::devenv_up(dir, up); };

  std::vector<std::uint8_t> accepted;
  Outcome outcome =
      run_traffic(args, scenario, traffic, http_senders("127.0.0.1", port_of(env->agents[0].http)),
                  faults, stored_now, accepted);
  if (auto metrics = collector.Get("/metrics"); metrics && metrics->status == 200) {
    outcome.redelivered = metric_sum(metrics->body, "aisle_collector_duplicates_total");
  }
  (void)aisle::ctl::devenv_down(dir, {});
  account(traffic, accepted, collector_counts(dir + "/data/collector.db"), outcome);
  return outcome;
}

// The "mqtt" section of a generated daemon config (certificate paths).
nlohmann::json mqtt_section(const std::string& config_path) {
  std::ifstream in(config_path);
  auto config = nlohmann::json::parse(in, nullptr, false);
  return config.is_object() ? config.value("mqtt", nlohmann::json::object())
                            : nlohmann::json::object();
}

// The in-flight window of the tuned DIY brokers (gateway bridge and central -> sink).
constexpr long kTunedInflight = 1000;

// --- (b) DIY: producers -> gateway Mosquitto (bridge) -> central Mosquitto -> DiySink ----------

Outcome run_diy(const Args& args, const std::string& scenario, const StoreTraffic& traffic,
                const std::string& dir, bool tuned) {
  auto env = fresh_env(dir);
  if (!env) return failure("devenv init: " + env.error().message);
  const std::string topic =
      aisle::wire::events_topic({env->tenant, env->agents[0].store_id, env->agents[0].agent_id});
  std::string central_config = env->mosquitto_config;
  if (tuned) {
    // What a DIY operator would also have to raise at the centre: the sink's queue (default 1000
    // messages: the excess is dropped) and its in-flight window (default 20).
    central_config = dir + "/mosquitto/mosquitto-tuned.conf";
    std::ifstream in(env->mosquitto_config);
    std::ofstream out(central_config, std::ios::trunc);
    out << in.rdbuf() << "\nmax_queued_messages 0\nmax_inflight_messages " << kTunedInflight
        << "\n";
    if (!out) return failure("cannot write " + central_config);
  }
  OwnedProcess central{
      {mosquitto_binary(), "-c", central_config}, dir + "/log/mosquitto.log", env->mqtt_port};
  if (auto s = central.start(); !s) return failure("central broker: " + s.error().message);

  GatewayBrokerOptions gateway_options;
  gateway_options.dir = dir + "/gateway";
  // devenv_init does not know this directory: a previous run's persistence must not be restored.
  std::error_code removed;
  std::filesystem::remove_all(gateway_options.dir, removed);
  auto port = aisle::find_free_port();
  if (!port) return failure("no free port");
  gateway_options.port = *port;
  gateway_options.central_host = "127.0.0.1";
  gateway_options.central_port = env->mqtt_port;
  gateway_options.ca_file = env->ca_file;
  // The bridge presents the store agent's identity, the sink the collector's.
  const auto agent_mqtt = mqtt_section(env->agents[0].config);
  const auto collector_mqtt = mqtt_section(env->collector_config);
  gateway_options.cert_file = agent_mqtt.value("cert_file", "");
  gateway_options.key_file = agent_mqtt.value("key_file", "");
  gateway_options.topic = topic;
  gateway_options.user = ::getuid() == 0 ? "root" : "";
  if (tuned) {
    gateway_options.autosave_interval_s = 1;
    gateway_options.max_queued_messages = 0;
    gateway_options.max_inflight_messages = kTunedInflight;
  }
  auto config = write_gateway_config(gateway_options);
  if (!config) return failure(config.error().message);

  aisle::mqtt::ClientOptions sink_options;
  sink_options.uri = env->mqtt;
  sink_options.client_id = "diy-sink";
  sink_options.ca_file = env->ca_file;
  sink_options.cert_file = collector_mqtt.value("cert_file", "");
  sink_options.key_file = collector_mqtt.value("key_file", "");
  sink_options.protocol = aisle::mqtt::Protocol::kV311;
  sink_options.connect_timeout = std::chrono::seconds(2);
  sink_options.persistent_session = true;
  DiySink sink(sink_options, topic, dir + "/data/sink.db");
  if (auto s = sink.start(); !s) return failure("sink: " + s.error().message);

  OwnedProcess gateway{{mosquitto_binary(), "-c", *config},
                       gateway_options.dir + "/gateway.out",
                       gateway_options.port};
  if (auto s = gateway.start(); !s) return failure("gateway broker: " + s.error().message);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the bridge and the sink connect

  Faults faults;
  faults.kill_gateway = [&] { gateway.kill9(); };
  faults.restart_gateway = [&] { (void)gateway.start(); };
  faults.stop_central = [&] { central.stop(); };
  faults.restart_central = [&] { (void)central.start(); };
  std::vector<std::uint8_t> accepted;
  Outcome outcome = run_traffic(
      args, scenario, traffic,
      mqtt_senders("tcp://127.0.0.1:" + std::to_string(gateway_options.port), topic, Millis(5000)),
      faults, [&] { return static_cast<std::size_t>(sink.distinct()); }, accepted);
  gateway.stop();
  sink.stop();
  central.stop();
  account(traffic, accepted, sink.counts(), outcome);
  return outcome;
}

// --- the table ---------------------------------------------------------------------------------

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

template <typename Get>
std::string per_run(const std::vector<Outcome>& outcomes, Get get) {
  std::string out;
  for (const auto& o : outcomes) {
    if (!out.empty()) out += " / ";
    out += o.ok ? std::to_string(get(o)) : "failed";
  }
  return out;
}

void print_table(
    const Args& args,
    const std::map<std::pair<std::string, std::string>, std::vector<Outcome>>& results) {
  std::printf(
      "\n| scenario | gateway | accepted/s at the gateway (median) | stored/s end to end "
      "(median) | last event stored after (median) | accepted (per run) | lost (per "
      "run) | duplicates stored (per run) | stored though not acknowledged (per run) | "
      "redeliveries dropped by the collector (per run) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& scenario : args.scenarios) {
    for (const auto& variant : args.variants) {
      const auto it = results.find({scenario, variant});
      if (it == results.end()) continue;
      std::vector<double> accept, stored, deliver;
      for (const auto& o : it->second) {
        if (!o.ok) continue;
        accept.push_back(o.accept_rate);
        stored.push_back(o.stored_rate);
        deliver.push_back(o.deliver_s);
      }
      std::printf("| %s | %s | %.0f | %.0f | %.1f s | %s | %s | %s | %s | %s |\n", scenario.c_str(),
                  variant.c_str(), median(accept), median(stored), median(deliver),
                  per_run(it->second, [](const Outcome& o) { return o.accepted; }).c_str(),
                  per_run(it->second, [](const Outcome& o) { return o.lost; }).c_str(),
                  per_run(it->second, [](const Outcome& o) { return o.duplicates; }).c_str(),
                  per_run(it->second, [](const Outcome& o) { return o.unacked_stored; }).c_str(),
                  variant == "aisle"
                      ? per_run(it->second, [](const Outcome& o) { return o.redelivered; }).c_str()
                      : "n/a");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: compare_bench [--events N] [--rate R] [--runs K] [--outage S] "
                 "[--down S] [--settle S] [--threads T] [--chunk C] "
                 "[--scenarios throughput,kill,outage,outage-kill] "
                 "[--variants aisle,diy,diy-tuned] [--dir DIR] [--bin-dir DIR]\n");
    return 2;
  }
  aisle::log::set_level(aisle::log::Level::kError);
  const std::string root = std::filesystem::absolute(args.dir).string();
  std::printf(
      "compare_bench: %zu events per run, %.0f events/s in kill/outage, %d runs, "
      "%d producer threads x %zu events per POST/window, kill at 40%% (down %d s), "
      "central outage at 30%% (%d s)\n",
      args.events, args.rate, args.runs, args.threads, args.chunk, args.down_s, args.outage_s);
  std::map<std::pair<std::string, std::string>, std::vector<Outcome>> results;
  for (int run = 1; run <= args.runs; ++run) {
    auto traffic = make_store_traffic(args.events, "store-1", AISLE_SCHEMAS_SOURCE_DIR "/examples");
    if (!traffic) {
      std::fprintf(stderr, "traffic: %s\n", traffic.error().message.c_str());
      return 1;
    }
    for (const auto& scenario : args.scenarios) {
      for (const auto& variant : args.variants) {
        const std::string dir = root + "/" + variant + "-" + scenario;
        Outcome outcome;
        if (variant == "aisle")
          outcome = run_aisle(args, scenario, *traffic, dir);
        else if (variant == "diy")
          outcome = run_diy(args, scenario, *traffic, dir, false);
        else if (variant == "diy-tuned")
          outcome = run_diy(args, scenario, *traffic, dir, true);
        else
          outcome = failure("unknown variant " + variant);
        if (outcome.ok) {
          std::printf(
              "run %d %-10s %-9s accepted %zu (%.0f/s) stored %zu (%.0f/s, last after "
              "%.1f s) lost %zu duplicates %zu unacked-stored %zu redelivered %ld\n",
              run, scenario.c_str(), variant.c_str(), outcome.accepted, outcome.accept_rate,
              outcome.stored, outcome.stored_rate, outcome.deliver_s, outcome.lost,
              outcome.duplicates, outcome.unacked_stored, outcome.redelivered);
        } else {
          std::printf("run %d %-10s %-9s FAILED: %s\n", run, scenario.c_str(), variant.c_str(),
                      outcome.error.c_str());
        }
        std::fflush(stdout);
        results[{scenario, variant}].push_back(std::move(outcome));
      }
    }
  }
  print_table(args, results);
  return 0;
}
