#include "collector/segments/learned/online_logistic.hpp"

#include <cmath>
#include <string>

namespace aisle::collector::segments {
namespace {

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

}  // namespace

std::uint64_t feature_hash(std::string_view field, std::string_view value) {
  std::uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::string_view text) {
    for (unsigned char c : text) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  mix(field);
  mix("=");
  mix(value);
  return h;
}

OnlineLogistic::OnlineLogistic(LogisticParams params) : params_(params) {
  const std::size_t size = numeric_base() + kNumericFeatures + 1;
  weights_.assign(size, 0.0f);
  grad_squares_.assign(size, 0.0f);
}

std::uint32_t OnlineLogistic::slot(std::string_view field, std::string_view value) const {
  return static_cast<std::uint32_t>(feature_hash(field, value) & (numeric_base() - 1));
}

double OnlineLogistic::predict(const FeatureVector& x) const {
  double z = weights_[bias_index()];
  for (auto s : x.slots) z += weights_[s];
  const std::size_t base = numeric_base();
  for (std::size_t k = 0; k < kNumericFeatures; ++k) z += weights_[base + k] * x.numeric[k];
  return sigmoid(z);
}

void OnlineLogistic::step(std::size_t index, double gradient) {
  gradient += params_.l2 * weights_[index];
  grad_squares_[index] += static_cast<float>(gradient * gradient);
  const double rate = params_.learning_rate / std::sqrt(1.0 + grad_squares_[index]);
  weights_[index] -= static_cast<float>(rate * gradient);
}

void OnlineLogistic::update(const FeatureVector& x, bool label) {
  // d(log-loss)/dz = p - y; each weight's gradient is that times its input (1 for the hashed
  // slots and the bias). Two categorical values hashing to one slot both count.
  const double error = predict(x) - (label ? 1.0 : 0.0);
  step(bias_index(), error);
  for (auto s : x.slots) step(s, error);
  const std::size_t base = numeric_base();
  for (std::size_t k = 0; k < kNumericFeatures; ++k) {
    if (x.numeric[k] != 0.0f) step(base + k, error * x.numeric[k]);
  }
  ++updates_;
}

std::size_t OnlineLogistic::memory_bytes() const {
  return sizeof(*this) + (weights_.capacity() + grad_squares_.capacity()) * sizeof(float);
}

nlohmann::json OnlineLogistic::to_json() const {
  nlohmann::json weights = nlohmann::json::array();
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    if (weights_[i] != 0.0f || grad_squares_[i] != 0.0f) {
      weights.push_back({i, weights_[i], grad_squares_[i]});
    }
  }
  return {{"hash_bits", params_.hash_bits},
          {"numeric_features", kNumericFeatures},
          {"learning_rate", params_.learning_rate},
          {"l2", params_.l2},
          {"updates", updates_},
          {"weights", std::move(weights)}};
}

Result<OnlineLogistic> OnlineLogistic::from_json(const nlohmann::json& j, LogisticParams params) {
  auto bad = [](const std::string& what) {
    return make_error(ErrorCode::kDataLoss, "model weights: " + what);
  };
  if (!j.is_object()) return bad("not an object");
  const auto bits = j.value("hash_bits", -1);
  if (bits != params.hash_bits) {
    return make_error(ErrorCode::kFailedPrecondition, "model weights: saved with hash_bits " +
                                                          std::to_string(bits) + ", configured " +
                                                          std::to_string(params.hash_bits) +
                                                          " (the slots would mean other features)");
  }
  if (j.value("numeric_features", 0) != static_cast<int>(kNumericFeatures)) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "model weights: saved with another numeric feature layout");
  }
  OnlineLogistic model(params);
  if (j.contains("updates") && j["updates"].is_number_unsigned()) {
    model.updates_ = j["updates"].get<std::uint64_t>();
  }
  const auto it = j.find("weights");
  if (it == j.end() || !it->is_array()) return bad("\"weights\" is not an array");
  for (const auto& w : *it) {
    if (!w.is_array() || w.size() != 3 || !w[0].is_number_unsigned() || !w[1].is_number() ||
        !w[2].is_number()) {
      return bad("an entry is not [index, weight, grad_squares]");
    }
    const auto index = w[0].get<std::uint64_t>();
    if (index >= model.weights_.size())
      return bad("index " + std::to_string(index) + " out of range");
    const auto weight = w[1].get<double>();
    const auto g2 = w[2].get<double>();
    if (!std::isfinite(weight) || !std::isfinite(g2) || g2 < 0) {
      return bad("entry " + std::to_string(index) + " is not finite");
    }
    model.weights_[index] = static_cast<float>(weight);
    model.grad_squares_[index] = static_cast<float>(g2);
  }
  return model;
}

}  // namespace aisle::collector::segments
