#include "common/aislectl/demo_command.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/aislectl/demo_report.hpp"
#include "common/aislectl/devenv.hpp"
#include "common/sim/catalog.hpp"
#include "common/sim/sim_driver.hpp"
#include "common/sim/store_day.hpp"
#include "common/event_validator.hpp"
#include "common/schema/registry.hpp"
#include "common/signal_waiter.hpp"
#include "common/time_format.hpp"

namespace aisle::ctl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kUsage =
    "Usage: aislectl demo [--dir DIR] [--stores N] [--seconds N] [--speed X] [--shoppers N]\n"
    "                     [--seed N] [--bin-dir DIR] [--build-dir DIR]\n"
    "\n"
    "Runs Aisle end to end on embedded defaults: validates the bundled example events, creates a\n"
    "development CA and certificates, starts a TLS Mosquitto on loopback, the collector on SQLite\n"
    "and one agent per store with five device adapters (POS, door counters, BLE gateway, RFID and\n"
    "weight shelves), then runs the store simulator for every store at --speed (simulated seconds\n"
    "per second, default 10; --shoppers arrivals per hour at the peak, default 900): devices send\n"
    "frames through the agents' real transports, kiosks use the agents' HTTP API, the web shop\n"
    "posts to the collector. Prints a live summary; stops on Ctrl-C, or after --seconds (default\n"
    "$DEMO_SECONDS, else 60; 0 runs until Ctrl-C), then waits until every event the agents\n"
    "accepted is stored at the collector, verifies the counts and stops everything.\n"
    "State lives under --dir (default $AISLE_DEMO_DIR or ./aisle-demo), printed at start.\n"
    "Exit 0 when every accepted event arrived exactly once, 1 otherwise.\n";

