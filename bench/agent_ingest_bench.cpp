// agent_ingest_bench: the agent's ingest path (docs/BENCHMARKS.md).
//
//   agent_ingest_bench [directory] [seconds_per_run] [runs]
//
// 1. parse + validate of NDJSON purchase events on one core (EventValidator::check_text), and
//    nlohmann's parse alone for reference;
// 2. an in-process agent (real HTTP server, real SQLite outbox, durability full, no broker)
//    taking POSTs of 1,000 NDJSON events from 4 keep-alive clients: events/s;
// 3. single-event POSTs from one client: latency p50/p99.
// The outbox lives in `directory` (default: the current one; use the disk the agent will use).
// Medians of `runs` runs (default 5).
#include <httplib.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/agent.hpp"
#include "common/event_validator.hpp"
#include "bench/offline_uplink.hpp"
#include "common/log.hpp"
#include "common/schema/registry.hpp"
#include "common/uuid.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

using aisle::bench::OfflineUplink;

json purchase_template() {
  std::ifstream in(std::string(AISLE_SCHEMAS_SOURCE_DIR) + "/examples/purchase.json");
  json e = json::parse(in);
  e["source"] = {{"store_id", "store-1"}, {"channel", "pos"}, {"device_id", "pos-1"}};
  e.erase("received_at");
  return e;
}

