// aisle-soak: the end-to-end guarantee under sustained load and repeated crashes.
//
// Starts a complete installation in a temporary directory (the devenv: TLS Mosquitto, collector,
// one agent per store), posts events with unique ids to the agents at a steady rate for
// --duration, and every --kill-every SIGKILLs one part in rotation (agent, broker, collector),
// restarting it --down-for later. Then it stops the producers, lets the pipeline drain, and reads
// the collector's database: every event answered 202 must be stored exactly once, and nothing
// else. The RSS of every agent and of the collector is sampled throughout, and just before each
// SIGKILL. Memory is flat when the median of the last quarter is within 10% + 5 MiB of the second
// quarter's — over the samples for a part never killed, over the RSS at the end of each life
// for a part that was (a restarted process starts from nothing; lives of equal length compare).
//
//   aisle-soak --duration 1h --rate 200 --kill-every 60s     (make soak)
//   aisle-soak --duration 150s --rate 200 --kill-every 15s   (ctest fault:soak-short)
//
// Exit status: 0 all held; 1 a violation (loss, duplicates, an unexpected answer, no drain,
// memory growth); 2 bad arguments; 3 the environment could not be set up. docs/operations.md,
// "Soak test".
#define CATCH_CONFIG_RUNNER  // the support library's failure listener needs Catch's symbols
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/uuid.hpp"
#include "tests/support/collector_db.hpp"
#include "tests/support/event_factory.hpp"
#include "tests/support/pipeline_env.hpp"
#include "tests/support/producer.hpp"

namespace aisle::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kUsage =
    "Usage: aisle-soak [--duration DUR] [--rate EVENTS_PER_S] [--kill-every DUR] [--down-for DUR]\n"
    "                  [--stores N] [--sample-every DUR] [--drain-timeout DUR]\n"
    "  DUR is a number with s, m or h (90s, 10m, 1h).\n"
    "  --duration      how long producers post (default 10m)\n"
    "  --rate          events per second over all stores (default 200)\n"
    "  --kill-every    SIGKILL one part, in rotation agent / broker / collector (default 60s;\n"
    "                  0 = never)\n"
    "  --down-for      how long a killed part stays down (default 3s)\n"
    "  --stores        stores, one agent each (default 1)\n"
    "  --sample-every  RSS sampling period (default 5s)\n"
    "  --drain-timeout how long the pipeline may take to drain at the end (default 180s)\n";

struct SoakOptions {
  milliseconds duration{600000};
  double rate = 200;
  milliseconds kill_every{60000};
  milliseconds down_for{3000};
  int stores = 1;
  milliseconds sample_every{5000};
  milliseconds drain_timeout{180000};
};

std::optional<milliseconds> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    return std::nullopt;
  }
  const std::string unit = text.substr(used);
  const double factor = unit == "ms"                  ? 1
                        : unit == "s" || unit.empty() ? 1000
                        : unit == "m"                 ? 60000
                        : unit == "h"                 ? 3600000
                                                      : -1;
  if (factor < 0 || value < 0) return std::nullopt;
  return milliseconds(static_cast<std::int64_t>(value * factor));
}

std::optional<SoakOptions> parse_args(const std::vector<std::string>& args, std::string& error) {
  SoakOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) {
      error = flag + " needs a value";
      return std::nullopt;
    }
    const std::string& value = args[++i];
    std::optional<milliseconds> duration;
    if (flag == "--duration" || flag == "--kill-every" || flag == "--down-for" ||
        flag == "--sample-every" || flag == "--drain-timeout") {
      duration = parse_duration(value);
      if (!duration) {
        error = flag + ": not a duration: " + value;
        return std::nullopt;
      }
    }
    if (flag == "--duration") {
      o.duration = *duration;
    } else if (flag == "--kill-every") {
      o.kill_every = *duration;
    } else if (flag == "--down-for") {
      o.down_for = *duration;
    } else if (flag == "--sample-every") {
      o.sample_every = std::max(*duration, milliseconds(100));
    } else if (flag == "--drain-timeout") {
      o.drain_timeout = *duration;
    } else if (flag == "--rate") {
      o.rate = std::atof(value.c_str());
      if (o.rate <= 0) {
        error = "--rate must be a positive number of events per second";
        return std::nullopt;
      }
    } else if (flag == "--stores") {
      o.stores = std::atoi(value.c_str());
      if (o.stores < 1 || o.stores > 16) {
        error = "--stores must be 1..16";
        return std::nullopt;
      }
    } else {
      error = "unknown option " + flag;
      return std::nullopt;
    }
  }
  return o;
}

