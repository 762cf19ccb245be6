#include "common/aislectl/demo_command.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "common/aislectl/devenv.hpp"
#include "common/crypto.hpp"
#include "common/event_validator.hpp"
#include "common/schema/registry.hpp"
#include "common/signal_waiter.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"

namespace aisle::ctl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kUsage =
    "Usage: aislectl demo [--dir DIR] [--stores N] [--seconds N] [--rate EVENTS_PER_S]\n"
    "                     [--bin-dir DIR] [--build-dir DIR]\n"
    "\n"
    "Runs Aisle end to end on embedded defaults: validates the bundled example events, creates a\n"
    "development CA and certificates, starts a TLS Mosquitto on loopback, the collector on SQLite\n"
    "and one agent per store, then sends shopper events to the agents (and web events to the\n"
    "collector) and prints a live summary. Stops on Ctrl-C, or after --seconds (default\n"
    "$DEMO_SECONDS, else 60; 0 runs until Ctrl-C), then waits until every accepted event\n"
    "is stored at the collector, verifies the counts and stops everything.\n"
    "State lives under --dir (default $AISLE_DEMO_DIR or ./aisle-demo), printed at start.\n"
    "Exit 0 when every accepted event arrived exactly once, 1 otherwise.\n";

struct Target {
  std::string name;  // "store-1" or "web"
  std::string host;
  int port = 0;
  std::string key;  // write key for the collector
  std::uint64_t sent = 0, accepted = 0, rejected = 0, failed_requests = 0;
};

bool split_url(const std::string& url, std::string& host, int& port) {
  const auto scheme = url.find("://");
  const std::string rest = scheme == std::string::npos ? url : url.substr(scheme + 3);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  host = rest.substr(0, colon);
  port = std::atoi(rest.c_str() + colon + 1);
  return port > 0;
}

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

// A fresh event from an example: new id, now, the target's store; the agent stamps the rest.
json make_event(const json& example, const std::string& store_id, UuidV7Generator& ids,
                std::mt19937& random) {
  json event = example;
  event["event_id"] = ids.next().to_string();
  event["occurred_at"] = format_rfc3339_ms(SystemClock::instance()->now_unix_ms());
  event.erase("received_at");
  event["source"].erase("agent_id");
  event["source"]["store_id"] = store_id;
  // 500 shoppers; when an event names the account too (identify, purchase), it is the account
  // of that same shopper, so identity resolution has people to find.
  const unsigned shopper = static_cast<unsigned>(random() % 500);
  if (event.contains("identities")) {
    json& identities = event["identities"];
    const std::string n = std::to_string(shopper);
    if (identities.contains("anonymous_id")) identities["anonymous_id"] = "anon-" + n;
    if (identities.contains("user_id")) identities["user_id"] = "cust-" + n;
    if (identities.contains("loyalty_id")) identities["loyalty_id"] = "LOY-" + n;
    if (identities.contains("email_sha256")) {
      identities["email_sha256"] = crypto::sha256_hex("shopper" + n + "@example.com");
    }
    if (identities.contains("session_id")) identities["session_id"] = "sess-" + n;
  }
  return event;
}

bool post(Target& target, const std::string& body) {
  httplib::Client client(target.host, target.port);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  httplib::Headers headers;
  if (!target.key.empty()) headers.emplace("Authorization", "Bearer " + target.key);
  auto result = client.Post("/v1/events", headers, body, "application/x-ndjson");
  if (!result || (result->status != 202 && result->status != 507)) {
    ++target.failed_requests;
    return false;
  }
  const json answer = json::parse(result->body, nullptr, false);
  target.accepted += answer.value("accepted", 0);
  target.rejected += answer.value("rejected", json::array()).size();
  return true;
}

json get_json(const std::string& host, int port, const std::string& path, const std::string& key) {
  httplib::Client client(host, port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  httplib::Headers headers;
  if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
  auto result = client.Get(path, headers);
  if (!result || result->status != 200) return json::object();
  return json::parse(result->body, nullptr, false);
}

// One sample of a metric from Prometheus text (the first series of that name); 0 when absent.
double metric(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) == 0 && line.size() > name.size() &&
        (line[name.size()] == ' ' || line[name.size()] == '{')) {
      return std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
    }
  }
  return 0;
}

