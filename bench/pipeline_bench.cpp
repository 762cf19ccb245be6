// pipeline_bench: the whole store-and-forward path with real processes (docs/BENCHMARKS.md).
//
//   pipeline_bench [events=1000000] [latency_rate=5000] [latency_seconds=20] [dir]
//
// Uses `aislectl devenv` (in-process API): a TLS Mosquitto, aisle-collector and one aisle-agent
// (durability full everywhere), all on loopback, all on this machine.
// 1. RSS of the idle agent.
// 2. Backlog drain: the broker is stopped, `events` purchase events are posted to the agent
//    (POSTs of 1,000), the broker is started again, and the time until the collector has
//    committed all of them (and the agent's outbox is empty) gives events/s. Agent RSS is
//    sampled while draining.
// 3. End-to-end latency at a steady `latency_rate` events/s (a POST of rate/100 events every
//    10 ms): POST at the agent (received_at) to commit at the collector (ingested_at), read from
//    the collector's database afterwards; p50/p99.
#include <httplib.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/aislectl/devenv.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/process.hpp"
#include "common/uuid.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

int pid_of(const std::string& dir, const std::string& part) {
  auto pid = aisle::read_pid_file(dir + "/run/" + part + ".pid");
  return pid ? static_cast<int>(*pid) : 0;
}

json stored_status(httplib::Client& collector) {
  auto r = collector.Get("/v1/status");
  return r && r->status == 200 ? json::parse(r->body) : json::object();
}

json purchase_template() {
  std::ifstream in(std::string(AISLE_SCHEMAS_SOURCE_DIR) + "/examples/purchase.json");
  json e = json::parse(in);
  e["source"] = {{"store_id", "store-1"}, {"channel", "pos"}, {"device_id", "pos-1"}};
  e.erase("received_at");
  return e;
}

std::string body_of(const json& templ, aisle::UuidV7Generator& ids, int count) {
  std::string body;
  for (int i = 0; i < count; ++i) {
    json e = templ;
    e["event_id"] = ids.next().to_string();
    body += e.dump();
    body += '\n';
  }
  return body;
}

bool split(const std::string& url, std::string& host, int& port) {
  const auto colon = url.rfind(':');
  if (colon == std::string::npos) return false;
  host = url.substr(url.find("://") + 3, colon - url.find("://") - 3);
  port = std::atoi(url.c_str() + colon + 1);
  return true;
}

std::vector<double> latencies_ms(const std::string& db_path, std::int64_t since_ms) {
  std::vector<double> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return out;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT ingested_at - received_at FROM events WHERE received_at >= ?1",
                     -1, &stmt, nullptr);
  sqlite3_bind_int64(stmt, 1, since_ms);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out.push_back(static_cast<double>(sqlite3_column_int64(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  std::sort(out.begin(), out.end());
  return out;
}

// Events committed at or after `since_ms` (collector clock), and the first and last commit
// time among them: the drain rate without the broker restart and reconnect backoff.
struct CommitSpan {
  long events = 0;
  std::int64_t first_ms = 0;
  std::int64_t last_ms = 0;
};

CommitSpan commit_span(const std::string& db_path, std::int64_t since_ms) {
  CommitSpan span;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return span;
  }
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT count(*), min(ingested_at), max(ingested_at) FROM events "
                     "WHERE ingested_at >= ?1",
                     -1, &stmt, nullptr);
  sqlite3_bind_int64(stmt, 1, since_ms);
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    span.events = static_cast<long>(sqlite3_column_int64(stmt, 0));
    span.first_ms = sqlite3_column_int64(stmt, 1);
    span.last_ms = sqlite3_column_int64(stmt, 2);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return span;
}

}  // namespace

