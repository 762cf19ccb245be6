// OnlineLogistic: logistic regression trained one example at a time (SGD with AdaGrad per-weight
// learning rates and L2), over a fixed feature layout: a few hashed categorical features (one
// active weight each, "field=value" hashed into 2^hash_bits slots) plus a dense numeric block and
// a bias. docs/propensity.md, "Method".
//
// Not thread-safe: the owner (PropensityModel) serialises calls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace aisle::collector::segments {

inline constexpr std::size_t kCategoricalFeatures =
    5;                                              // event type, channel, store, category, hour
inline constexpr std::size_t kNumericFeatures = 9;  // see session_features.hpp

// One example's inputs: slots of the hashed categorical features and the numeric values (already
// transformed to a small range). 56 bytes.
struct FeatureVector {
  std::array<std::uint32_t, kCategoricalFeatures> slots{};
  std::array<float, kNumericFeatures> numeric{};
};

// 64-bit FNV-1a of "field=value", the hash of categorical features (stable across versions, so
// saved weights keep their meaning).
std::uint64_t feature_hash(std::string_view field, std::string_view value);

struct LogisticParams {
  int hash_bits = 18;          // 2^18 hashed slots
  double learning_rate = 0.1;  // AdaGrad base rate eta: step = eta / sqrt(1 + sum g^2)
  double l2 = 1e-6;            // L2 penalty applied to the weights an example touches
};

class OnlineLogistic {
 public:
  explicit OnlineLogistic(LogisticParams params);

  // Slot of a categorical value in the hashed block.
  std::uint32_t slot(std::string_view field, std::string_view value) const;
  // P(label = 1 | x).
  double predict(const FeatureVector& x) const;
  // One AdaGrad step on the log-loss of (x, label) plus L2 on the touched weights.
  void update(const FeatureVector& x, bool label);

  std::uint64_t updates() const { return updates_; }
  const LogisticParams& params() const { return params_; }
  // Weights and accumulated squared gradients, as bytes held.
  std::size_t memory_bytes() const;

  // Sparse form: {"hash_bits","learning_rate","l2","updates","weights":[[index,w,g2],...]} with
  // only the non-zero weights (index: hashed slots, then numeric, then bias).
  nlohmann::json to_json() const;
  // Refuses a document whose hash_bits differ from `params` (the saved slots would mean other
  // features) or whose indexes are out of range.
  static Result<OnlineLogistic> from_json(const nlohmann::json& j, LogisticParams params);

 private:
  std::size_t numeric_base() const { return std::size_t{1} << params_.hash_bits; }
  std::size_t bias_index() const { return numeric_base() + kNumericFeatures; }
  void step(std::size_t index, double gradient);

  LogisticParams params_;
  std::vector<float> weights_;
  std::vector<float> grad_squares_;
  std::uint64_t updates_ = 0;
};

}  // namespace aisle::collector::segments
