// Experiments per placement (docs/experiments.md): an A/B test between strategies, with
// deterministic assignment by hashing the unit (profile id or identity) with the experiment id,
// or a multi-armed bandit choosing a strategy per request by Thompson sampling over Beta
// posteriors of the click rate.
//
// Thread-safety: every method may be called from any thread (HTTP workers assign and record
// exposures; the event thread records clicks and conversions).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace aisle::collector::recs {

enum class ExperimentKind { kAbTest, kBandit };

struct ExperimentArm {
  std::string strategy;  // a configured strategy name
  double weight = 1.0;   // A/B: share of units (relative); bandit: unused
};

struct ExperimentConfig {
  std::string id;  // part of the assignment hash: a new id reshuffles the units
  ExperimentKind kind = ExperimentKind::kAbTest;
  std::vector<ExperimentArm> arms;  // 2..16
  bool enabled = true;
  double prior_alpha = 1.0;  // bandit: Beta prior of every arm's click rate
  double prior_beta = 1.0;
};

// Checks an experiment: id 1..64 characters, 2..16 arms with distinct strategies among
// `known_strategies`, weights > 0 and finite, priors > 0. Errors name the field under `path`.
Status validate_experiment(const ExperimentConfig& config,
                           const std::vector<std::string>& known_strategies,
                           const std::string& path);
Result<ExperimentConfig> experiment_from_json(const nlohmann::json& j, const std::string& path);
nlohmann::json experiment_to_json(const ExperimentConfig& config);

// A two-sided 95% Wilson score interval of successes / trials ([0, 0] when trials == 0).
struct Interval {
  double low = 0;
  double high = 0;
};
Interval wilson_interval(std::uint64_t successes, std::uint64_t trials, double z = 1.959964);

// The unit's position in [0, 1) for an experiment: stable across calls, processes and machines
// (FNV-1a 64 of "<experiment_id>/<unit>" through a splitmix64 finalizer).
double assignment_point(const std::string& experiment_id, const std::string& unit);

struct Assignment {
  std::string experiment_id;
  std::size_t arm = 0;
  std::string strategy;
};

struct ArmStats {
  std::string strategy;
  double weight = 0;
  std::uint64_t exposures = 0;
  std::uint64_t clicks = 0;
  std::uint64_t conversions = 0;
  Interval ctr;         // clicks / exposures, 95% Wilson
  Interval conversion;  // conversions / exposures, 95% Wilson
};

struct ExperimentStats {
  ExperimentConfig config;
  std::vector<ArmStats> arms;
};

class Experiments {
 public:
  // `seed` drives the bandit's sampling (tests pass a fixed one).
  explicit Experiments(std::uint64_t seed = std::random_device{}());

  // Installs (or replaces) the placement's experiment; counters restart when the id changes.
  void set(const std::string& placement, ExperimentConfig config);
  bool remove(const std::string& placement);
  std::optional<ExperimentConfig> get(const std::string& placement) const;
  std::map<std::string, ExperimentConfig> all() const;

  // The arm for a unit on a placement, or nullopt when the placement runs no enabled experiment.
  // A/B: deterministic in (experiment id, unit). Bandit: a Thompson draw per call.
  std::optional<Assignment> assign(const std::string& placement, const std::string& unit);

  // Feedback; ignored when the experiment changed id since the assignment.
  void record_exposure(const std::string& placement, const Assignment& assignment);
  void record_click(const std::string& placement, const Assignment& assignment);
  void record_conversion(const std::string& placement, const Assignment& assignment);

  std::optional<ExperimentStats> stats(const std::string& placement) const;

 private:
  struct Counts {
    std::uint64_t exposures = 0;
    std::uint64_t clicks = 0;
    std::uint64_t conversions = 0;
  };
  struct Running {
    ExperimentConfig config;
    std::vector<double> cumulative;  // A/B: cumulative normalized weights
    std::vector<Counts> counts;
  };
  Running* find(const std::string& placement, const Assignment& assignment);
  double sample_beta(double alpha, double beta);  // under mutex_

  mutable std::mutex mutex_;
  std::map<std::string, Running> running_;
  std::mt19937_64 rng_;
};

nlohmann::json experiment_stats_json(const ExperimentStats& stats);

}  // namespace aisle::collector::recs