// What identity resolution made of the traffic, and one shopper's profile.
void print_profiles(const std::string& host, int port, const std::string& admin_key) {
  httplib::Client client(host, port);
  client.set_read_timeout(5);
  auto metrics = client.Get("/metrics");
  const std::string text = metrics && metrics->status == 200 ? metrics->body : "";
  std::cout << "\n== profiles: " << metric(text, "aisle_collector_profile_profiles")
            << " shoppers from " << metric(text, "aisle_collector_profile_identifiers")
            << " identifiers; " << metric(text, "aisle_collector_profile_merges_total")
            << " merges, consent version "
            << metric(text, "aisle_collector_profile_consent_version") << "\n";
  // The first of the 500 shoppers who logged in during the run (identify events are rarer).
  json profile;
  std::string shopper;
  for (int n = 0; n < 500 && !profile.contains("profile_id"); ++n) {
    shopper = "cust-" + std::to_string(n);
    profile = get_json(host, port, "/v1/profiles?identity=user_id:" + shopper, admin_key);
  }
  if (!profile.contains("profile_id")) return;
  std::cout << "   shopper " << shopper << " is profile " << profile.value("profile_id", "")
            << " with";
  for (const auto& id : profile.value("identifiers", json::array())) {
    std::cout << " " << id.value("type", "") << ":" << id.value("value", "").substr(0, 16);
  }
  std::cout << "\n   " << profile.value("counters", json::object()).dump() << "\n";
}

}  // namespace

