#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "collector/segments/learned/drift_detector.hpp"
#include "common/log.hpp"

namespace aisle::collector::segments {
namespace {

TEST_CASE("KS statistic D is exact on hand-computed samples, ties included", "[collector][drift]") {
  // F_a steps 1/4 at 1,2,3,4; F_b steps 1/6 at 3..8. |F_a - F_b| at x = 1,2,3,4,5: 1/4, 1/2,
  // 3/4 - 1/6 = 7/12, 1 - 2/6 = 2/3, 1 - 3/6 = 1/2; the supremum is 2/3 at x = 4.
  CHECK(ks_two_sample({1, 2, 3, 4}, {3, 4, 5, 6, 7, 8}).d == Approx(2.0 / 3.0));
  // Ties across the samples: at x = 2 both CDFs jump to 3/4, so the difference there is 0;
  // D = 1/4 (at x = 1 and x = 3). Comparing before both have jumped would give 1/2.
  CHECK(ks_two_sample({1, 2, 2, 3}, {2, 2, 2, 4}).d == Approx(0.25));
  // Identical samples, disjoint samples, order does not matter, empty input.
  CHECK(ks_two_sample({3, 1, 2}, {2, 3, 1}).d == 0);
  CHECK(ks_two_sample({1, 2}, {5, 6, 7}).d == 1);
  CHECK(ks_two_sample({}, {1}).p_value == 1);
}

TEST_CASE("Kolmogorov survival function matches the published critical values",
          "[collector][drift]") {
  // Critical values c(alpha) of the two-sample KS test, Q_KS(c) = alpha (Smirnov 1948; the table
  // in Wikipedia's "Kolmogorov-Smirnov test", two-sample section): 1.224 (0.10), 1.358 (0.05),
  // 1.628 (0.01), 1.949 (0.001).
  CHECK(kolmogorov_survival(1.224) == Approx(0.10).margin(0.001));
  CHECK(kolmogorov_survival(1.358) == Approx(0.05).margin(0.0005));
  CHECK(kolmogorov_survival(1.628) == Approx(0.01).margin(0.0002));
  CHECK(kolmogorov_survival(1.949) == Approx(0.001).margin(0.00005));
  // Both series agree where they meet, and the tails are right.
  CHECK(kolmogorov_survival(1.1799) == Approx(kolmogorov_survival(1.1801)).margin(1e-3));
  CHECK(kolmogorov_survival(0) == 1);
  CHECK(kolmogorov_survival(0.2) == Approx(1.0).margin(1e-9));
  CHECK(kolmogorov_survival(5) < 1e-20);
}

TEST_CASE("KS p-value matches scipy's published ks_2samp examples", "[collector][drift]") {
  // scipy.stats.ks_2samp documentation (scipy 0.13 - 1.2, the asymptotic version with the
  // Stephens correction: https://docs.scipy.org/doc/scipy-0.13.0/reference/generated/
  // scipy.stats.ks_2samp.html), n1 = 200, n2 = 300:
  //   (0.20833333333333337, 4.6674975515806989e-05)
  //   (0.10333333333333333, 0.14498781825751686)
  //   (0.07999999999999996, 0.41126949729859719)
  CHECK(ks_p_value(0.20833333333333337, 200, 300) == Approx(4.6674975515806989e-05).epsilon(1e-6));
  CHECK(ks_p_value(0.10333333333333333, 200, 300) == Approx(0.14498781825751686).epsilon(1e-6));
  CHECK(ks_p_value(0.07999999999999996, 200, 300) == Approx(0.41126949729859719).epsilon(1e-6));
}

TEST_CASE("KS on seeded normal samples: a shift is significant, the same law is not",
          "[collector][drift]") {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> standard(0.0, 1.0);
  std::normal_distribution<double> shifted(0.5, 1.0);
  auto draw = [&rng](std::normal_distribution<double>& d, int n) {
    std::vector<double> v;
    for (int k = 0; k < n; ++k) v.push_back(d(rng));
    return v;
  };
  const auto same = ks_two_sample(draw(standard, 500), draw(standard, 500));
  INFO("same: D " << same.d << " p " << same.p_value);
  CHECK(same.p_value > 0.01);
  const auto moved = ks_two_sample(draw(standard, 500), draw(shifted, 500));
  INFO("shifted: D " << moved.d << " p " << moved.p_value);
  CHECK(moved.p_value < 1e-6);
  CHECK(moved.d > 0.15);
}

struct LogCapture {
  LogCapture() {
    log::set_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  ~LogCapture() { log::set_sink(nullptr); }
  std::vector<std::string> lines;
};

TEST_CASE("drift detector flags a shifted feature once per log interval and clears when stable",
          "[collector][drift]") {
  LogCapture logs;
  auto clock = std::make_shared<ManualClock>();
  metrics::Registry metrics;
  DriftOptions options;
  options.window = 200;
  options.check_every = 200;
  options.alpha = 0.001;
  DriftDetector detector(options, {"cart_value", "session_events"}, metrics, clock);
  std::mt19937_64 rng(11);
  std::normal_distribution<double> base(100, 10);
  std::normal_distribution<double> high(130, 10);
  auto feed = [&](std::normal_distribution<double>& cart, int n) {
    for (int k = 0; k < n; ++k) detector.observe({cart(rng), base(rng)});
  };
  feed(base, 1000);
  CHECK(metrics.value("aisle_collector_feature_drift", {{"feature", "cart_value"}}) == 0);
  CHECK(metrics.value("aisle_collector_feature_drift_tests_total") == 2 * 4);
  // The current window (last 200) now comes from the shifted law, the reference does not.
  feed(high, 200);
  CHECK(metrics.value("aisle_collector_feature_drift", {{"feature", "cart_value"}}) == 1);
  CHECK(metrics.value("aisle_collector_feature_drifts_total", {{"feature", "cart_value"}}) == 1);
  CHECK(metrics.value("aisle_collector_feature_drift", {{"feature", "session_events"}}) == 0);
  auto status = detector.status();
  CHECK(status[0].drifted);
  CHECK(status[0].d > 0.5);
  CHECK(status[0].p_value < 0.001);
  REQUIRE(logs.lines.size() == 1);
  CHECK(logs.lines[0].find("feature=cart_value") != std::string::npos);
  CHECK(logs.lines[0].find("d=") != std::string::npos);
  CHECK(logs.lines[0].find("p=") != std::string::npos);
  // 200 values later the reference is the shifted law too: stable again, the gauge clears.
  feed(high, 200);
  CHECK(metrics.value("aisle_collector_feature_drift", {{"feature", "cart_value"}}) == 0);
  // Another shift within the log interval is counted but not logged again.
  feed(base, 200);
  CHECK(metrics.value("aisle_collector_feature_drifts_total", {{"feature", "cart_value"}}) == 2);
  CHECK(logs.lines.size() == 1);
  clock->advance(std::chrono::milliseconds(options.log_interval_ms));
  feed(high, 200);
  CHECK(metrics.value("aisle_collector_feature_drifts_total", {{"feature", "cart_value"}}) == 3);
  CHECK(logs.lines.size() == 2);
  CHECK(detector.memory_bytes() >= 2 * 400 * sizeof(double));
}

TEST_CASE("drift detector with a frozen reference keeps comparing with the start",
          "[collector][drift]") {
  auto clock = std::make_shared<ManualClock>();
  metrics::Registry metrics;
  DriftOptions options;
  options.window = 200;
  options.check_every = 200;
  options.reference = "frozen";
  options.freeze_after_ms = 1000;
  DriftDetector detector(options, {"x"}, metrics, clock);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> base(0, 1);
  std::normal_distribution<double> high(1, 1);
  // Values before freeze_after_ms are not the reference.
  for (int k = 0; k < 200; ++k) detector.observe({high(rng)});
  clock->advance(std::chrono::milliseconds(1000));
  for (int k = 0; k < 400; ++k) detector.observe({base(rng)});  // reference, then one window
  CHECK(detector.status()[0].tests == 1);
  CHECK_FALSE(detector.status()[0].drifted);
  // A slow drift: each window differs little from the previous one, all differ from the start.
  for (int k = 0; k < 400; ++k) detector.observe({high(rng)});
  CHECK(detector.status()[0].drifted);
  CHECK(metrics.value("aisle_collector_feature_drift", {{"feature", "x"}}) == 1);
}

TEST_CASE("parse_drift_options checks ranges and refuses unknown keys", "[collector][drift]") {
  auto o = parse_drift_options({{"window", 500}, {"alpha", 0.01}, {"reference", "frozen"}});
  REQUIRE(o.ok());
  CHECK(o->window == 500);
  CHECK(o->alpha == 0.01);
  CHECK(o->reference == "frozen");
  CHECK(parse_drift_options(nlohmann::json{{"alpha", 1.0}}).error().message ==
        "segments.drift.alpha: must be in (0.000000, 1.000000), got 1.0");
  CHECK(parse_drift_options(nlohmann::json{{"reference", "rolling"}}).error().message ==
        "segments.drift.reference: must be one of \"previous\", \"frozen\"");
  CHECK(parse_drift_options(nlohmann::json{{"windows", 5}}).error().message ==
        "segments.drift.windows: unknown key");
}

}  // namespace
}  // namespace aisle::collector::segments
