// recs_model_bench: the recommendation models at catalog scale (docs/recommendation-models.md).
//
//   recs_model_bench [interactions] [runs] [all|streaming|als]   (defaults 1,000,000, 3, all)
//
// A synthetic stream over 100,000 items (1,000 "themes" of 100 items; a session stays mostly in
// its theme, item choice Zipf-distributed; 20 stores, 50 categories, sessions of 1-12
// interactions, 10% carts, 2% purchases) is fed to each model:
// 1. observe() cost per interaction, averaged over the whole stream (target <= 5 µs), as thread
//    CPU time and wall-clock;
// 2. candidates(n=20) latency p50/p99 for sessions of 1-5 items, with the model idle;
// 3. the same while one thread keeps observing (shared_mutex contention), 3 request threads;
// 4. memory: the model's own estimate and the process RSS growth.
// Medians of `runs` runs (default 3).
// 5. ALS (matrix factorization): observe() cost (the log), retrain time (copy + train + HNSW
//    build) scaled to 100,000 interactions, request latency (fold-in of the session + HNSW
//    search), and HNSW recall@20 against exact search over the trained item vectors.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "collector/recs/models/als_model.hpp"
#include "collector/recs/models/item_knn.hpp"
#include "collector/recs/models/popularity.hpp"
#include "collector/recs/models/session_knn.hpp"

namespace {

using aisle::collector::recs::CandidateSource;
using aisle::collector::recs::Interaction;
using aisle::collector::recs::InteractionKind;
using aisle::collector::recs::ModelStats;
using aisle::collector::recs::RecContext;
using Clock = std::chrono::steady_clock;

constexpr int kItems = 100'000;
constexpr int kThemes = 1'000;
constexpr int kThemeSize = kItems / kThemes;

// Zipf(1) over [0, n) by inverse CDF.
class Zipf {
 public:
  explicit Zipf(int n) : cdf_(static_cast<std::size_t>(n)) {
    double sum = 0;
    for (int i = 0; i < n; ++i) cdf_[static_cast<std::size_t>(i)] = (sum += 1.0 / (i + 1));
    for (double& value : cdf_) value /= sum;
  }
  int operator()(std::mt19937_64& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

std::vector<Interaction> make_stream(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const Zipf theme_zipf(kThemes);
  const Zipf item_zipf(kThemeSize);
  const Zipf global_zipf(kItems);
  std::vector<Interaction> stream;
  stream.reserve(count);
  std::uniform_int_distribution<int> length(1, 12);
  std::uniform_real_distribution<double> unit(0, 1);
  std::int64_t at = 1'700'000'000'000;
  int session = 0;
  while (stream.size() < count) {
    const int theme = theme_zipf(rng);
    const int clicks = length(rng);
    const std::string key = "s" + std::to_string(session++);
    const std::string store = "store" + std::to_string(session % 20);
    for (int c = 0; c < clicks && stream.size() < count; ++c) {
      const int item = unit(rng) < 0.7 ? theme * kThemeSize + item_zipf(rng) : global_zipf(rng);
      Interaction interaction;
      interaction.session_key = key;
      interaction.item = "sku" + std::to_string(item);
      interaction.store_id = store;
      interaction.category = "cat" + std::to_string(item % 50);
      const double kind = unit(rng);
      interaction.kind = kind < 0.02   ? InteractionKind::kPurchase
                         : kind < 0.12 ? InteractionKind::kCart
                                       : InteractionKind::kView;
      interaction.at = (at += 50);
      stream.push_back(std::move(interaction));
    }
  }
  return stream;
}

std::vector<RecContext> make_requests(const std::vector<Interaction>& stream, std::size_t count) {
  std::vector<RecContext> requests;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, stream.size() - 6);
  std::uniform_int_distribution<std::size_t> length(1, 5);
  for (std::size_t i = 0; i < count; ++i) {
    RecContext context;
    const std::size_t start = pick(rng);
    for (std::size_t k = 0; k < length(rng); ++k) {
      context.session_items.push_back(stream[start + k].item);
    }
    context.context_item = context.session_items.back();
    context.store_id = stream[start].store_id;
    context.now = stream.back().at;
    requests.push_back(std::move(context));
  }
  return requests;
}

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

double median(std::vector<double> values) { return percentile(std::move(values), 0.5); }

// CPU time of the calling thread: the observe() figure stays meaningful on a shared, loaded
// machine (wall-clock figures are printed beside it).
double thread_cpu_us() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec) / 1e3;
}

struct RunFigures {
  double observe_us = 0;      // thread CPU time per interaction
  double observe_wall_us = 0;
  double idle_p50_us = 0;
  double idle_p99_us = 0;
  double idle_cpu_p99_us = 0;  // thread CPU time: what the request costs, without preemption
  double busy_p50_us = 0;
  double busy_p99_us = 0;
  double model_mib = 0;
  double rss_mib = 0;
  double items = 0;
};

using Factory = std::function<std::unique_ptr<CandidateSource>()>;
using StatsOf = std::function<ModelStats(const CandidateSource&)>;

