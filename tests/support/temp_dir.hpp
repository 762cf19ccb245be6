// TempDir: a fresh directory under $TMPDIR removed (recursively) when the test ends.
#pragma once

#include <filesystem>
#include <string>

namespace aisle::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "aisle-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path` (creating parent directories).
void write_file(const std::filesystem::path& path, const std::string& content);
std::string read_file(const std::filesystem::path& path);

}  // namespace aisle::test