// Resident set size of `pid` in KiB (VmRSS), or nullopt when it is gone.
std::optional<long> rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return std::nullopt;
}

struct RssSample {
  double at_s = 0;
  long kib = 0;
};

long median_kib(std::vector<RssSample> samples) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end(),
            [](const RssSample& a, const RssSample& b) { return a.kib < b.kib; });
  return samples[samples.size() / 2].kib;
}

// One part's memory: flat when the last quarter's median is within 10% + 5 MiB of the second
// quarter's (the first quarter is warm-up: caches, SQLite pages, connection pools).
struct MemoryVerdict {
  long start_kib = 0;
  long end_kib = 0;
  long max_kib = 0;
  long second_quarter_median = 0;
  long last_quarter_median = 0;
  bool judged = false;
  bool flat = true;
};

// `samples`: the part's RSS over the run when it was never killed; else its RSS at the end of each
// life (just before each SIGKILL, and at the end), so that lives of equal length are compared
// like with like: a leak raises every life's end, bounded caches level off.
MemoryVerdict judge_memory(const std::vector<RssSample>& samples, std::size_t at_least) {
  MemoryVerdict v;
  if (samples.empty()) return v;
  v.start_kib = samples.front().kib;
  v.end_kib = samples.back().kib;
  for (const auto& s : samples) v.max_kib = std::max(v.max_kib, s.kib);
  const std::size_t n = samples.size();
  v.judged = n >= at_least;
  if (!v.judged) return v;  // too short to judge
  v.second_quarter_median = median_kib(
      {samples.begin() + static_cast<long>(n / 4), samples.begin() + static_cast<long>(n / 2)});
  v.last_quarter_median =
      median_kib({samples.begin() + static_cast<long>(3 * n / 4), samples.end()});
  v.flat = static_cast<double>(v.last_quarter_median) <=
           static_cast<double>(v.second_quarter_median) * 1.10 + 5 * 1024;
  return v;
}

std::string mib(long kib) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(kib) / 1024.0);
  return text;
}