std::string ndjson(const json& templ, aisle::UuidV7Generator& ids, int count) {
  std::string body;
  for (int i = 0; i < count; ++i) {
    json e = templ;
    e["event_id"] = ids.next().to_string();
    body += e.dump();
    body += '\n';
  }
  return body;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

json example_template(const std::string& name) {
  std::ifstream in(std::string(AISLE_SCHEMAS_SOURCE_DIR) + "/examples/" + name + ".json");
  json e = json::parse(in);
  e.erase("received_at");
  return e;
}

// One line per event shape: cost grows with the size of the event, and parsing dominates.
void parse_and_validate_one(const std::string& label, const json& templ, int runs) {
  auto registry = aisle::schema::Registry::load({AISLE_SCHEMAS_SOURCE_DIR});
  aisle::EventValidator validator(std::make_shared<aisle::schema::RegistryHolder>(*registry), {});
  aisle::UuidV7Generator ids;
  const std::string body = ndjson(templ, ids, 20000);
  auto records = aisle::split_records(body, aisle::BodyFormat::kNdjson);
  std::vector<double> record_rates, validate_rates, parse_rates;
  for (int run = 0; run < runs; ++run) {
    // The hot path (simdjson), with the properties text the outbox payload needs.
    double start = thread_cpu_seconds();
    std::size_t valid = 0;
    for (const auto& r : *records) {
      aisle::Event event;
      std::string properties;
      std::vector<aisle::schema::ValidationError> errors;
      valid += validator.check_record(r.text, event, &properties, errors);
    }
    record_rates.push_back(static_cast<double>(valid) / (thread_cpu_seconds() - start));
    // The nlohmann path (check_text): what invalid events and `aislectl schema check` take.
    start = thread_cpu_seconds();
    valid = 0;
    for (const auto& r : *records) {
      aisle::Event event;
      std::vector<aisle::schema::ValidationError> errors;
      valid += validator.check_text(r.text, event, errors);
    }
    validate_rates.push_back(static_cast<double>(valid) / (thread_cpu_seconds() - start));
    start = thread_cpu_seconds();
    std::size_t parsed = 0;
    for (const auto& r : *records) parsed += json::parse(r.text).is_object();
    parse_rates.push_back(static_cast<double>(parsed) / (thread_cpu_seconds() - start));
  }
  const std::size_t bytes = records->empty() ? 0 : (*records)[0].text.size();
  std::printf("  %s (%zu B), one core: check_record (simdjson) %9.0f events/s; check_text "
              "(nlohmann) %9.0f events/s; nlohmann parse alone %9.0f events/s\n",
              label.c_str(), bytes, median(record_rates), median(validate_rates),
              median(parse_rates));
}

void parse_and_validate(int runs) {
  parse_and_validate_one("purchase, 5 items", purchase_template(), runs);
  parse_and_validate_one("footfall", example_template("footfall"), runs);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string directory = argc > 1 ? argv[1] : ".";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  aisle::log::set_level(aisle::log::Level::kError);
  std::printf("agent_ingest_bench: median of %d runs\n", runs);
  parse_and_validate(runs);

  const std::string dir = directory + "/agent-ingest-bench";
  std::vector<double> batch_rates;
  std::vector<double> single_p50, single_p99;
  for (int run = 0; run < runs; ++run) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    aisle::agent::AgentConfig c;
    c.tenant = "acme";
    c.store_id = "store-1";
    c.agent_id = "agent-1";
    c.http.port = 0;
    c.http.threads = 8;
    c.schemas_builtin_dir = AISLE_SCHEMAS_SOURCE_DIR;
    c.outbox.path = dir + "/outbox.db";
    c.outbox.durability = aisle::agent::OutboxDurability::kFull;
    c.outbox.max_bytes = c.outbox.hard_max_bytes = 8ull << 30;
    c.outbox.max_rows = 100'000'000;
    c.critical_types = {"purchase"};
    c.shutdown_grace = std::chrono::milliseconds(0);
    auto agent = aisle::agent::Agent::create(c, nullptr, std::make_unique<OfflineUplink>());
    if (!agent || !(*agent)->start()) {
      std::fprintf(stderr, "cannot start the agent\n");
      return 1;
    }
    const int port = (*agent)->http_port();
    // Bodies are generated up front so the clients spend their time in HTTP, not in JSON.
    const json templ = purchase_template();
    constexpr int kClients = 4;
    std::vector<std::vector<std::string>> bodies(kClients);
    aisle::UuidV7Generator ids;
    const int bodies_per_client = static_cast<int>(std::max(20.0, seconds * 80));
    for (auto& list : bodies) {
      for (int i = 0; i < bodies_per_client; ++i) list.push_back(ndjson(templ, ids, 1000));
    }
    std::atomic<long> accepted{0};
    std::atomic<bool> failed{false};
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::duration<double>(seconds);
    std::vector<std::thread> clients;
    for (int t = 0; t < kClients; ++t) {
      clients.emplace_back([&, t] {
        httplib::Client client("127.0.0.1", port);
        client.set_tcp_nodelay(true);
        client.set_keep_alive(true);
        client.set_read_timeout(60);
        for (const auto& body : bodies[t]) {
          if (Clock::now() >= deadline) break;
          auto r = client.Post("/v1/events", body, "application/x-ndjson");
          if (!r || r->status != 202) {
            failed = true;
            break;
          }
          accepted += json::parse(r->body)["accepted"].get<long>();
        }
      });
    }
    for (auto& t : clients) t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    if (failed) std::fprintf(stderr, "a batched POST failed\n");
    batch_rates.push_back(static_cast<double>(accepted) / elapsed);

    httplib::Client client("127.0.0.1", port);
    client.set_tcp_nodelay(true);
    client.set_keep_alive(true);
    std::vector<double> latencies;
    for (int i = 0; i < 2000; ++i) {
      json e = templ;
      e["event_id"] = ids.next().to_string();
      const std::string body = e.dump();
      const auto t0 = Clock::now();
      auto r = client.Post("/v1/events", body, "application/json");
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      if (!r || r->status != 202) failed = true;
    }
    single_p50.push_back(quantile(latencies, 0.5));
    single_p99.push_back(quantile(latencies, 0.99));
    (*agent)->stop();
  }
  std::filesystem::remove_all(dir);
  std::printf("  agent HTTP ingest, POSTs of 1000 events, 4 clients, durability full: %9.0f events/s"
              "  (runs: min %.0f, max %.0f)\n",
              median(batch_rates), *std::min_element(batch_rates.begin(), batch_rates.end()),
              *std::max_element(batch_rates.begin(), batch_rates.end()));
  std::printf("  single-event POST latency, durability full: p50 %.2f ms, p99 %.2f ms\n",
              median(single_p50), median(single_p99));
  return 0;
}
