#include "collector/recs/serving/experiments.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace aisle::collector::recs {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxArms = 16;
constexpr std::size_t kMaxIdLength = 64;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::uint64_t hash, std::string_view text) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

Error invalid(const std::string& path, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, path + ": " + message);
}

}  // namespace

Status validate_experiment(const ExperimentConfig& config,
                           const std::vector<std::string>& known_strategies,
                           const std::string& path) {
  if (config.id.empty() || config.id.size() > kMaxIdLength) {
    return invalid(path + ".id", "must be 1.." + std::to_string(kMaxIdLength) + " characters");
  }
  if (config.arms.size() < 2 || config.arms.size() > kMaxArms) {
    return invalid(path + ".arms", "must have 2.." + std::to_string(kMaxArms) + " arms");
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < config.arms.size(); ++i) {
    const auto& arm = config.arms[i];
    const std::string at = path + ".arms[" + std::to_string(i) + "]";
    if (std::find(known_strategies.begin(), known_strategies.end(), arm.strategy) ==
        known_strategies.end()) {
      return invalid(at + ".strategy", "unknown strategy \"" + arm.strategy + "\"");
    }
    if (!seen.insert(arm.strategy).second) {
      return invalid(at + ".strategy", "\"" + arm.strategy + "\" is already an arm");
    }
    if (!std::isfinite(arm.weight) || arm.weight <= 0) {
      return invalid(at + ".weight", "must be a number > 0");
    }
  }
  if (!(config.prior_alpha > 0) || !(config.prior_beta > 0) || !std::isfinite(config.prior_alpha) ||
      !std::isfinite(config.prior_beta)) {
    return invalid(path + ".prior", "alpha and beta must be numbers > 0");
  }
  return ok_status();
}

Result<ExperimentConfig> experiment_from_json(const json& j, const std::string& path) {
  if (!j.is_object()) return invalid(path, "must be an object");
  ExperimentConfig c;
  for (const auto& [key, value] : j.items()) {
    const std::string at = path + "." + key;
    if (key == "id") {
      if (!value.is_string()) return invalid(at, "must be a string");
      c.id = value.get<std::string>();
    } else if (key == "kind") {
      const std::string kind = value.is_string() ? value.get<std::string>() : "";
      if (kind == "ab") {
        c.kind = ExperimentKind::kAbTest;
      } else if (kind == "bandit") {
        c.kind = ExperimentKind::kBandit;
      } else {
        return invalid(at, "must be \"ab\" or \"bandit\"");
      }
    } else if (key == "enabled") {
      if (!value.is_boolean()) return invalid(at, "must be true or false");
      c.enabled = value.get<bool>();
    } else if (key == "prior_alpha" || key == "prior_beta") {
      if (!value.is_number()) return invalid(at, "must be a number > 0");
      (key == "prior_alpha" ? c.prior_alpha : c.prior_beta) = value.get<double>();
    } else if (key == "arms") {
      if (!value.is_array()) return invalid(at, "must be an array of {strategy, weight}");
      for (std::size_t i = 0; i < value.size(); ++i) {
        const json& a = value[i];
        const std::string arm_at = at + "[" + std::to_string(i) + "]";
        ExperimentArm arm;
        if (a.is_string()) {
          arm.strategy = a.get<std::string>();
        } else if (a.is_object()) {
          for (const auto& [k, v] : a.items()) {
            if (k == "strategy") {
              if (!v.is_string()) return invalid(arm_at + ".strategy", "must be a string");
              arm.strategy = v.get<std::string>();
            } else if (k == "weight") {
              if (!v.is_number()) return invalid(arm_at + ".weight", "must be a number > 0");
              arm.weight = v.get<double>();
            } else {
              return invalid(arm_at + "." + k, "unknown key (strategy, weight)");
            }
          }
        } else {
          return invalid(arm_at, "must be a strategy name or {strategy, weight}");
        }
        c.arms.push_back(std::move(arm));
      }
    } else {
      return invalid(at, "unknown key (id, kind, arms, enabled, prior_alpha, prior_beta)");
    }
  }
  return c;
}

json experiment_to_json(const ExperimentConfig& config) {
  json arms = json::array();
  for (const auto& a : config.arms) arms.push_back({{"strategy", a.strategy}, {"weight", a.weight}});
  return {{"id", config.id},
          {"kind", config.kind == ExperimentKind::kBandit ? "bandit" : "ab"},
          {"enabled", config.enabled},
          {"arms", std::move(arms)},
          {"prior_alpha", config.prior_alpha},
          {"prior_beta", config.prior_beta}};
}

