#include "collector/segments/learned/drift_detector.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "collector/segments/learned/option_reader.hpp"
#include "common/log.hpp"

namespace aisle::collector::segments {
namespace {

const log::Logger kLog("collector.segments.drift");

constexpr double kPi = 3.14159265358979323846;

// p-values of drifts are tiny: "4.67e-05", not std::to_string's "0.000047".
std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

double kolmogorov_survival(double lambda) {
  if (!(lambda > 0)) return 1.0;
  // Two series for the same function: the theta-function form converges in a few terms for small
  // lambda, the alternating one for large lambda (each needs < 10 terms on its side of 1.18).
  if (lambda < 1.18) {
    const double v = kPi * kPi / (8 * lambda * lambda);
    double cdf = 0;
    for (int j = 1; j <= 20; ++j) {
      const double k = 2.0 * j - 1;
      cdf += std::exp(-k * k * v);
    }
    cdf *= std::sqrt(2 * kPi) / lambda;
    return std::clamp(1.0 - cdf, 0.0, 1.0);
  }
  double sum = 0;
  double sign = 1;
  for (int j = 1; j <= 100; ++j) {
    const double term = std::exp(-2.0 * j * j * lambda * lambda);
    sum += sign * term;
    if (term < 1e-17) break;
    sign = -sign;
  }
  return std::clamp(2 * sum, 0.0, 1.0);
}

double ks_p_value(double d, std::size_t n, std::size_t m) {
  if (n == 0 || m == 0) return 1.0;
  const double ne = static_cast<double>(n) * static_cast<double>(m) / static_cast<double>(n + m);
  const double root = std::sqrt(ne);
  return kolmogorov_survival((root + 0.12 + 0.11 / root) * d);
}

KsResult ks_two_sample(std::vector<double> a, std::vector<double> b) {
  KsResult result;
  if (a.empty() || b.empty()) return result;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double n = static_cast<double>(a.size());
  const double m = static_cast<double>(b.size());
  std::size_t i = 0;
  std::size_t j = 0;
  // Step both empirical CDFs past every value equal to the smaller current one, so ties between
  // (and within) the samples are compared only after both CDFs have jumped.
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    result.d =
        std::max(result.d, std::fabs(static_cast<double>(i) / n - static_cast<double>(j) / m));
  }
  result.p_value = ks_p_value(result.d, a.size(), b.size());
  return result;
}

Result<DriftOptions> parse_drift_options(const nlohmann::json& section) {
  OptionReader reader("segments.drift", section);
  DriftOptions o;
  o.enabled = reader.get_bool("enabled", o.enabled);
  o.window = static_cast<std::size_t>(reader.get_int("window", 1000, 20, 1'000'000));
  o.check_every = static_cast<std::size_t>(reader.get_int("check_every", 1000, 1, 100'000'000));
  o.alpha = reader.get_double("alpha", o.alpha, 0.0, 1.0, true);
  o.reference = reader.get_enum("reference", o.reference, {"previous", "frozen"});
  o.freeze_after_ms = reader.get_int("freeze_after_ms", 0, 0, 365LL * 86'400'000);
  o.log_interval_ms = reader.get_int("log_interval_ms", o.log_interval_ms, 0, 86'400'000);
  if (auto status = reader.finish(); !status) return status.error();
  return o;
}

DriftDetector::DriftDetector(DriftOptions options, std::vector<std::string> features,
                             metrics::Registry& metrics, ClockPtr clock)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      frozen_mode_(options_.reference == "frozen"),
      started_(clock_->now_steady()),
      tests_total_(metrics.counter("aisle_collector_feature_drift_tests_total",
                                   "Kolmogorov-Smirnov drift tests run over feature windows")) {
  options_.window = std::max<std::size_t>(options_.window, 1);
  options_.check_every = std::max<std::size_t>(options_.check_every, 1);
  for (auto& name : features) {
    Feature f;
    f.name = name;
    f.status.feature = name;
    f.ring.assign(frozen_mode_ ? options_.window : 2 * options_.window, 0.0);
    f.drift_gauge = &metrics.gauge("aisle_collector_feature_drift",
                                   "1 while the feature's last KS test rejected (p < alpha)",
                                   {{"feature", name}});
    f.drift_counter =
        &metrics.counter("aisle_collector_feature_drifts_total",
                         "KS tests that found the feature drifted", {{"feature", name}});
    features_.push_back(std::move(f));
  }
}

void DriftDetector::observe(const std::vector<double>& values) {
  observe(values.data(), values.size());
}

void DriftDetector::observe(const double* values, std::size_t count) {
  if (!options_.enabled) return;
  std::lock_guard lock(mutex_);
  const std::size_t n = std::min(count, features_.size());
  for (std::size_t k = 0; k < n; ++k) push(features_[k], values[k]);
}

void DriftDetector::push(Feature& f, double value) {
  if (!std::isfinite(value)) return;
  const std::size_t n = options_.window;
  if (frozen_mode_ && f.frozen.size() < n) {
    // Before the freeze time nothing is collected: the reference is what the stream looks like
    // from then on (the first N values).
    if (clock_->now_steady() - started_ < std::chrono::milliseconds(options_.freeze_after_ms)) {
      return;
    }
    f.frozen.push_back(value);
    return;
  }
  f.ring[f.next] = value;
  f.next = (f.next + 1) % f.ring.size();
  f.filled = std::min(f.filled + 1, f.ring.size());
  ++f.since_test;
  if (f.filled == f.ring.size() && f.since_test >= options_.check_every) test(f);
}

void DriftDetector::test(Feature& f) {
  f.since_test = 0;
  const std::size_t n = options_.window;
  const std::size_t size = f.ring.size();
  // f.next is the oldest value; the newest n values are the current window.
  std::vector<double> current;
  current.reserve(n);
  for (std::size_t k = size - n; k < size; ++k) current.push_back(f.ring[(f.next + k) % size]);
  std::vector<double> reference;
  if (frozen_mode_) {
    reference = f.frozen;
  } else {
    reference.reserve(n);
    for (std::size_t k = 0; k < n; ++k) reference.push_back(f.ring[(f.next + k) % size]);
  }
  const KsResult ks = ks_two_sample(std::move(reference), std::move(current));
  tests_total_.inc();
  f.status.tests++;
  f.status.d = ks.d;
  f.status.p_value = ks.p_value;
  f.status.drifted = ks.p_value < options_.alpha;
  f.drift_gauge->set(f.status.drifted ? 1 : 0);
  if (!f.status.drifted) return;
  f.status.drifts++;
  f.drift_counter->inc();
  const auto now = clock_->now_steady();
  if (!f.logged || now - f.last_log >= std::chrono::milliseconds(options_.log_interval_ms)) {
    f.logged = true;
    f.last_log = now;
    kLog.warn("feature distribution drifted", {{"feature", f.name},
                                               {"d", short_number(ks.d)},
                                               {"p", short_number(ks.p_value)},
                                               {"alpha", short_number(options_.alpha)},
                                               {"window", n},
                                               {"reference", options_.reference}});
  }
}

std::vector<DriftDetector::FeatureStatus> DriftDetector::status() const {
  std::lock_guard lock(mutex_);
  std::vector<FeatureStatus> out;
  for (const auto& f : features_) out.push_back(f.status);
  return out;
}

nlohmann::json DriftDetector::status_json() const {
  nlohmann::json features = nlohmann::json::array();
  for (const auto& s : status()) {
    features.push_back({{"feature", s.feature},
                        {"drifted", s.drifted},
                        {"d", s.d},
                        {"p_value", s.p_value},
                        {"tests", s.tests},
                        {"drifts", s.drifts}});
  }
  return {{"enabled", options_.enabled},
          {"window", options_.window},
          {"alpha", options_.alpha},
          {"reference", options_.reference},
          {"features", std::move(features)}};
}

std::size_t DriftDetector::memory_bytes() const {
  std::lock_guard lock(mutex_);
  std::size_t bytes = sizeof(*this);
  for (const auto& f : features_) {
    bytes += sizeof(Feature) + f.name.capacity() + f.ring.capacity() * sizeof(double) +
             f.frozen.capacity() * sizeof(double);
  }
  return bytes;
}

}  // namespace aisle::collector::segments