int run_demo_command(const std::vector<std::string>& args) {
  std::string dir;
  if (const char* env = std::getenv("AISLE_DEMO_DIR"); env && *env) dir = env;
  int stores = 2;
  double seconds = 60;  // a quick start that ends by itself; 0 = until Ctrl-C
  if (const char* env = std::getenv("DEMO_SECONDS"); env && *env) seconds = std::atof(env);
  double rate = 200;
  DevEnvUpOptions up;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--dir" && has_value) dir = args[++i];
    else if (a == "--stores" && has_value) stores = std::max(1, std::atoi(args[++i].c_str()));
    else if (a == "--seconds" && has_value) seconds = std::atof(args[++i].c_str());
    else if (a == "--rate" && has_value) rate = std::max(1.0, std::atof(args[++i].c_str()));
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
  std::cout << "   broker   " << env->mqtt << " (mutual TLS, per-agent ACL)\n"
            << "   collector " << env->collector_http << "  (metrics: " << env->collector_http
            << "/metrics)\n";
  std::vector<Target> targets;
  for (const auto& agent : env->agents) {
    Target t;
    t.name = agent.store_id;
    split_url(agent.http, t.host, t.port);
    targets.push_back(t);
    std::cout << "   agent    " << agent.store_id << "/" << agent.agent_id << " " << agent.http
              << "\n";
  }
  Target web;
  web.name = "web";
  split_url(env->collector_http, web.host, web.port);
  web.key = env->write_key;
  std::string collector_host;
  int collector_port = 0;
  split_url(env->collector_http, collector_host, collector_port);

  std::cout << "\n== 3. traffic: ~" << rate << " events/s per store"
            << (seconds > 0 ? ", for " + std::to_string(static_cast<int>(seconds)) + " s"
                            : ", until Ctrl-C")
            << "\n";
  UuidV7Generator ids;
  std::mt19937 random(42);
  // Store devices send the store-channel examples; the web and mobile ones go to the collector.
  std::vector<const json*> store_examples;
  for (const auto& example : examples) {
    const std::string channel = example["source"].value("channel", "");
    if (channel != "web" && channel != "mobile") store_examples.push_back(&example);
  }
  const auto started = std::chrono::steady_clock::now();
  auto next_report = started;
  auto next_round = started;
  bool sent_bad = false;
  bool interrupted = false;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - started).count();
    if (seconds > 0 && elapsed >= seconds) break;
    // One round every 100 ms: rate/10 events per store as one NDJSON request.
    for (auto& target : targets) {
      std::string body;
      const int count = std::max(1, static_cast<int>(rate / 10));
      for (int i = 0; i < count && !store_examples.empty(); ++i) {
        const json& example = *store_examples[random() % store_examples.size()];
        body += make_event(example, target.name, ids, random).dump() + "\n";
        ++target.sent;
      }
      if (!sent_bad) {
        body += R"({"type":"purchase","occurred_at":"2026-11-28T10:00:00Z","source":{"store_id":")" +
                target.name + R"(","channel":"pos"},"properties":{"order_id":"broken"}})" "\n";
        ++target.sent;
      }
      if (!body.empty()) post(target, body);
    }
    sent_bad = true;
    {
      std::string body;
      for (const auto& example : examples) {
        const std::string channel = example["source"].value("channel", "");
        if (channel != "web" && channel != "mobile") continue;
        body += make_event(example, example["source"].value("store_id", "web"), ids, random).dump() +
                "\n";
        ++web.sent;
      }
      if (!body.empty()) post(web, body);
    }
    if (now >= next_report) {
      next_report = now + std::chrono::seconds(3);
      const json status = get_json(collector_host, collector_port, "/v1/status", "");
      std::printf("   t=%5.1fs", elapsed);
      for (const auto& t : targets) {
        const json agent = get_json(t.host, t.port, "/v1/status", "");
        std::printf("  %s: accepted %llu backlog %llu", t.name.c_str(),
                    static_cast<unsigned long long>(t.accepted),
                    static_cast<unsigned long long>(agent.value("outbox", json::object())
                                                        .value("events", 0ULL)));
      }
      std::printf("  web: accepted %llu  | collector: stored %llu quarantined %llu\n",
                  static_cast<unsigned long long>(web.accepted),
                  static_cast<unsigned long long>(status.value("events_stored", 0ULL)),
                  static_cast<unsigned long long>(status.value("quarantined", 0ULL)));
      std::fflush(stdout);
    }
    // Rounds on a fixed 100 ms cadence, so the time spent posting does not lower the rate.
    next_round += std::chrono::milliseconds(100);
    const auto wait = std::max(std::chrono::milliseconds(1),
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   next_round - std::chrono::steady_clock::now()));
    if (signals.wait(wait) == SignalEvent::kTerminate) {
      interrupted = true;
      break;
    }
  }

  std::uint64_t accepted = web.accepted, rejected = web.rejected, failed = web.failed_requests;
  for (const auto& t : targets) {
    accepted += t.accepted;
    rejected += t.rejected;
    failed += t.failed_requests;
  }
  std::cout << "\n== 4. " << (interrupted ? "interrupted; " : "") << "draining: waiting until the "
            << accepted << " accepted events are committed at the collector\n";
  std::uint64_t stored = 0, quarantined = 0;
  const auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < drain_deadline) {
    const json status = get_json(collector_host, collector_port, "/v1/status", "");
    stored = status.value("events_stored", 0ULL);
    quarantined = status.value("quarantined", 0ULL);
    if (stored >= accepted && quarantined >= rejected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const json sample = get_json(collector_host, collector_port, "/v1/quarantine?limit=1",
                               env->admin_key);
  if (sample.contains("entries") && !sample["entries"].empty()) {
    const auto& e = sample["entries"][0];
    std::cout << "   quarantined at the edge and forwarded: reason=" << e.value("reason", "")
              << " store=" << e.value("store_id", "") << " first error: "
              << e["errors"][0].value("path", "") << ": " << e["errors"][0].value("message", "")
              << "\n";
  }
  const bool exact = stored == accepted && quarantined == rejected && failed == 0;
  std::cout << "   accepted " << accepted << ", stored " << stored << " at the collector; rejected "
            << rejected << ", quarantined " << quarantined << "; failed requests " << failed
            << (exact ? "  -> every accepted event arrived exactly once\n"
                      : "  -> MISMATCH (see logs in " + dir + "/log)\n");
  print_profiles(collector_host, collector_port, env->admin_key);
  std::cout << "\n== 5. stopping (state and logs stay in " << dir << ")\n";
  if (auto status = devenv_down(dir, {}); !status) {
    std::cerr << "aislectl demo: " << status.error().message << "\n";
  }
  return exact ? 0 : 1;
}

}  // namespace aisle::ctl