Interval wilson_interval(std::uint64_t successes, std::uint64_t trials, double z) {
  if (trials == 0) return {};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(std::min(successes, trials)) / n;
  const double z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double assignment_point(const std::string& experiment_id, const std::string& unit) {
  std::uint64_t h = fnv1a(0xcbf29ce484222325ULL, experiment_id);
  h = fnv1a(h, "/");
  h = fnv1a(h, unit);
  // The top 53 bits as a double in [0, 1).
  return static_cast<double>(splitmix64(h) >> 11) * 0x1.0p-53;
}

Experiments::Experiments(std::uint64_t seed) : rng_(seed) {}

void Experiments::set(const std::string& placement, ExperimentConfig config) {
  std::lock_guard lock(mutex_);
  Running next;
  double total = 0;
  for (const auto& a : config.arms) total += a.weight;
  double sum = 0;
  for (const auto& a : config.arms) {
    sum += a.weight;
    next.cumulative.push_back(total > 0 ? sum / total : 1.0);
  }
  if (!next.cumulative.empty()) next.cumulative.back() = 1.0;
  next.counts.resize(config.arms.size());
  // Keeping an experiment's id keeps its counts (a weight or prior changed, not the question).
  auto it = running_.find(placement);
  if (it != running_.end() && it->second.config.id == config.id &&
      it->second.counts.size() == next.counts.size()) {
    next.counts = it->second.counts;
  }
  next.config = std::move(config);
  running_[placement] = std::move(next);
}

bool Experiments::remove(const std::string& placement) {
  std::lock_guard lock(mutex_);
  return running_.erase(placement) > 0;
}

std::optional<ExperimentConfig> Experiments::get(const std::string& placement) const {
  std::lock_guard lock(mutex_);
  auto it = running_.find(placement);
  if (it == running_.end()) return std::nullopt;
  return it->second.config;
}

std::map<std::string, ExperimentConfig> Experiments::all() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, ExperimentConfig> out;
  for (const auto& [placement, r] : running_) out.emplace(placement, r.config);
  return out;
}

double Experiments::sample_beta(double alpha, double beta) {
  std::gamma_distribution<double> a(alpha, 1.0);
  std::gamma_distribution<double> b(beta, 1.0);
  const double x = a(rng_);
  const double y = b(rng_);
  return x + y > 0 ? x / (x + y) : 0.5;
}

std::optional<Assignment> Experiments::assign(const std::string& placement,
                                              const std::string& unit) {
  std::lock_guard lock(mutex_);
  auto it = running_.find(placement);
  if (it == running_.end() || !it->second.config.enabled || it->second.config.arms.empty()) {
    return std::nullopt;
  }
  Running& r = it->second;
  std::size_t arm = 0;
  if (r.config.kind == ExperimentKind::kAbTest) {
    const double point = assignment_point(r.config.id, unit);
    while (arm + 1 < r.cumulative.size() && point >= r.cumulative[arm]) ++arm;
  } else {
    double best = -1;
    for (std::size_t i = 0; i < r.counts.size(); ++i) {
      const auto& c = r.counts[i];
      const double clicks = static_cast<double>(std::min(c.clicks, c.exposures));
      const double misses = static_cast<double>(c.exposures) - clicks;
      const double draw = sample_beta(r.config.prior_alpha + clicks, r.config.prior_beta + misses);
      if (draw > best) {
        best = draw;
        arm = i;
      }
    }
  }
  return Assignment{r.config.id, arm, r.config.arms[arm].strategy};
}

Experiments::Running* Experiments::find(const std::string& placement,
                                        const Assignment& assignment) {
  auto it = running_.find(placement);
  if (it == running_.end() || it->second.config.id != assignment.experiment_id ||
      assignment.arm >= it->second.counts.size()) {
    return nullptr;
  }
  return &it->second;
}

void Experiments::record_exposure(const std::string& placement, const Assignment& assignment) {
  std::lock_guard lock(mutex_);
  if (auto* r = find(placement, assignment)) ++r->counts[assignment.arm].exposures;
}

void Experiments::record_click(const std::string& placement, const Assignment& assignment) {
  std::lock_guard lock(mutex_);
  if (auto* r = find(placement, assignment)) ++r->counts[assignment.arm].clicks;
}

void Experiments::record_conversion(const std::string& placement, const Assignment& assignment) {
  std::lock_guard lock(mutex_);
  if (auto* r = find(placement, assignment)) ++r->counts[assignment.arm].conversions;
}

std::optional<ExperimentStats> Experiments::stats(const std::string& placement) const {
  std::lock_guard lock(mutex_);
  auto it = running_.find(placement);
  if (it == running_.end()) return std::nullopt;
  const Running& r = it->second;
  ExperimentStats out;
  out.config = r.config;
  double total = 0;
  for (const auto& a : r.config.arms) total += a.weight;
  for (std::size_t i = 0; i < r.config.arms.size(); ++i) {
    const Counts& c = r.counts[i];
    ArmStats a;
    a.strategy = r.config.arms[i].strategy;
    a.weight = total > 0 ? r.config.arms[i].weight / total : 0;
    a.exposures = c.exposures;
    a.clicks = c.clicks;
    a.conversions = c.conversions;
    a.ctr = wilson_interval(c.clicks, c.exposures);
    a.conversion = wilson_interval(c.conversions, c.exposures);
    out.arms.push_back(std::move(a));
  }
  return out;
}

json experiment_stats_json(const ExperimentStats& stats) {
  json arms = json::array();
  for (const auto& a : stats.arms) {
    const double e = static_cast<double>(a.exposures);
    arms.push_back({{"strategy", a.strategy},
                    {"share", a.weight},
                    {"exposures", a.exposures},
                    {"clicks", a.clicks},
                    {"conversions", a.conversions},
                    {"ctr", a.exposures ? static_cast<double>(a.clicks) / e : 0.0},
                    {"ctr_ci95", {a.ctr.low, a.ctr.high}},
                    {"conversion_rate", a.exposures ? static_cast<double>(a.conversions) / e : 0.0},
                    {"conversion_ci95", {a.conversion.low, a.conversion.high}}});
  }
  json j = experiment_to_json(stats.config);
  j["stats"] = std::move(arms);
  return j;
}

}  // namespace aisle::collector::recs