std::vector<json> load_examples(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<json> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    json j = json::parse(in, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// Phase 1: every bundled example validates, as `aislectl schema check` would say.
bool check_examples(const std::string& schemas_dir, const std::vector<json>& examples) {
  auto registry = schema::Registry::load({schemas_dir});
  if (!registry) {
    std::cout << "schemas: " << registry.error().message << "\n";
    return false;
  }
  EventValidator validator(std::make_shared<schema::RegistryHolder>(*registry), {});
  std::cout << "== 1. schema registry: " << (*registry)->size() << " schemas; bundled examples:\n";
  bool all_valid = true;
  for (const auto& example : examples) {
    Event event;
    std::vector<schema::ValidationError> errors;
    const bool ok = validator.check_json(json(example), event, errors);
    all_valid = all_valid && ok;
    std::printf("   %-18s %-40s %s\n", example.value("type", "?").c_str(),
                example.value("schema", "").c_str(), ok ? "valid" : join_errors(errors).c_str());
  }
  // One deliberately broken event shows what producers get back.
  json broken = examples.empty() ? json::object() : examples.front();
  broken["properties"] = {{"unexpected", true}};
  Event event;
  std::vector<schema::ValidationError> errors;
  validator.check_json(std::move(broken), event, errors);
  std::cout << "   a broken event is answered with: " << join_errors(errors, 2) << "\n";
  return all_valid;
}

// One simulated store: its day, its driver and the thread sending its frames.
struct SimulatedStore {
  std::string store_id;
  HttpTarget agent;
  std::unique_ptr<sim::StoreDay> day;
  std::unique_ptr<sim::SimDriver> driver;
  std::thread thread;
};

// Counters summed over the stores, read for the live summary and the final check.
struct Totals {
  std::map<std::string, double> adapter_events;  // per adapter name, all agents
  double agent_accepted = 0, agent_rejected = 0, decode_errors = 0, backlog = 0;
  std::uint64_t kiosk_accepted = 0, web_accepted = 0, web_rejected = 0, failed = 0;
  std::uint64_t recs_served = 0, recs_not_found = 0, recs_failed = 0, clicks = 0;
};

Totals read_totals(const std::vector<SimulatedStore>& stores) {
  Totals t;
  for (const auto& store : stores) {
    const std::string metrics = http_get_text(store.agent, "/metrics");
    for (const char* adapter : {sim::kPosAdapter, sim::kCounterAdapter, sim::kBleAdapter,
                                sim::kRfidAdapter, sim::kWeightAdapter}) {
      t.adapter_events[adapter] += metric_sum(metrics, "aisle_agent_adapter_events_total",
                                              std::string("adapter=\"") + adapter + "\"");
    }
    t.agent_accepted += metric_sum(metrics, "aisle_agent_events_accepted_total");
    t.agent_rejected += metric_sum(metrics, "aisle_agent_events_rejected_total");
    t.decode_errors += metric_sum(metrics, "aisle_agent_adapter_decode_errors_total");
    const json status = http_get_json(store.agent, "/v1/status");
    if (status.is_object()) t.backlog += status.value("outbox", json::object()).value("events", 0.0);
    const sim::DriverStats d = store.driver->stats();
    t.kiosk_accepted += d.sinks[static_cast<int>(sim::Sink::kKiosk)].accepted;
    t.web_accepted += d.sinks[static_cast<int>(sim::Sink::kWeb)].accepted;
    t.web_rejected += d.sinks[static_cast<int>(sim::Sink::kWeb)].rejected;
    for (const auto& sink : d.sinks) t.failed += sink.failed;
    t.recs_served += d.recs_served;
    t.recs_not_found += d.recs_not_found;
    t.recs_failed += d.recs_failed;
    t.clicks += d.rec_clicks;
  }
  return t;
}

// Segment sizes, when the collector serves GET /v1/segments.
std::string segments_line(const HttpTarget& collector, const std::string& admin_key) {
  int status = 0;
  const json answer = http_get_json(collector, "/v1/segments", admin_key, &status);
  if (status != 200) return "segments: not served (HTTP " + std::to_string(status) + ")";
  const json list = answer.is_array() ? answer : answer.value("segments", json::array());
  std::string line = "segments:";
  if (list.empty()) line += " none defined";
  for (const auto& segment : list) {
    if (!segment.is_object()) continue;
    line += " " + segment.value("segment_id", segment.value("name", std::string("?"))) + "=";
    for (const char* key : {"size", "members", "member_count"}) {
      if (segment.contains(key) && segment[key].is_number()) {
        line += std::to_string(segment[key].get<long long>());
        break;
      }
    }
  }
  return line;
}

std::string recommendation_line(const std::vector<SimulatedStore>& stores) {
  for (const auto& store : stores) {
    const sim::DriverStats d = store.driver->stats();
    if (d.last_recommendation.is_null()) continue;
    const json& r = d.last_recommendation;
    std::string items;
    for (const char* key : {"items", "recommendations"}) {
      if (!r.contains(key) || !r[key].is_array()) continue;
      for (const auto& item : r[key]) {
        if (items.size() > 60) break;
        items += " " + (item.is_object() ? item.value("sku", item.value("item_id", std::string("?")))
                                         : item.dump());
      }
    }
    return "kiosk recommendation in " + store.store_id + " for " +
           d.last_recommendation_identity.substr(0, 24) + "..: mode " +
           r.value("mode", std::string("?")) + ", rec_id " + r.value("rec_id", std::string("?")) +
           "," + items;
  }
  return "";
}

void print_summary(double elapsed, double interval, const Totals& now, const Totals& before,
                   const HttpTarget& collector, const std::string& admin_key,
                   const std::vector<SimulatedStore>& stores) {
  auto rate = [&](double a, double b) { return (a - b) / std::max(interval, 0.001); };
  std::printf("   t=%5.1fs events/s:", elapsed);
  for (const auto& [adapter, n] : now.adapter_events) {
    const auto it = before.adapter_events.find(adapter);
    std::printf(" %s %.0f", adapter.c_str(), rate(n, it == before.adapter_events.end() ? 0 : it->second));
  }
  std::printf(" | kiosk-http %.0f web %.0f | backlog %.0f",
              rate(static_cast<double>(now.kiosk_accepted), static_cast<double>(before.kiosk_accepted)),
              rate(static_cast<double>(now.web_accepted), static_cast<double>(before.web_accepted)),
              now.backlog);
  const std::string metrics = http_get_text(collector, "/metrics");
  const json status = http_get_json(collector, "/v1/status");
  std::printf(" | collector stored %llu, %0.f profiles, %0.f merges\n",
              static_cast<unsigned long long>(
                  status.is_object() ? status.value("events_stored", 0ULL) : 0ULL),
              metric_sum(metrics, "aisle_collector_profile_profiles"),
              metric_sum(metrics, "aisle_collector_profile_merges_total"));
  std::printf("          %s | kiosk recs served %llu, 404 %llu, failed %llu, clicks %llu\n",
              segments_line(collector, admin_key).c_str(),
              static_cast<unsigned long long>(now.recs_served),
              static_cast<unsigned long long>(now.recs_not_found),
              static_cast<unsigned long long>(now.recs_failed),
              static_cast<unsigned long long>(now.clicks));
  if (const std::string rec = recommendation_line(stores); !rec.empty()) {
    std::printf("          %s\n", rec.c_str());
  }
  std::fflush(stdout);
}

// What identity resolution made of the traffic, and one shopper's merged profile.
void print_profiles(const HttpTarget& collector, const std::string& admin_key,
                    const sim::Catalog& catalog) {
  const std::string text = http_get_text(collector, "/metrics");
  std::cout << "\n== profiles: " << metric_sum(text, "aisle_collector_profile_profiles")
            << " shoppers from " << metric_sum(text, "aisle_collector_profile_identifiers")
            << " identifiers; " << metric_sum(text, "aisle_collector_profile_merges_total")
            << " merges, consent version "
            << metric_sum(text, "aisle_collector_profile_consent_version") << "\n";
  // The first customer who logged in on the web and whose profile joined several identifiers.
  json best;
  std::string shopper;
  for (std::size_t i = 0; i < catalog.customers.size() && i < 400; ++i) {
    const sim::Customer& c = catalog.customers[i];
    if (!c.has_app) continue;
    const json profile =
        http_get_json(collector, "/v1/profiles?identity=user_id:" + c.user_id, admin_key);
    if (!profile.is_object() || !profile.contains("profile_id")) continue;
    if (best.is_null() || profile.value("identifiers", json::array()).size() >
                              best.value("identifiers", json::array()).size()) {
      best = profile;
      shopper = c.user_id;
    }
    if (best.value("identifiers", json::array()).size() >= 4) break;
  }
  if (best.is_null()) return;
  std::cout << "   shopper " << shopper << " is profile " << best.value("profile_id", "") << " with";
  for (const auto& id : best.value("identifiers", json::array())) {
    std::cout << " " << id.value("type", "") << ":" << id.value("value", "").substr(0, 16);
  }
  std::cout << "\n   " << best.value("counters", json::object()).dump() << "\n";
}

}  // namespace

int run_demo_command(const std::vector<std::string>& args) {
  std::string dir;
  if (const char* env = std::getenv("AISLE_DEMO_DIR"); env && *env) dir = env;
  int stores = 2;
  double seconds = 60;  // a quick start that ends by itself; 0 = until Ctrl-C
  if (const char* env = std::getenv("DEMO_SECONDS"); env && *env) seconds = std::atof(env);
  double speed = 10;
  double shoppers = 900;
  std::uint64_t seed = 1;
  DevEnvUpOptions up;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--dir" && has_value) dir = args[++i];
    else if (a == "--stores" && has_value) stores = std::max(1, std::atoi(args[++i].c_str()));
    else if (a == "--seconds" && has_value) seconds = std::atof(args[++i].c_str());
    else if (a == "--speed" && has_value) speed = std::max(1.0, std::atof(args[++i].c_str()));
    else if (a == "--shoppers" && has_value) shoppers = std::max(1.0, std::atof(args[++i].c_str()));
    else if (a == "--seed" && has_value) seed = std::strtoull(args[++i].c_str(), nullptr, 10);
    else if (a == "--bin-dir" && has_value) up.bin_dir = args[++i];
    else if (a == "--build-dir" && has_value) up.bin_dir = args[++i] + "/bin";
    else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "aislectl demo: unknown argument " << a << "\n" << kUsage;
      return 2;
    }
  }
  if (dir.empty()) dir = "aisle-demo";
  dir = fs::absolute(dir).lexically_normal().string();
  SignalWaiter signals;  // before any thread: Ctrl-C arrives here, not as a kill

  const std::string schemas_dir = schema::default_schemas_dir();
  const std::vector<json> examples = load_examples(schemas_dir + "/examples");
  if (!check_examples(schemas_dir, examples)) return 1;

  std::cout << "\n== 2. local environment in " << dir << "\n";
  (void)devenv_down(dir, {});  // a previous run interrupted hard
  DevEnvInitOptions init;
  init.stores = stores;
  init.force = true;
  init.devices = true;
  init.catalog.seed = seed;
  init.device_speed = speed;
  auto env = devenv_init(dir, init);
  if (!env) {
    std::cerr << "aislectl demo: " << env.error().message << "\n";
    return 1;
  }
  if (auto status = devenv_up(dir, up); !status) {
    std::cerr << "aislectl demo: " << status.error().message << "\n";
    (void)devenv_down(dir, {});
    return 1;
  }
  HttpTarget collector;
  parse_http_target(env->collector_http, collector);
  std::cout << "   broker    " << env->mqtt << " (mutual TLS, per-agent ACL)\n"
            << "   collector " << env->collector_http << "  (metrics: " << env->collector_http
            << "/metrics)\n";
  int ui_status = 0;
  (void)http_get_json(collector, "/ui", "", &ui_status);
  if (ui_status == 200 || http_get_text(collector, "/ui").size() > 0) {
    std::cout << "   dashboard " << env->collector_http << "/ui\n";
  }

  const sim::Catalog catalog = sim::build_catalog(env->catalog);
  std::vector<SimulatedStore> simulated;
  const UnixMillis wall_start = SystemClock::instance()->now_unix_ms();
  for (std::size_t i = 0; i < env->agents.size(); ++i) {
    const DevEnvAgent& agent = env->agents[i];
    SimulatedStore store;
    store.store_id = agent.store_id;
    parse_http_target(agent.http, store.agent);
    sim::StoreDayOptions day;
    day.seed = seed * 1000 + i + 1;
    day.store_id = agent.store_id;
    day.loyalty_key = env->loyalty_key;
    day.speed = speed;
    day.start_hour = 11.5;
    day.wall_start = wall_start;
    day.peak_shoppers_per_hour = shoppers;
    store.day = std::make_unique<sim::StoreDay>(catalog, day);
    store.driver = std::make_unique<sim::SimDriver>(sim::DriverTargets{
        agent.http, env->collector_http, env->write_key, *agent.devices});
    if (auto s = store.driver->open(); !s) {
      std::cerr << "aislectl demo: " << s.error().message << "\n";
      (void)devenv_down(dir, {});
      return 1;
    }
    std::cout << "   agent     " << agent.store_id << "/" << agent.agent_id << " " << agent.http
              << "  devices: pos tcp:" << agent.devices->pos_tcp << ", counters "
              << (agent.devices->counter_serial.empty() ? "tcp:" + agent.devices->counter_tcp
                                                        : "serial:" + agent.devices->counter_serial)
              << ", BLE udp:" << agent.devices->ble_udp
              << ", RFID+weight files in " << fs::path(agent.devices->rfid_file).parent_path().string()
              << "\n";
    simulated.push_back(std::move(store));
  }

  std::cout << "\n== 3. simulated store day from 11:30 at " << speed << "x, "
            << shoppers << " shoppers/h at the peak"
            << (seconds > 0 ? ", for " + std::to_string(static_cast<int>(seconds)) + " s"
                            : ", until Ctrl-C")
            << "\n";
  std::atomic<bool> stop{false};
  for (auto& store : simulated) {
    store.thread = std::thread([&store, &stop] {
      sim::run_simulation(*store.day, *store.driver, {}, stop);
    });
  }
  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  Totals before;
  bool interrupted = false;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - started).count();
    if (seconds > 0 && elapsed >= seconds) break;
    if (now - last_report >= std::chrono::seconds(4)) {
      const Totals totals = read_totals(simulated);
      print_summary(elapsed, std::chrono::duration<double>(now - last_report).count(), totals,
                    before, collector, env->admin_key, simulated);
      before = totals;
      last_report = now;
    }
    if (signals.wait(std::chrono::milliseconds(200)) == SignalEvent::kTerminate) {
      interrupted = true;
      break;
    }
  }
  stop = true;
  for (auto& store : simulated) store.thread.join();

  // Devices have stopped; the decoders still emit what their timers owe (a beacon lost, a tag
  // gone past absent_ms) at their next ticks. Then nothing more is accepted.
  const sim::DeviceTiming timing = sim::device_timing(speed);
  std::this_thread::sleep_for(std::chrono::milliseconds(
      std::max(timing.ble_lost_ms, timing.rfid_absent_ms) + 2500));
  Totals totals = read_totals(simulated);
  std::cout << "\n== 4. " << (interrupted ? "interrupted; " : "")
            << "draining: waiting until the events the agents accepted ("
            << static_cast<std::uint64_t>(totals.agent_accepted) << ", device and kiosk) and the web's ("
            << totals.web_accepted << ") are committed at the collector\n";
  std::uint64_t stored = 0, quarantined = 0, accepted = 0, rejected = 0;
  const auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (true) {
    totals = read_totals(simulated);
    accepted = static_cast<std::uint64_t>(totals.agent_accepted) + totals.web_accepted;
    rejected = static_cast<std::uint64_t>(totals.agent_rejected) + totals.web_rejected;
    const json status = http_get_json(collector, "/v1/status");
    if (status.is_object()) {
      stored = status.value("events_stored", 0ULL);
      quarantined = status.value("quarantined", 0ULL);
    }
    if ((stored >= accepted && quarantined >= rejected) ||
        std::chrono::steady_clock::now() >= drain_deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  // Undecodable device frames travel as quarantine records too (one per frame, at most one per
  // decode error); the simulator sends none, so normally both are 0.
  const auto decode_errors = static_cast<std::uint64_t>(totals.decode_errors);
  const bool exact = stored == accepted && quarantined >= rejected &&
                     quarantined <= rejected + decode_errors && totals.failed == 0;
  std::cout << "   accepted " << accepted << " (agents " << static_cast<std::uint64_t>(totals.agent_accepted)
            << ", web " << totals.web_accepted << "), stored " << stored
            << " at the collector; rejected " << rejected << ", device frames undecodable "
            << decode_errors << ", quarantined " << quarantined << "; undelivered frames/events "
            << totals.failed
            << (exact ? "  -> every accepted event arrived exactly once\n"
                      : "  -> MISMATCH (see logs in " + dir + "/log)\n");

  std::vector<std::string> store_ids;
  for (const auto& store : simulated) store_ids.push_back(store.store_id);
  std::cout << "\n== events at the collector by source (sampled, up to 1000 per type and store):";
  for (const auto& [source, n] : collector_events_by_source(collector, env->admin_key, store_ids)) {
    std::cout << " " << source << "=" << n;
  }
  std::cout << "\n";
  for (const auto& store : simulated) {
    const sim::StoreDayStats& s = store.day->stats();
    std::cout << "   " << store.store_id << ": " << s.shoppers << " shoppers (" << s.known_shoppers
              << " known), " << s.receipts << " receipts, " << s.rfid_pickups << " RFID and "
              << s.weight_pickups << " weight pickups, " << s.putbacks << " put back, "
              << s.kiosk_visits << " kiosk sessions, " << s.web_sessions << " web sessions\n";
  }
  std::cout << "   " << segments_line(collector, env->admin_key) << "\n";
  std::cout << "   kiosk recommendations: served " << totals.recs_served << ", 404 "
            << totals.recs_not_found << ", failed " << totals.recs_failed << ", clicked "
            << totals.clicks << "\n";
  if (const std::string rec = recommendation_line(simulated); !rec.empty()) {
    std::cout << "   " << rec << "\n";
  }
  print_profiles(collector, env->admin_key, catalog);
  std::cout << "\n== 5. stopping (state and logs stay in " << dir << ")\n";
  if (auto status = devenv_down(dir, {}); !status) {
    std::cerr << "aislectl demo: " << status.error().message << "\n";
  }
  return exact ? 0 : 1;
}

}  // namespace aisle::ctl
