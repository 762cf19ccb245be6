#include "collector/recs/serving/experiments.hpp"

#include <catch2/catch.hpp>
#include <random>

namespace aisle::collector::recs {
namespace {

ExperimentConfig ab(const std::string& id, double weight_a, double weight_b) {
  ExperimentConfig c;
  c.id = id;
  c.kind = ExperimentKind::kAbTest;
  c.arms = {{"a", weight_a}, {"b", weight_b}};
  return c;
}

std::string profile(int i) { return "018bcfe5-6800-7000-8000-" + std::to_string(100000000000 + i); }

TEST_CASE("A/B assignment is stable for a profile across calls and restarts",
          "[collector][recs][experiments]") {
  Experiments first(1);
  first.set("kiosk_home", ab("exp-1", 1, 1));
  Experiments restarted(999);  // another process: other seed, same configuration
  restarted.set("kiosk_home", ab("exp-1", 1, 1));
  for (int i = 0; i < 1000; ++i) {
    auto a = first.assign("kiosk_home", profile(i));
    REQUIRE(a);
    CHECK(first.assign("kiosk_home", profile(i))->arm == a->arm);
    CHECK(restarted.assign("kiosk_home", profile(i))->arm == a->arm);
    CHECK(a->strategy == (a->arm == 0 ? "a" : "b"));
  }
  // The point is a pure function of (experiment id, unit): pinned so that a change of the hash
  // (which would reshuffle every running experiment) fails here.
  CHECK(assignment_point("exp-1", "user-1") == Approx(0.7339024185190693).epsilon(1e-15));
  CHECK(assignment_point("exp-1", "user-1") != assignment_point("exp-2", "user-1"));
}

TEST_CASE("A/B split over 100k profiles is close to the weights",
          "[collector][recs][experiments]") {
  Experiments experiments(1);
  experiments.set("pdp", ab("exp-split", 1, 3));  // 25% / 75%
  int arm_b = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) arm_b += experiments.assign("pdp", profile(i))->arm == 1 ? 1 : 0;
  const double share = static_cast<double>(arm_b) / n;
  // Binomial sd at p=0.75, n=100k is 0.0014: 0.01 is 7 sd.
  CHECK(share == Approx(0.75).margin(0.01));

