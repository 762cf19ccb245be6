// DriftDetector: notices when a numeric feature's distribution changes, with a two-sample
// Kolmogorov–Smirnov test between the feature's current window (its last N values) and a reference
// window (the N values before them, or a frozen set). docs/propensity.md, "Drift detection".
//
// Thread-safety: observe() and status() may be called from different threads (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::collector::segments {

// The two-sample KS statistic D = sup_x |F_a(x) - F_b(x)| (exact, ties handled) and its p-value.
struct KsResult {
  double d = 0;
  double p_value = 1;
};

// Q_KS(lambda) = 2 * sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2): the asymptotic probability that
// the scaled statistic exceeds lambda (the Kolmogorov distribution's survival function).
double kolmogorov_survival(double lambda);
// P(D >= d) for samples of sizes n and m, from the asymptotic distribution with the small-sample
// correction of Stephens (1970) as in Numerical Recipes' kstwo:
// lambda = (sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * d, ne = n m / (n + m).
double ks_p_value(double d, std::size_t n, std::size_t m);
// Sorts copies of both samples; O((n + m) log(n + m)). Empty samples give D = 0, p = 1.
KsResult ks_two_sample(std::vector<double> a, std::vector<double> b);

// Configuration section `segments.drift` (docs/propensity.md).
struct DriftOptions {
  bool enabled = true;
  std::size_t window = 1000;       // N: values in the current window and in the reference
  std::size_t check_every = 1000;  // values of a feature between two tests
  double alpha = 0.001;            // p < alpha is a drift
  // "previous": the reference is the N values before the current window (sliding);
  // "frozen": the reference is the first N values seen once freeze_after_ms have passed since
  // start (collector clock), and never changes afterwards.
  std::string reference = "previous";
  std::int64_t freeze_after_ms = 0;
  std::int64_t log_interval_ms = 600'000;  // at most one log line per feature per interval
};
// Parses the section (an object; unknown keys are errors naming the key).
Result<DriftOptions> parse_drift_options(const nlohmann::json& section);

class DriftDetector {
 public:
  // `features` names the metric label of each feature, in the order observe() receives them.
  DriftDetector(DriftOptions options, std::vector<std::string> features, metrics::Registry& metrics,
                ClockPtr clock);

  // One value per feature (values.size() == features.size()).
  void observe(const std::vector<double>& values);
  void observe(const double* values, std::size_t count);

  struct FeatureStatus {
    std::string feature;
    bool drifted = false;  // the last test rejected (p < alpha)
    double d = 0;          // of the last test
    double p_value = 1;    // of the last test
    std::uint64_t tests = 0;
    std::uint64_t drifts = 0;  // tests that rejected
  };
  std::vector<FeatureStatus> status() const;
  nlohmann::json status_json() const;

  // Bytes held by the windows: features * (2N doubles + bookkeeping).
  std::size_t memory_bytes() const;

 private:
  struct Feature {
    std::string name;
    std::vector<double> ring;  // capacity 2N ("previous") or N ("frozen")
    std::size_t next = 0;      // write position in ring
    std::size_t filled = 0;
    std::vector<double> frozen;  // reference set in "frozen" mode
    std::size_t since_test = 0;
    FeatureStatus status;
    std::chrono::steady_clock::time_point last_log{};
    bool logged = false;
    metrics::Gauge* drift_gauge = nullptr;
    metrics::Counter* drift_counter = nullptr;
  };
  void push(Feature& f, double value);
  void test(Feature& f);

  DriftOptions options_;
  ClockPtr clock_;
  bool frozen_mode_ = false;
  std::chrono::steady_clock::time_point started_;
  metrics::Counter& tests_total_;
  mutable std::mutex mutex_;
  std::vector<Feature> features_;
};

}  // namespace aisle::collector::segments
