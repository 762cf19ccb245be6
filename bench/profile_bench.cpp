// profile_bench: identity resolution cost per event and profile lookup by identifier.
//
// Part 1 (in memory, the cost the issue budgets at <= 2 us per event): an IdentityGraph is built
// for N persons with 5 identifiers each (user_id, email_sha256 as 64 hex digits, anonymous_id,
// loyalty_id, device_id), i.e. 5N identifiers and N profiles (N = 2,000,000 by default: 10 M
// identifiers, 2 M profiles). Then runs of pre-generated events of known persons are resolved:
// "known" events carry 1-3 of the person's identifiers, "mixed" ones add a new session_id in half
// of them (a new node per event). Figures: median over runs of the mean ns per event; lookups
// (identifier -> profile id) median ns. Event generation is outside the timed region.
//
// Part 2 (ProfileService, with SQLite): apply() in batches of 500 events over a smaller
// population (--service-persons, default 100,000): per-event cost including the transaction,
// then lookup()/get() latency, and the time to reopen (load the graph from the file).
//
// Usage: profile_bench [--persons N] [--runs N] [--events N] [--service-persons N] [--dir DIR]
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "collector/profiles/identity_graph.hpp"
#include "collector/profiles/profile_service.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

namespace {

using aisle::Event;
using aisle::collector::profiles::GraphChanges;
using aisle::collector::profiles::IdentityGraph;
using aisle::collector::profiles::IdentityRules;
using aisle::collector::profiles::kNoProfile;
using aisle::collector::profiles::ProfileService;
using aisle::collector::profiles::ProfileServiceOptions;
using Clock = std::chrono::steady_clock;
using Ids = std::map<std::string, std::string>;

struct Settings {
  std::size_t persons = 2'000'000;
  int runs = 5;
  std::size_t events = 500'000;
  std::size_t service_persons = 100'000;
  std::string dir;
};

std::string hex64(std::uint64_t seed) {
  static const char* digits = "0123456789abcdef";
  std::string out(64, '0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < 64; ++i) {
    if (i % 16 == 0) x ^= x >> 31, x *= 0xBF58476D1CE4E5B9ull, x ^= x >> 27;
    out[i] = digits[(x >> ((i % 16) * 4)) & 15];
  }
  return out;
}

// The 5 identifiers of person p.
Ids person_ids(std::size_t p) {
  return {{"user_id", "cust-" + std::to_string(p)},
          {"email_sha256", hex64(p)},
          {"anonymous_id", "anon-" + std::to_string(p * 7919 % 1'000'000'007)},
          {"loyalty_id", "LOY-" + std::to_string(4'000'000'000ull + p)},
          {"device_id", "dev-" + std::to_string(p) + "-phone"}};
}

// The journey events that connect a person's identifiers.
std::vector<Ids> journey(std::size_t p) {
  Ids all = person_ids(p);
  return {{{"anonymous_id", all["anonymous_id"]}, {"device_id", all["device_id"]}},
          {{"anonymous_id", all["anonymous_id"]},
           {"user_id", all["user_id"]},
           {"email_sha256", all["email_sha256"]}},
          {{"loyalty_id", all["loyalty_id"]}, {"email_sha256", all["email_sha256"]}}};
}

std::vector<Ids> steady_events(std::size_t count, std::size_t persons, bool new_sessions,
                               std::mt19937_64& rng, std::size_t& session_counter) {
  std::vector<Ids> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t p = rng() % persons;
    Ids all = person_ids(p);
    std::vector<std::pair<std::string, std::string>> items(all.begin(), all.end());
    std::shuffle(items.begin(), items.end(), rng);
    const std::size_t n = 1 + rng() % 3;
    Ids ids(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n));
    if (new_sessions && rng() % 2 == 0)
      ids["session_id"] = "s-" + std::to_string(++session_counter);
    out.push_back(std::move(ids));
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

long rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) / 1024;
  }
  return -1;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of the calling thread: on a shared machine (other builds running) wall time mostly
// measures the wait for a core; CPU time is what the resolution costs.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int graph_part(const Settings& s) {
  auto created = IdentityGraph::create(IdentityRules::defaults());
  if (!created) return 1;
  IdentityGraph& g = **created;
  const long rss_before = rss_mib();
  g.reserve(s.persons * 5, s.persons * 5 * 30, s.persons);
  GraphChanges changes;
  auto start = Clock::now();
  for (std::size_t p = 0; p < s.persons; ++p) {
    for (const Ids& e : journey(p)) g.resolve(e, 1, changes);
    if (changes.touched_nodes.size() > 100000) changes.clear();
  }
  const double build_s = seconds_since(start);
  changes.clear();
  std::printf(
      "graph: %zu identifiers, %zu profiles, built in %.1f s (%.2f us per journey event "
      "incl. generation)\n",
      g.node_count(), g.live_profiles(), build_s, build_s * 1e6 / (3.0 * s.persons));
  std::printf(
      "graph memory: %.1f MiB by the graph's count (%.0f B per identifier, %.0f B per "
      "profile-equivalent), RSS grew by %ld MiB\n",
      g.memory_bytes() / 1048576.0,
      static_cast<double>(g.memory_bytes()) / static_cast<double>(g.node_count()),
      static_cast<double>(g.memory_bytes()) / static_cast<double>(g.live_profiles()),
      rss_mib() - rss_before);

  std::mt19937_64 rng(42);
  std::size_t sessions = 0;
  for (bool mixed : {false, true}) {
    std::vector<double> per_event_ns;
    std::vector<double> cpu_ns;
    for (int run = 0; run < s.runs; ++run) {
      const auto events = steady_events(s.events, s.persons, mixed, rng, sessions);
      const auto t0 = Clock::now();
      const double c0 = thread_cpu_seconds();
      for (const Ids& e : events) g.resolve(e, 2, changes);
      cpu_ns.push_back((thread_cpu_seconds() - c0) * 1e9 / static_cast<double>(events.size()));
      per_event_ns.push_back(seconds_since(t0) * 1e9 / static_cast<double>(events.size()));
      changes.clear();
    }
    std::printf(
        "resolve, %-38s median %5.0f ns/event CPU, %5.0f ns wall (%d runs x %zu events; "
        "CPU min %.0f, max %.0f)\n",
        mixed ? "known ids + new session_id in 50%:" : "known identifiers (1-3 per event):",
        median(cpu_ns), median(per_event_ns), s.runs, s.events,
        *std::min_element(cpu_ns.begin(), cpu_ns.end()),
        *std::max_element(cpu_ns.begin(), cpu_ns.end()));
  }
  // Lookup: identifier -> profile id, as the API's ?identity= does before reading the row.
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < 200000; ++i) {
    const std::size_t p = rng() % s.persons;
    keys.push_back("email_sha256:" + hex64(p));
  }
  std::vector<double> lookup_ns;
  std::vector<double> lookup_cpu_ns;
  std::size_t found = 0;
  for (int run = 0; run < s.runs; ++run) {
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    for (const auto& key : keys) {
      const std::uint32_t slot = g.profile_of(g.node(key));
      found += slot != kNoProfile && !g.profile_id(slot).empty();
    }
    lookup_cpu_ns.push_back((thread_cpu_seconds() - c0) * 1e9 / static_cast<double>(keys.size()));
    lookup_ns.push_back(seconds_since(t0) * 1e9 / static_cast<double>(keys.size()));
  }
  std::printf(
      "lookup identifier -> profile id: median %.0f ns CPU, %.0f ns wall (%zu found of "
      "%zu)\n",
      median(lookup_cpu_ns), median(lookup_ns), found,
      keys.size() * static_cast<std::size_t>(s.runs));
  return 0;
}

Event to_event(std::size_t n, Ids ids) {
  Event e;
  char id[40];
  std::snprintf(id, sizeof id, "018bcfe5-6800-7000-8000-%012zu", n);
  e.event_id = id;
  e.type = "page_view";
  e.schema = "aisle/page_view/jsonschema/1-0-0";
  e.occurred_at = 1'760'000'000'000 + static_cast<aisle::UnixMillis>(n);
  e.source.store_id = "store-" + std::to_string(n % 50);
  e.identities = std::move(ids);
  return e;
}

int service_part(const Settings& s) {
  const std::filesystem::path dir =
      std::filesystem::path(s.dir.empty() ? std::filesystem::temp_directory_path().string()
                                          : s.dir) /
      ("profile_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  aisle::metrics::Registry metrics;
  ProfileServiceOptions options;
  options.path = (dir / "profiles.db").string();
  auto opened = ProfileService::open(options, aisle::SystemClock::instance(), metrics);
  if (!opened) {
    std::fprintf(stderr, "open failed: %s\n", opened.error().message.c_str());
    return 1;
  }
  auto service = std::move(*opened);
  constexpr std::size_t kBatch = 500;
  std::size_t n = 0;
  auto apply_all = [&](std::vector<Event>& events) -> double {
    const auto t0 = Clock::now();
    std::vector<const Event*> batch;
    for (std::size_t i = 0; i < events.size(); ++i) {
      batch.push_back(&events[i]);
      if (batch.size() == kBatch || i + 1 == events.size()) {
        auto result = service->apply(batch);
        if (!result) {
          std::fprintf(stderr, "apply failed: %s\n", result.error().message.c_str());
          std::exit(1);
        }
        batch.clear();
      }
    }
    return seconds_since(t0);
  };
  std::vector<Event> build;
  for (std::size_t p = 0; p < s.service_persons; ++p) {
    for (Ids& ids : journey(p)) build.push_back(to_event(++n, std::move(ids)));
  }
  const double build_s = apply_all(build);
  std::printf(
      "service: %zu identifiers, %zu profiles; building apply() %.1f us/event (batches "
      "of %zu, new identifiers and profiles)\n",
      service->identifier_count(), service->profile_count(),
      build_s * 1e6 / static_cast<double>(build.size()), kBatch);
  std::mt19937_64 rng(7);
  std::size_t sessions = 0;
  std::vector<double> per_event_us;
  std::vector<double> cpu_us;
  for (int run = 0; run < s.runs; ++run) {
    std::vector<Event> events;
    for (Ids& ids : steady_events(20000, s.service_persons, false, rng, sessions)) {
      events.push_back(to_event(++n, std::move(ids)));
    }
    const double c0 = thread_cpu_seconds();
    per_event_us.push_back(apply_all(events) * 1e6 / static_cast<double>(events.size()));
    cpu_us.push_back((thread_cpu_seconds() - c0) * 1e6 / static_cast<double>(events.size()));
  }
  std::printf(
      "service apply(), known identifiers: median %.1f us/event CPU, %.1f us wall (%d "
      "runs x 20000, batches of %zu, synchronous=NORMAL)\n",
      median(cpu_us), median(per_event_us), s.runs, kBatch);
  std::vector<double> lookup_us;
  std::vector<double> get_us;
  for (int i = 0; i < 20000; ++i) {
    const std::size_t p = rng() % s.service_persons;
    const std::string email = hex64(p);
    auto t0 = Clock::now();
    auto id = service->lookup("email_sha256", email);
    lookup_us.push_back(seconds_since(t0) * 1e6);
    t0 = Clock::now();
    auto view = service->get(*id);
    get_us.push_back(seconds_since(t0) * 1e6);
    if (!view || !*view) return 1;
  }
  std::printf(
      "service lookup(): median %.2f us, p99 %.2f us; get() (view with state and "
      "history): median %.1f us, p99 %.1f us\n",
      median(lookup_us), percentile(lookup_us, 0.99), median(get_us), percentile(get_us, 0.99));
  service.reset();
  const auto t0 = Clock::now();
  auto reopened = ProfileService::open(options, aisle::SystemClock::instance(), metrics);
  if (!reopened) return 1;
  std::printf("service reopen (load %zu identifiers from SQLite): %.2f s\n",
              (*reopened)->identifier_count(), seconds_since(t0));
  reopened->reset();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* value = argv[i + 1];
    if (key == "--persons")
      s.persons = std::strtoull(value, nullptr, 10);
    else if (key == "--runs")
      s.runs = std::atoi(value);
    else if (key == "--events")
      s.events = std::strtoull(value, nullptr, 10);
    else if (key == "--service-persons")
      s.service_persons = std::strtoull(value, nullptr, 10);
    else if (key == "--dir")
      s.dir = value;
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  if (s.persons == 0 || s.runs <= 0 || s.events == 0 || s.service_persons == 0) {
    std::fprintf(stderr, "--persons, --runs, --events and --service-persons must be positive\n");
    return 2;
  }
  aisle::log::set_level(aisle::log::Level::kWarn);
  std::printf("profile_bench: %zu persons (%zu identifiers), %d runs x %zu events\n", s.persons,
              s.persons * 5, s.runs, s.events);
  if (int rc = graph_part(s); rc != 0) return rc;
  return service_part(s);
}
