// aisle-schema-suite: runs JSON-Schema-Test-Suite files against Aisle's validator.
//
//   aisle-schema-suite [--remotes DIR] DIR...
//
// Every *.json file under each DIR (recursively) is an array of cases {description, schema,
// tests: [{description, data, valid}]}. "format" is an assertion for files under an
// "optional/format" directory and an annotation elsewhere. References to
// http://localhost:1234/<path> are served from the remotes directory (default: DIR/../remotes of
// the first DIR); nothing is fetched from a network. Each test is validated twice, on the fast
// path and collecting errors, and passes only when both agree with the expected result.
//
// Output: one "<file>: P passed, F failed" line per file, every failing test, then
// "N passed, M failed". Exit status: 0 all passed, 1 some failed, 2 usage error or unreadable
// file.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/schema/validator.hpp"

namespace {

namespace fs = std::filesystem;
using aisle::schema::CompiledSchema;
using aisle::schema::CompileOptions;
using aisle::schema::ValidationError;
using nlohmann::json;

constexpr std::string_view kRemotePrefix = "http://localhost:1234/";
constexpr int kExitFailures = 1;
constexpr int kExitUsage = 2;

// Reads and parses a JSON file; nullopt when unreadable or malformed (no exceptions).
std::unique_ptr<json> read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto document = std::make_unique<json>(json::parse(buffer.str(), nullptr, false));
  if (document->is_discarded()) return nullptr;
  return document;
}

// Serves http://localhost:1234/<path> from a directory; documents stay loaded for the whole run
// (compile() requires them to outlive it).
class Remotes {
 public:
  explicit Remotes(fs::path dir) : dir_(std::move(dir)) {}

  const json* find(std::string_view uri) {
    if (uri.substr(0, kRemotePrefix.size()) != kRemotePrefix) return nullptr;
    const std::string relative(uri.substr(kRemotePrefix.size()));
    const auto cached = cache_.find(relative);
    if (cached != cache_.end()) return cached->second.get();
    std::unique_ptr<json> document;
    const fs::path path = fs::path(relative).lexically_normal();
    if (!path.empty() && path.is_relative() && *path.begin() != "..") {
      document = read_json(dir_ / path);
    }
    return cache_.emplace(relative, std::move(document)).first->second.get();
  }

 private:
  fs::path dir_;
  std::map<std::string, std::unique_ptr<json>> cache_;
};

struct Totals {
  int passed = 0;
  int failed = 0;
  bool unreadable = false;
};

std::string text_of(const json& value, std::string_view key) {
  const auto it = value.find(key);
  return it != value.end() && it->is_string() ? it->get<std::string>() : std::string("?");
}

void print_failure(const std::string& file, const std::string& case_name,
                   const std::string& test_name, const std::string& detail) {
  std::cout << "FAIL " << file << ": " << case_name << " / " << test_name << ": " << detail << "\n";
}

void run_file(const fs::path& path, Remotes& remotes, Totals& totals) {
  const std::string file = path.generic_string();
  const auto cases = read_json(path);
  if (!cases || !cases->is_array()) {
    std::cerr << file << ": cannot read a JSON array of test cases\n";
    totals.unreadable = true;
    return;
  }
  CompileOptions options;
  options.format_assertion = file.find("optional/format/") != std::string::npos;
  options.resolve_remote = [&remotes](std::string_view uri) { return remotes.find(uri); };
  int passed = 0;
  int failed = 0;
  for (const json& test_case : *cases) {
    const std::string case_name = text_of(test_case, "description");
    const auto tests = test_case.find("tests");
    const auto schema = test_case.find("schema");
    if (tests == test_case.end() || !tests->is_array() || schema == test_case.end()) {
      std::cerr << file << ": case '" << case_name << "' has no schema or tests\n";
      totals.unreadable = true;
      continue;
    }
    auto compiled = CompiledSchema::compile(*schema, options);
    for (const json& test : *tests) {
      const std::string test_name = text_of(test, "description");
      const auto data = test.find("data");
      const auto valid = test.find("valid");
      if (data == test.end() || valid == test.end() || !valid->is_boolean()) {
        print_failure(file, case_name, test_name, "malformed test (needs data and valid)");
        ++failed;
        continue;
      }
      if (!compiled) {
        print_failure(file, case_name, test_name,
                      "schema does not compile: " + compiled.error().message);
        ++failed;
        continue;
      }
      const bool expected = valid->get<bool>();
      const bool fast = (*compiled)->validate(*data);
      std::vector<ValidationError> errors;
      const bool full = (*compiled)->validate(*data, &errors);
      if (fast == expected && full == expected && errors.empty() == expected) {
        ++passed;
        continue;
      }
      ++failed;
      std::string detail = std::string("expected ") + (expected ? "valid" : "invalid") + ", got " +
                           (fast ? "valid" : "invalid");
      if (fast != full)
        detail += " (but " + std::string(full ? "valid" : "invalid") + " when collecting errors)";
      if (full && !errors.empty()) detail += " (valid, yet errors were reported)";
      for (std::size_t i = 0; i < errors.size() && i < 5; ++i) {
        detail += "\n    " + aisle::schema::to_string(errors[i]);
      }
      print_failure(file, case_name, test_name, detail);
    }
  }
  std::cout << file << ": " << passed << " passed, " << failed << " failed\n";
  totals.passed += passed;
  totals.failed += failed;
}

int usage(const char* message) {
  std::cerr << "aisle-schema-suite: " << message
            << "\nusage: aisle-schema-suite [--remotes DIR] DIR...\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> dirs;
  fs::path remotes_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--remotes") {
      if (i + 1 >= argc) return usage("--remotes needs a directory");
      remotes_dir = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      std::cout << "usage: aisle-schema-suite [--remotes DIR] DIR...\n";
      return 0;
    } else if (!arg.empty() && arg.front() == '-') {
      return usage("unknown option");
    } else {
      dirs.emplace_back(arg);
    }
  }
  if (dirs.empty()) return usage("no test directory given");
  if (remotes_dir.empty()) remotes_dir = dirs.front().lexically_normal() / ".." / "remotes";

  std::vector<fs::path> files;
  bool unreadable = false;
  for (const fs::path& dir : dirs) {
    std::error_code error;
    if (fs::is_regular_file(dir, error)) {
      files.push_back(dir);
      continue;
    }
    if (!fs::is_directory(dir, error)) {
      std::cerr << dir.generic_string() << ": not a readable directory\n";
      unreadable = true;
      continue;
    }
    for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end;
         it.increment(error)) {
      if (it->is_regular_file(error) && it->path().extension() == ".json") {
        files.push_back(it->path());
      }
    }
    if (error) {
      std::cerr << dir.generic_string() << ": " << error.message() << "\n";
      unreadable = true;
    }
  }
  std::sort(files.begin(), files.end());

  Remotes remotes(remotes_dir);
  Totals totals;
  for (const fs::path& file : files) run_file(file, remotes, totals);
  std::cout << totals.passed << " passed, " << totals.failed << " failed\n";
  if (unreadable || totals.unreadable) return kExitUsage;
  return totals.failed > 0 ? kExitFailures : 0;
}
