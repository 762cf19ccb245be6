#include "collector/segments/learned/model_versions.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/json_text.hpp"
#include "common/log.hpp"

namespace aisle::collector::segments {
namespace {

const log::Logger kLog("collector.segments.models");

// Saved models are ours and may hold 2^hash_bits weights: a generous limit, but a limit.
const JsonLimits kModelFileLimits{512 * 1024 * 1024, 16};

Status write_atomically(const std::filesystem::path& path, const std::string& content) {
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return make_error(ErrorCode::kIo, "cannot create " + tmp + ": " + std::strerror(errno));
  }
  bool ok = true;
  std::size_t done = 0;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return make_error(ErrorCode::kIo, "cannot write " + path.string() + ": " + reason);
  }
  return ok_status();
}

Status sync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kIo, "cannot open " + dir.string());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return make_error(ErrorCode::kIo, "cannot fsync " + dir.string());
  return ok_status();
}

Result<nlohmann::json> read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "no file " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_json(text.str(), kModelFileLimits);
  if (!parsed)
    return make_error(ErrorCode::kDataLoss, path.string() + ": " + parsed.error().message);
  return std::move(*parsed);
}

}  // namespace

Result<ModelVersions> ModelVersions::open(std::filesystem::path dir, std::size_t max_versions) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
  ModelVersions versions(std::move(dir), std::max<std::size_t>(max_versions, 1));
  auto found = versions.scan();
  if (!found) return found.error();
  versions.latest_ = found->empty() ? 0 : found->back();
  return versions;
}

ModelVersions::ModelVersions(ModelVersions&& other) noexcept
    : dir_(std::move(other.dir_)), max_versions_(other.max_versions_), latest_(other.latest_) {}

std::filesystem::path ModelVersions::file(std::uint32_t version, bool meta) const {
  return dir_ / ("v" + std::to_string(version) + (meta ? ".meta.json" : ".json"));
}

Result<std::vector<std::uint32_t>> ModelVersions::scan() const {
  std::vector<std::uint32_t> versions;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    // Only "v<digits>.json": metadata and temporary files are not versions.
    if (name.size() < 7 || name[0] != 'v' || name.substr(name.size() - 5) != ".json") continue;
    const std::string digits = name.substr(1, name.size() - 6);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    versions.push_back(static_cast<std::uint32_t>(std::stoul(digits)));
  }
  if (ec) return make_error(ErrorCode::kIo, "cannot list " + dir_.string() + ": " + ec.message());
  std::sort(versions.begin(), versions.end());
  return versions;
}

Result<std::uint32_t> ModelVersions::save(nlohmann::json meta, nlohmann::json body) {
  std::lock_guard lock(mutex_);
  const std::uint32_t version = latest_ + 1;
  meta["version"] = version;
  body["meta"] = meta;
  if (auto s = write_atomically(file(version, false), body.dump()); !s) return s.error();
  if (auto s = write_atomically(file(version, true), meta.dump()); !s) return s.error();
  if (auto s = sync_dir(dir_); !s) return s.error();
  latest_ = version;
  auto all = scan();
  if (all && all->size() > max_versions_) {
    for (std::size_t k = 0; k + max_versions_ < all->size(); ++k) {
      std::error_code ec;
      std::filesystem::remove(file((*all)[k], false), ec);
      std::filesystem::remove(file((*all)[k], true), ec);
      if (ec) kLog.warn("cannot delete an old model version", {{"error", ec.message()}});
    }
  }
  return version;
}

Result<std::vector<std::uint32_t>> ModelVersions::list() const {
  std::lock_guard lock(mutex_);
  return scan();
}

Result<std::vector<nlohmann::json>> ModelVersions::list_meta() const {
  std::lock_guard lock(mutex_);
  auto versions = scan();
  if (!versions) return versions.error();
  std::vector<nlohmann::json> out;
  for (auto v : *versions) {
    auto meta = read_json(file(v, true));
    // A version whose metadata is missing (crash between the two renames) is still listed.
    out.push_back(meta ? std::move(*meta) : nlohmann::json{{"version", v}});
  }
  return out;
}

Result<nlohmann::json> ModelVersions::load(std::uint32_t version) const {
  std::lock_guard lock(mutex_);
  if (!std::filesystem::exists(file(version, false))) {
    return make_error(ErrorCode::kNotFound,
                      "no version " + std::to_string(version) + " in " + dir_.string());
  }
  return read_json(file(version, false));
}

std::uint32_t ModelVersions::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

}  // namespace aisle::collector::segments