int main(int argc, char** argv) {
  const long events = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  const int rate = argc > 2 ? std::atoi(argv[2]) : 5000;
  const int latency_seconds = argc > 3 ? std::atoi(argv[3]) : 20;
  const std::string dir = std::filesystem::absolute(argc > 4 ? argv[4] : "pipeline-bench").string();
  aisle::log::set_level(aisle::log::Level::kWarn);
  (void)aisle::ctl::devenv_down(dir, {});
  aisle::ctl::DevEnvInitOptions init;
  init.force = true;
  auto env = aisle::ctl::devenv_init(dir, init);
  if (!env) {
    std::fprintf(stderr, "devenv init: %s\n", env.error().message.c_str());
    return 1;
  }
  {
    // A million purchase events (~1.3 KB each) exceed the default 256 MiB outbox quota.
    std::ifstream in(env->agents[0].config);
    json config = json::parse(in, nullptr, true, /*ignore_comments=*/true);
    config["outbox"]["max_bytes"] = "8GiB";
    config["outbox"]["hard_max_bytes"] = "8GiB";
    config["outbox"]["max_rows"] = 100000000;
    std::ofstream(env->agents[0].config) << config.dump(2);
  }
  aisle::ctl::DevEnvUpOptions up;
  up.bin_dir = AISLE_BINARY_DIR;
  if (auto s = aisle::ctl::devenv_up(dir, up); !s) {
    std::fprintf(stderr, "devenv up: %s\n", s.error().message.c_str());
    return 1;
  }
  std::string agent_host, collector_host;
  int agent_port = 0, collector_port = 0;
  split(env->agents[0].http, agent_host, agent_port);
  split(env->collector_http, collector_host, collector_port);
  httplib::Client collector(collector_host, collector_port);
  const int agent_pid = pid_of(dir, "agent-1");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::printf("pipeline_bench: 1 agent, TLS Mosquitto, collector; durability full\n");
  std::printf("  agent RSS idle: %.1f MB\n", rss_kib(agent_pid) / 1024.0);

  // --- 2. backlog drain ---
  const int broker_pid = pid_of(dir, "mosquitto");
  (void)aisle::terminate(broker_pid, std::chrono::milliseconds(5000));
  const json templ = purchase_template();
  aisle::UuidV7Generator ids;
  const auto post_started = Clock::now();
  std::atomic<long> accepted{0};
  {
    constexpr int kClients = 4;
    std::vector<std::thread> clients;
    for (int t = 0; t < kClients; ++t) {
      clients.emplace_back([&, t] {
        aisle::UuidV7Generator local_ids;
        httplib::Client client(agent_host, agent_port);
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);
        client.set_read_timeout(120);
        for (long sent = t * 1000L; sent < events; sent += kClients * 1000L) {
          auto r = client.Post("/v1/events", body_of(templ, local_ids, 1000), "application/x-ndjson");
          if (r && r->status == 202) accepted += json::parse(r->body)["accepted"].get<long>();
        }
      });
    }
    for (auto& c : clients) c.join();
  }
  const double post_seconds = std::chrono::duration<double>(Clock::now() - post_started).count();
  std::printf("  backlog built through the agent process: %ld events in %.1f s (%.0f events/s, "
              "client generating JSON on the same 2 cores)\n",
              accepted.load(), post_seconds, accepted / post_seconds);
  const long stored_before = stored_status(collector).value("events_stored", 0L);
  const auto drain_started = Clock::now();
  const std::int64_t drain_started_unix_ms = aisle::SystemClock::instance()->now_unix_ms();
  if (auto s = aisle::ctl::devenv_up(dir, up); !s) {
    std::fprintf(stderr, "devenv up (broker): %s\n", s.error().message.c_str());
    return 1;
  }
  long max_rss = 0;
  long stored = stored_before;
  while (std::chrono::duration<double>(Clock::now() - drain_started).count() < 600) {
    max_rss = std::max(max_rss, rss_kib(agent_pid));
    stored = stored_status(collector).value("events_stored", 0L);
    if (stored - stored_before >= accepted) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double drain_seconds = std::chrono::duration<double>(Clock::now() - drain_started).count();
  std::printf("  drain of %ld events agent -> broker (TLS) -> collector, committed and acked: "
              "%.1f s = %.0f events/s (includes broker start and reconnect backoff)\n",
              stored - stored_before, drain_seconds, (stored - stored_before) / drain_seconds);
  const CommitSpan span = commit_span(dir + "/data/collector.db", drain_started_unix_ms);
  const double span_seconds = static_cast<double>(span.last_ms - span.first_ms) / 1000.0;
  if (span.events > 0 && span_seconds > 0) {
    std::printf("  drain, first to last commit at the collector: %ld events in %.1f s = %.0f "
                "events/s (reconnect took %.1f s)\n",
                span.events, span_seconds, static_cast<double>(span.events) / span_seconds,
                static_cast<double>(span.first_ms - drain_started_unix_ms) / 1000.0);
  }
  std::printf("  agent RSS while draining: max %.1f MB\n", max_rss / 1024.0);

  // --- 3. latency at a steady rate ---
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::int64_t since = aisle::SystemClock::instance()->now_unix_ms();
  {
    httplib::Client client(agent_host, agent_port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    const int per_tick = std::max(1, rate / 100);
    auto next = Clock::now();
    const auto end = next + std::chrono::seconds(latency_seconds);
    while (Clock::now() < end) {
      client.Post("/v1/events", body_of(templ, ids, per_tick), "application/x-ndjson");
      next += std::chrono::milliseconds(10);
      std::this_thread::sleep_until(next);
    }
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto lat = latencies_ms(dir + "/data/collector.db", since);
  if (!lat.empty()) {
    std::printf("  end-to-end latency at %d events/s, POST at the agent -> committed at the "
                "collector (%zu events): p50 %.0f ms, p99 %.0f ms, max %.0f ms (ms resolution)\n",
                rate, lat.size(), lat[lat.size() / 2], lat[lat.size() * 99 / 100], lat.back());
  }
  std::printf("  agent RSS after the run: %.1f MB\n", rss_kib(agent_pid) / 1024.0);
  (void)aisle::ctl::devenv_down(dir, {});
  return 0;
}
