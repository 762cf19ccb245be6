// privacy_bench: what the agent's privacy filter (agent/privacy/privacy_filter.hpp) costs per
// event on the ingest path (docs/privacy.md "Cost", docs/BENCHMARKS.md).
//
//   privacy_bench [runs]
//
// Each case applies PrivacyFilter::apply to the same validated event (a fresh copy per call, as
// ingest does; the copy is measured separately and subtracted) on one thread, CPU time, median
// of `runs` runs (default 5):
//   default        no privacy section, empty consent cache, no client IP
//   cache_lookup   no privacy section, 100,000 identities in the consent cache, 3 identities
//   ip_truncation  default options, context.ip set
//   pseudonymize   e-mail, phone and loyalty number hashed (3 HMAC-SHA256)
//   minimize       a minimization list for the type: properties parsed and re-serialized
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/privacy/consent_cache.hpp"
#include "agent/privacy/privacy_filter.hpp"
#include "common/log.hpp"
#include "common/schema/registry.hpp"

namespace {

using aisle::agent::privacy::ConsentCache;
using aisle::agent::privacy::PrivacyFilter;
using aisle::agent::privacy::PrivacyOptions;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

aisle::Event base_event() {
  aisle::Event e;
  e.event_id = "01a22746-0eaa-74e7-a1bd-ca91362cc787";
  e.type = "product_view";
  e.schema = "aisle/product_view/jsonschema/1-0-0";
  e.occurred_at = 1'764'300'000'000;
  e.received_at = 1'764'300'000'100;
  e.source.store_id = "store-1";
  e.source.channel = aisle::Channel::kKiosk;
  e.source.device_id = "kiosk-3";
  e.identities = {{"anonymous_id", "anon-9c4e2b7a51f3"}, {"session_id", "sess-k-7f3a"}};
  return e;
}

const std::string kProperties =
    R"({"sku":"ESP-BRW-870-SS","gtin":"08712345678906","name":"Brewline Barista 870",)"
    R"("category":"coffee/espresso-machines","brand":"Brewline","price":549.0,)"
    R"("currency":"EUR","list":"search-results","position":0,"in_stock":true})";

// Nanoseconds per apply() of `event` with the properties as text (the HTTP fast path).
double ns_per_event(const PrivacyFilter& filter, const aisle::Event& event, int runs) {
  constexpr int kEvents = 200000;
  std::vector<double> results;
  for (int run = 0; run < runs; ++run) {
    std::vector<aisle::schema::ValidationError> errors;
    double start = thread_cpu_seconds();
    for (int i = 0; i < kEvents; ++i) {
      aisle::Event copy = event;
      std::string properties = kProperties;
      if (copy.type.empty() || properties.empty()) std::abort();
    }
    const double copy_cost = thread_cpu_seconds() - start;
    start = thread_cpu_seconds();
    for (int i = 0; i < kEvents; ++i) {
      aisle::Event copy = event;
      std::string properties = kProperties;
      if (filter.apply(copy, &properties, errors) ==
          aisle::agent::privacy::PrivacyAction::kReject) {
        std::fprintf(stderr, "rejected\n");
        std::abort();
      }
    }
    const double total = thread_cpu_seconds() - start;
    results.push_back((total - copy_cost) / kEvents * 1e9);
  }
  return median(results);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  aisle::log::set_level(aisle::log::Level::kWarn);
  auto registry = aisle::schema::Registry::load({AISLE_SCHEMAS_SOURCE_DIR});
  if (!registry) return 1;
  char dir_template[] = "/tmp/aisle-privacy-bench-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return 1;
  const std::filesystem::path dir = dir_template;
  aisle::metrics::Registry metrics;
  auto empty_cache = ConsentCache::open((dir / "empty.db").string());
  auto full_cache = ConsentCache::open((dir / "full.db").string());
  if (!empty_cache || !full_cache) return 1;
  aisle::wire::ConsentUpdate update{0, 100000, false, {}};
  for (std::uint64_t v = 1; v <= 100000; ++v) {
    aisle::wire::ConsentEntry e;
    e.identity = "user_id:cust-" + std::to_string(v);
    e.flags.analytics = aisle::ConsentState::kGranted;
    e.version = v;
    update.entries.push_back(std::move(e));
  }
  if (!(*full_cache)->apply(update)) return 1;

  auto make = [&](PrivacyOptions options, ConsentCache* cache) {
    auto filter = PrivacyFilter::create(std::move(options), **registry, cache, metrics);
    if (!filter) {
      std::fprintf(stderr, "%s\n", filter.error().message.c_str());
      std::exit(1);
    }
    return std::move(*filter);
  };

  std::printf("privacy filter, ns per event (median of %d runs, one core)\n", runs);
  const auto plain = make({}, empty_cache->get());
  std::printf("  default        %8.0f\n", ns_per_event(*plain, base_event(), runs));

  const auto cached = make({}, full_cache->get());
  aisle::Event known = base_event();
  known.identities["user_id"] = "cust-50000";
  std::printf("  cache_lookup   %8.0f\n", ns_per_event(*cached, known, runs));

  aisle::Event with_ip = base_event();
  with_ip.context = aisle::EventContext{"203.0.113.77", "Kiosk/2.1"};
  std::printf("  ip_truncation  %8.0f\n", ns_per_event(*plain, with_ip, runs));

  std::ofstream(dir / "tenant.key") << "0123456789abcdef0123456789abcdef";
  PrivacyOptions hashing;
  hashing.pseudonymization.enabled = true;
  hashing.pseudonymization.key_file = (dir / "tenant.key").string();
  hashing.pseudonymization.phone.default_country_code = "49";
  const auto pseudonymizing = make(hashing, empty_cache->get());
  aisle::Event raw = base_event();
  raw.identities = {{"email", " Jane.Doe@Example.com"},
                    {"phone", "030 1234567"},
                    {"loyalty_id", "LOY-4471209388"}};
  std::printf("  pseudonymize   %8.0f\n", ns_per_event(*pseudonymizing, raw, runs));

  PrivacyOptions minimizing;
  minimizing.minimization["product_view"] = {"sku", "price", "currency"};
  const auto minimizer = make(minimizing, empty_cache->get());
  std::printf("  minimize       %8.0f\n", ns_per_event(*minimizer, base_event(), runs));
  std::filesystem::remove_all(dir);
  return 0;
}