RunFigures run_once(const Factory& factory, const StatsOf& stats_of,
                    const std::vector<Interaction>& stream,
                    const std::vector<Interaction>& live_stream,
                    const std::vector<RecContext>& requests) {
  RunFigures figures;
  const std::size_t rss_before = rss_bytes();
  std::unique_ptr<CandidateSource> model = factory();
  const auto start = Clock::now();
  const double cpu_start = thread_cpu_us();
  for (const Interaction& interaction : stream) model->observe(interaction);
  figures.observe_us = (thread_cpu_us() - cpu_start) / static_cast<double>(stream.size());
  figures.observe_wall_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
      static_cast<double>(stream.size());
  const ModelStats stats = stats_of(*model);
  figures.model_mib = static_cast<double>(stats.approx_bytes) / (1 << 20);
  figures.items = static_cast<double>(stats.items);
  figures.rss_mib =
      static_cast<double>(rss_bytes() > rss_before ? rss_bytes() - rss_before : 0) / (1 << 20);

  std::vector<double> idle;
  std::vector<double> idle_cpu;
  idle.reserve(requests.size());
  idle_cpu.reserve(requests.size());
  for (const RecContext& context : requests) {
    const auto t0 = Clock::now();
    const double cpu0 = thread_cpu_us();
    const auto list = model->candidates(context, 20);
    idle_cpu.push_back(thread_cpu_us() - cpu0);
    idle.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (list.size() > 20) std::abort();
  }
  figures.idle_p50_us = percentile(idle, 0.5);
  figures.idle_p99_us = percentile(idle, 0.99);
  figures.idle_cpu_p99_us = percentile(idle_cpu, 0.99);

  // Requests from 3 threads while the stream keeps flowing.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (const Interaction& interaction : live_stream) {
      if (done) break;
      model->observe(interaction);
    }
  });
  std::vector<std::vector<double>> busy(3);
  std::vector<std::thread> readers;
  for (std::size_t r = 0; r < busy.size(); ++r) {
    readers.emplace_back([&, r] {
      for (std::size_t i = r; i < requests.size(); i += busy.size()) {
        const auto t0 = Clock::now();
        const auto list = model->candidates(requests[i], 20);
        busy[r].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (list.size() > 20) std::abort();
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  done = true;
  writer.join();
  std::vector<double> all;
  for (const auto& part : busy) all.insert(all.end(), part.begin(), part.end());
  figures.busy_p50_us = percentile(all, 0.5);
  figures.busy_p99_us = percentile(all, 0.99);
  return figures;
}

template <typename Model>
StatsOf stats_of() {
  return [](const CandidateSource& model) { return static_cast<const Model&>(model).stats(); };
}

struct AlsFigures {
  double observe_us = 0;
  double train_seconds = 0;
  double train_seconds_per_100k = 0;
  double query_p50_us = 0;
  double query_p99_us = 0;
  double query_cpu_p99_us = 0;
  double exact_p50_us = 0;  // the same query, exact search over every item vector
  double recall = 0;        // HNSW top 20 vs exact top 20
  double model_mib = 0;
  double users = 0;
  double items = 0;
};

AlsFigures run_als_once(const aisle::collector::recs::AlsOptions& options,
                        const std::vector<Interaction>& stream,
                        const std::vector<RecContext>& requests) {
  using namespace aisle::collector::recs;
  AlsFigures figures;
  AlsRecommender model(options);
  const double cpu_start = thread_cpu_us();
  for (const Interaction& interaction : stream) model.observe(interaction);
  figures.observe_us = (thread_cpu_us() - cpu_start) / static_cast<double>(stream.size());
  const auto t0 = Clock::now();
  if (auto status = model.retrain_now(); !status) {
    std::fprintf(stderr, "ALS retrain failed: %s\n", status.error().message.c_str());
    std::exit(1);
  }
  figures.train_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  figures.train_seconds_per_100k =
      figures.train_seconds * 100'000.0 / static_cast<double>(stream.size());
  const auto snapshot = model.snapshot();
  const AlsTrainedModel& trained = *snapshot->trained;
  figures.users = static_cast<double>(trained.user_rows.size());
  figures.items = static_cast<double>(trained.item_names.size());
  figures.model_mib = static_cast<double>(model.stats().approx_bytes) / (1 << 20);

  std::vector<double> latency;
  std::vector<double> latency_cpu;
  std::vector<double> exact;
  std::size_t found = 0;
  std::size_t wanted = 0;
  for (const RecContext& context : requests) {
    const auto start = Clock::now();
    const double cpu0 = thread_cpu_us();
    const auto list = model.candidates(context, 20);
    latency_cpu.push_back(thread_cpu_us() - cpu0);
    latency.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (list.size() > 20) std::abort();
    const auto query = model.query_vector(context);
    if (!query) continue;
    const auto exact_start = Clock::now();
    const auto truth = brute_force_top(trained.item_factors.data(), trained.item_names.size(),
                                       trained.k, query->data(), 20);
    exact.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - exact_start).count());
    const auto approximate = trained.index->search(query->data(), 20);
    for (const VectorHit& hit : approximate) {
      for (const VectorHit& want : truth) found += hit.first == want.first ? 1 : 0;
    }
    wanted += truth.size();
  }
  figures.query_p50_us = percentile(latency, 0.5);
  figures.query_p99_us = percentile(latency, 0.99);
  figures.query_cpu_p99_us = percentile(latency_cpu, 0.99);
  figures.exact_p50_us = percentile(exact, 0.5);
  figures.recall = wanted == 0 ? 0 : static_cast<double>(found) / static_cast<double>(wanted);
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace aisle::collector::recs;
  const std::size_t interactions = argc > 1 ? std::stoul(argv[1]) : 1'000'000;
  const int runs = argc > 2 ? std::stoi(argv[2]) : 3;
  const std::string only = argc > 3 ? argv[3] : "all";
  std::printf("stream: %zu interactions over %d items; medians of %d runs\n", interactions, kItems,
              runs);
  std::fflush(stdout);
  const std::vector<Interaction> stream = make_stream(interactions, 42);
  const std::vector<Interaction> live_stream = make_stream(interactions / 2, 43);
  const std::vector<RecContext> requests = make_requests(stream, 20'000);

  struct Entry {
    const char* name;
    Factory factory;
    StatsOf stats;
  };
  const RecsModelsOptions options;
  SessionKnnOptions vsknn = options.session_knn;
  vsknn.reclick_weight = 2;
  const std::vector<Entry> models = {
      {"vsknn_reclick", [&] { return std::make_unique<SessionKnn>("vsknn_reclick", vsknn); },
       stats_of<SessionKnn>()},
      {"item_knn", [&] { return std::make_unique<ItemKnn>(options.item_knn); },
       stats_of<ItemKnn>()},
      {"popularity", [&] { return std::make_unique<Popularity>(options.popularity); },
       stats_of<Popularity>()},
  };
  if (only != "als") {
    std::printf("%-14s %8s %9s %10s %10s %9s %10s %10s %9s %9s %8s\n", "model", "obs cpu", "obs wall",
              "idle p50",
              "idle p99", "cpu p99", "busy p50", "busy p99", "model MiB", "RSS MiB", "items");
  }
  for (const Entry& entry : models) {
    if (only == "als") break;
    std::vector<RunFigures> all;
    for (int run = 0; run < runs; ++run) {
      all.push_back(run_once(entry.factory, entry.stats, stream, live_stream, requests));
    }
    const auto pick = [&](double RunFigures::*field) {
      std::vector<double> values;
      for (const RunFigures& figures : all) values.push_back(figures.*field);
      return median(values);
    };
    std::printf("%-14s %8.2f %9.2f %10.1f %10.1f %9.1f %10.1f %10.1f %9.1f %9.1f %8.0f\n",
                entry.name, pick(&RunFigures::observe_us), pick(&RunFigures::observe_wall_us),
                pick(&RunFigures::idle_p50_us), pick(&RunFigures::idle_p99_us),
                pick(&RunFigures::idle_cpu_p99_us), pick(&RunFigures::busy_p50_us),
                pick(&RunFigures::busy_p99_us), pick(&RunFigures::model_mib),
                pick(&RunFigures::rss_mib), pick(&RunFigures::items));
    std::fflush(stdout);
  }

  if (only == "streaming") return 0;
  // ALS: users are the stream's sessions (no profiles in this stream).
  AlsOptions als = options.als;
  als.min_interactions = 1;
  std::printf("\nals (k=%zu, %zu iterations, HNSW m=%zu ef_search=%zu)\n", als.factors,
              als.iterations, als.hnsw_m, als.hnsw_ef_search);
  std::printf("%8s %9s %12s %9s %9s %9s %10s %8s %9s %8s %8s\n", "obs cpu", "train s",
              "s per 100k", "q p50", "q p99", "cpu p99", "exact p50", "recall", "model MiB",
              "users", "items");
  std::vector<AlsFigures> all;
  for (int run = 0; run < runs; ++run) all.push_back(run_als_once(als, stream, requests));
  const auto pick = [&](double AlsFigures::*field) {
    std::vector<double> values;
    for (const AlsFigures& figures : all) values.push_back(figures.*field);
    return median(values);
  };
  std::printf("%8.2f %9.2f %12.2f %9.1f %9.1f %9.1f %10.1f %8.3f %9.1f %8.0f %8.0f\n",
              pick(&AlsFigures::observe_us), pick(&AlsFigures::train_seconds),
              pick(&AlsFigures::train_seconds_per_100k), pick(&AlsFigures::query_p50_us),
              pick(&AlsFigures::query_p99_us), pick(&AlsFigures::query_cpu_p99_us),
              pick(&AlsFigures::exact_p50_us), pick(&AlsFigures::recall),
              pick(&AlsFigures::model_mib), pick(&AlsFigures::users), pick(&AlsFigures::items));
  return 0;
}
