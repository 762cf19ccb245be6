// ModelVersions: the saved versions of one learned model, as files in its own directory:
// `<data>/models/<name>/v<n>.json` (everything: weights and metadata) and `v<n>.meta.json` (the
// metadata alone, so listing does not parse megabytes of weights). Versions are numbered from 1
// and never reused; each save is a new version written through a temporary file, fsync and
// rename, so a crash leaves either the old set of files or the new one.
//
// Thread-safety: calls are serialised by an internal mutex; they block on disk I/O.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/result.hpp"

namespace aisle::collector::segments {

class ModelVersions {
 public:
  // Creates the directory if needed. `max_versions` (>= 1): after a save, the oldest versions
  // beyond it are deleted (rollback can reach only the versions kept).
  static Result<ModelVersions> open(std::filesystem::path dir, std::size_t max_versions);

  ModelVersions(ModelVersions&& other) noexcept;

  // Saves a new version: `meta` (small) and `body` (merged with meta into v<n>.json). `meta`
  // gets "version": n. Returns n.
  Result<std::uint32_t> save(nlohmann::json meta, nlohmann::json body);
  // Version numbers present, ascending.
  Result<std::vector<std::uint32_t>> list() const;
  // The metadata of every version, ascending.
  Result<std::vector<nlohmann::json>> list_meta() const;
  // The full document of version n (kNotFound when absent, kDataLoss when unreadable).
  Result<nlohmann::json> load(std::uint32_t version) const;
  std::uint32_t latest() const;  // 0 when none

  const std::filesystem::path& dir() const { return dir_; }

 private:
  ModelVersions(std::filesystem::path dir, std::size_t max_versions)
      : dir_(std::move(dir)), max_versions_(max_versions) {}
  std::filesystem::path file(std::uint32_t version, bool meta) const;
  Result<std::vector<std::uint32_t>> scan() const;

  std::filesystem::path dir_;
  std::size_t max_versions_ = 50;
  mutable std::mutex mutex_;
  std::uint32_t latest_ = 0;
};

}  // namespace aisle::collector::segments
