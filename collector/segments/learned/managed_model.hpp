// ManagedModel: what the model API (collector/api/model_api.hpp) needs from a learned model:
// its figures, its saved versions and a rollback. Implemented by PropensityModel.
// Called from HTTP worker threads: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace aisle::collector::segments {

class ManagedModel {
 public:
  virtual ~ManagedModel() = default;
  virtual std::string name() const = 0;
  // {"name","version","examples","auc","log_loss",...}: the live model.
  virtual nlohmann::json describe() const = 0;
  // Metadata of the saved versions, ascending.
  virtual Result<std::vector<nlohmann::json>> versions() const = 0;
  // Replaces the live weights with saved version `version`, saved again as a new version (so
  // history only grows); returns describe() afterwards. kNotFound when the version is absent.
  virtual Result<nlohmann::json> rollback(std::uint32_t version) = 0;
};

}  // namespace aisle::collector::segments