  // A new experiment id reshuffles: about half of the units change arm in an even split.
  experiments.set("pdp", ab("exp-1", 1, 1));
  std::vector<std::size_t> before;
  for (int i = 0; i < 10000; ++i) before.push_back(experiments.assign("pdp", profile(i))->arm);
  experiments.set("pdp", ab("exp-2", 1, 1));
  int changed = 0;
  for (int i = 0; i < 10000; ++i) {
    changed += experiments.assign("pdp", profile(i))->arm != before[static_cast<std::size_t>(i)];
  }
  CHECK(changed == Approx(5000).margin(300));
}

TEST_CASE("no assignment without an enabled experiment", "[collector][recs][experiments]") {
  Experiments experiments(1);
  CHECK_FALSE(experiments.assign("pdp", "u"));
  auto config = ab("x", 1, 1);
  config.enabled = false;
  experiments.set("pdp", config);
  CHECK_FALSE(experiments.assign("pdp", "u"));
  CHECK(experiments.get("pdp"));
  CHECK(experiments.remove("pdp"));
  CHECK_FALSE(experiments.get("pdp"));
}

TEST_CASE("exposures, clicks and conversions per arm with Wilson intervals",
          "[collector][recs][experiments]") {
  Experiments experiments(1);
  experiments.set("pdp", ab("exp-stats", 1, 1));
  Assignment a0{"exp-stats", 0, "a"};
  Assignment a1{"exp-stats", 1, "b"};
  for (int i = 0; i < 100; ++i) experiments.record_exposure("pdp", a0);
  for (int i = 0; i < 10; ++i) experiments.record_click("pdp", a0);
  for (int i = 0; i < 3; ++i) experiments.record_conversion("pdp", a0);
  experiments.record_exposure("pdp", a1);
  // Feedback for an old experiment id is not counted on the new one.
  experiments.record_click("pdp", Assignment{"old-id", 1, "b"});
  auto stats = experiments.stats("pdp");
  REQUIRE(stats);
  REQUIRE(stats->arms.size() == 2);
  CHECK(stats->arms[0].exposures == 100);
  CHECK(stats->arms[0].clicks == 10);
  CHECK(stats->arms[0].conversions == 3);
  CHECK(stats->arms[1].clicks == 0);
  // Wilson 95% for 10/100: [0.0552, 0.1744] (reference values).
  CHECK(stats->arms[0].ctr.low == Approx(0.0552).margin(0.0005));
  CHECK(stats->arms[0].ctr.high == Approx(0.1744).margin(0.0005));
  CHECK(stats->arms[0].weight == Approx(0.5));

  // Keeping the id keeps the counts; a new id starts from zero.
  experiments.set("pdp", ab("exp-stats", 2, 1));
  CHECK(experiments.stats("pdp")->arms[0].exposures == 100);
  experiments.set("pdp", ab("exp-stats-2", 1, 1));
  CHECK(experiments.stats("pdp")->arms[0].exposures == 0);
}

TEST_CASE("Wilson interval edge cases", "[collector][recs][experiments]") {
  CHECK(wilson_interval(0, 0).low == 0);
  CHECK(wilson_interval(0, 0).high == 0);
  auto none = wilson_interval(0, 50);
  CHECK(none.low == Approx(0).margin(1e-12));
  CHECK(none.high == Approx(0.0713).margin(0.0005));
  auto all = wilson_interval(50, 50);
  CHECK(all.high == Approx(1.0));
  CHECK(all.low == Approx(0.9287).margin(0.0005));
}

TEST_CASE("Thompson sampling converges to the arm with the better click rate",
          "[collector][recs][experiments]") {
  Experiments experiments(42);
  ExperimentConfig config;
  config.id = "bandit-1";
  config.kind = ExperimentKind::kBandit;
  config.arms = {{"worse", 1}, {"better", 1}};
  experiments.set("kiosk_home", config);
  const double ctr[2] = {0.05, 0.08};
  std::mt19937_64 world(7);  // the shoppers' clicks, seeded
  std::uniform_real_distribution<double> u(0, 1);
  const int rounds = 20000;
  int late_better = 0;
  const int late_from = rounds / 2;
  for (int round = 0; round < rounds; ++round) {
    auto a = experiments.assign("kiosk_home", "any");
    REQUIRE(a);
    experiments.record_exposure("kiosk_home", *a);
    if (u(world) < ctr[a->arm]) experiments.record_click("kiosk_home", *a);
    if (round >= late_from && a->arm == 1) ++late_better;
  }
  auto stats = experiments.stats("kiosk_home");
  const double share_total = static_cast<double>(stats->arms[1].exposures) / rounds;
  const double share_late = static_cast<double>(late_better) / (rounds - late_from);
  INFO("better arm: " << share_total << " of all pulls, " << share_late << " of the second half");
  CHECK(share_late > 0.8);
  CHECK(share_total > 0.7);
}

TEST_CASE("experiment JSON round-trips and validation names the field",
          "[collector][recs][experiments]") {
  auto parsed = experiment_from_json(
      nlohmann::json::parse(R"({"id":"e1","kind":"bandit","arms":["a",{"strategy":"b","weight":2}]})"),
      "body");
  REQUIRE(parsed.ok());
  CHECK(parsed->kind == ExperimentKind::kBandit);
  CHECK(parsed->arms[1].weight == 2);
  auto again = experiment_from_json(experiment_to_json(*parsed), "body");
  REQUIRE(again.ok());
  CHECK(again->arms[1].strategy == "b");
  CHECK(validate_experiment(*parsed, {"a", "b"}, "body").ok());

  auto unknown = validate_experiment(*parsed, {"a"}, "body");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "body.arms[1].strategy: unknown strategy \"b\"");
  auto one_arm = *parsed;
  one_arm.arms.pop_back();
  CHECK(validate_experiment(one_arm, {"a", "b"}, "body").error().message ==
        "body.arms: must have 2..16 arms");
  auto bad_kind = experiment_from_json(nlohmann::json::parse(R"({"kind":"abc"})"), "body");
  REQUIRE_FALSE(bad_kind.ok());
  CHECK(bad_kind.error().message == "body.kind: must be \"ab\" or \"bandit\"");
  auto typo = experiment_from_json(nlohmann::json::parse(R"({"armz":[]})"), "body");
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().message.rfind("body.armz: unknown key", 0) == 0);
}

}  // namespace
}  // namespace aisle::collector::recs