int run_soak(const SoakOptions& o) {
  const auto log = [started = Clock::now()](const std::string& line) {
    const double t = std::chrono::duration<double>(Clock::now() - started).count();
    std::fprintf(stderr, "[soak %7.1fs] %s\n", t, line.c_str());
  };
  std::unique_ptr<PipelineEnv> env;
  try {
    env = std::make_unique<PipelineEnv>(
        PipelineEnvOptions{.stores = o.stores, .edit_agent = fast_agent_timers("3s")});
  } catch (const std::exception& e) {
    std::cerr << "aisle-soak: cannot set up the environment: " << e.what() << "\n";
    return 3;
  }
  log("environment up in " + env->dir());

  // Each store gets rate/stores events per second from two client threads posting batches of
  // a tenth of a second's worth of events, every 200 ms each.
  const double per_store = o.rate / o.stores;
  const auto batch = static_cast<std::size_t>(std::max(1.0, per_store / 10.0));
  const EventFactory factory;
  UuidV7Generator ids;
  std::vector<std::unique_ptr<Producer>> producers;
  std::vector<std::string> stores;
  for (int i = 0; i < o.stores; ++i) {
    stores.push_back("store-" + std::to_string(i + 1));
    producers.push_back(std::make_unique<Producer>(
        factory, ids,
        ProducerOptions{.url = env->env().agents[static_cast<std::size_t>(i)].http,
                        .store_id = stores.back(),
                        .threads = 2,
                        .events_per_request = batch,
                        .pause = milliseconds(200),
                        .give_up_after = seconds(60)}));
  }
  for (auto& p : producers) p->start();

  std::vector<std::string> parts;
  for (int i = 0; i < o.stores; ++i) parts.push_back("agent-" + std::to_string(i + 1));
  parts.push_back("collector");
  std::map<std::string, std::vector<RssSample>> rss;
  std::map<std::string, std::vector<RssSample>> life_ends;  // RSS just before each SIGKILL
  std::map<std::string, int> kills;
  std::vector<std::string> violations;
  // Rotation: agent-1, broker, collector, agent-2, broker, collector, ...
  std::vector<std::string> rotation;
  for (int i = 0; i < o.stores; ++i) {
    rotation.insert(rotation.end(), {"agent-" + std::to_string(i + 1), "mosquitto", "collector"});
  }

  const auto started = Clock::now();
  const auto end = started + o.duration;
  auto next_sample = started;
  auto next_kill = o.kill_every.count() > 0 ? started + o.kill_every : Clock::time_point::max();
  std::size_t kill_index = 0;
  std::uint64_t last_committed = 0;
  while (Clock::now() < end) {
    const auto now = Clock::now();
    if (now >= next_sample) {
      const double at = std::chrono::duration<double>(now - started).count();
      for (const auto& part : parts) {
        if (auto pid = env->pid(part)) {
          if (auto kib = rss_kib(*pid)) rss[part].push_back({at, *kib});
        }
      }
      std::uint64_t committed = 0;
      for (const auto& p : producers) committed += p->committed_so_far();
      std::ostringstream line;
      line << "accepted " << committed << " (+" << committed - last_committed << ")";
      for (const auto& part : parts) {
        if (!rss[part].empty()) line << ", " << part << " " << mib(rss[part].back().kib);
      }
      log(line.str());
      last_committed = committed;
      // After a kill's pause the schedule is behind: resume from now instead of catching up.
      next_sample = std::max(next_sample + o.sample_every, Clock::now());
    }
    if (now >= next_kill) {
      const std::string& part = rotation[kill_index++ % rotation.size()];
      if (auto pid = env->pid(part)) {
        if (auto kib = rss_kib(*pid)) {
          life_ends[part].push_back(
              {std::chrono::duration<double>(Clock::now() - started).count(), *kib});
        }
      }
      if (auto s = env->kill9(part); !s) {
        violations.push_back("cannot kill " + part + ": " + s.error().message);
      } else {
        ++kills[part];
        log("SIGKILL " + part);
        std::this_thread::sleep_for(o.down_for);
        if (auto up = env->up(); !up) {
          violations.push_back("restart after killing " + part + " failed: " + up.error().message);
          log(violations.back());
          break;
        }
        log(part + " restarted");
      }
      next_kill = Clock::now() + o.kill_every;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  const double posted_for = std::chrono::duration<double>(Clock::now() - started).count();
  for (const auto& part : parts) {
    if (auto pid = env->pid(part)) {
      if (auto kib = rss_kib(*pid)) life_ends[part].push_back({posted_for, *kib});
    }
  }

  log("stopping producers");
  if (auto up = env->up(); !up) violations.push_back("final restart failed: " + up.error().message);
  std::vector<std::string> accepted;
  std::vector<std::string> unknown;
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  for (auto& p : producers) {
    const ProducerResult r = p->stop();
    log(r.summary());
    requests += r.requests;
    retries += r.retries;
    accepted.insert(accepted.end(), r.accepted_ids.begin(), r.accepted_ids.end());
    unknown.insert(unknown.end(), r.unknown_ids.begin(), r.unknown_ids.end());
    for (const auto& e : r.errors) violations.push_back("unexpected answer: " + e);
  }

  log("draining " + std::to_string(accepted.size()) + " accepted events");
  std::string drain_state;
  const auto drain_started = Clock::now();
  const bool drained = wait_for_drain(*env, accepted.size(), 0, o.drain_timeout, &drain_state);
  const double drain_s = std::chrono::duration<double>(Clock::now() - drain_started).count();
  if (!drained) violations.push_back("not drained within the drain timeout: " + drain_state);

  ExactlyOnceReport report;
  auto snapshot = read_collector_db(env->collector_db());
  if (!snapshot) {
    violations.push_back("cannot read the collector database: " + snapshot.error().message);
  } else {
    report = check_exactly_once(accepted, unknown, event_ids(snapshot->events, stores));
    if (!report.ok()) violations.push_back("exactly-once violated: " + report.describe());
  }

  std::ostringstream summary;
  const std::size_t duplicates = report.stored - report.stored_distinct;
  summary << "==== aisle-soak summary ====\n"
          << "posted for        " << static_cast<long>(posted_for) << " s at a target of " << o.rate
          << " events/s over " << o.stores << " store(s)\n"
          << "events accepted   " << accepted.size() << " ("
          << static_cast<long>(static_cast<double>(accepted.size()) / std::max(1.0, posted_for))
          << "/s), requests " << requests << ", retried attempts " << retries
          << ", unanswered at stop " << unknown.size() << "\n"
          << "kills             ";
  int total_kills = 0;
  for (const auto& [part, count] : kills) {
    summary << part << " " << count << "  ";
    total_kills += count;
  }
  summary << "(total " << total_kills << ")\n"
          << "drain             " << (drained ? "done" : "NOT DONE") << " in "
          << static_cast<long>(drain_s) << " s\n"
          << "stored            " << report.stored << " rows, " << report.stored_distinct
          << " distinct\n"
          << "lost              " << report.missing.size() << "\n"
          << "duplicates        " << duplicates << "\n"
          << "unexpected        " << report.extra.size() << "\n";
  for (const auto& part : parts) {
    const bool restarted = kills.count(part) > 0;
    const MemoryVerdict all = judge_memory(rss[part], 8);
    const MemoryVerdict v = restarted ? judge_memory(life_ends[part], 4) : all;
    summary << "rss " << part << std::string(14 - std::min<std::size_t>(13, part.size()), ' ')
            << "start " << mib(all.start_kib) << ", end " << mib(all.end_kib) << ", max "
            << mib(all.max_kib) << " (" << rss[part].size() << " samples); "
            << (restarted
                    ? "at the end of each of " + std::to_string(life_ends[part].size()) + " lives"
                    : std::string("over the run"))
            << ": median Q2 " << mib(v.second_quarter_median) << " -> Q4 "
            << mib(v.last_quarter_median) << ": "
            << (!v.judged ? "too short to judge"
                : v.flat  ? "flat"
                          : "GROWING")
            << "\n";
    if (v.judged && !v.flat) {
      violations.push_back(part + " memory grew: median " + mib(v.second_quarter_median) + " -> " +
                           mib(v.last_quarter_median));
    }
  }
  for (const auto& v : violations) summary << "VIOLATION: " << v << "\n";
  summary << "verdict           " << (violations.empty() ? "PASS" : "FAIL") << "\n";
  std::cout << summary.str() << std::flush;
  if (!violations.empty()) std::cerr << env->diagnostics(30);
  return violations.empty() ? 0 : 1;
}

}  // namespace
}  // namespace aisle::test

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << aisle::test::kUsage;
    return 0;
  }
  std::string error;
  const auto options = aisle::test::parse_args(args, error);
  if (!options) {
    std::cerr << "aisle-soak: " << error << "\n" << aisle::test::kUsage;
    return 2;
  }
  return aisle::test::run_soak(*options);
}
