#include "common/aislectl/schema_command.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

#include "common/event_validator.hpp"
#include "common/schema/registry.hpp"

namespace aisle::ctl {
namespace {

constexpr const char* kUsage =
    "Usage: aislectl schema check [--schemas DIR]... [--max-event-bytes N] FILE...\n"
    "       aislectl schema list [--schemas DIR]...\n"
    "\n"
    "check  validates events (one JSON event, a JSON array, or NDJSON per file; '-' reads\n"
    "       stdin) against the built-in schemas plus every --schemas DIR, and prints every\n"
    "       error as FILE:LINE: record N: /json/pointer: keyword: message.\n"
    "       Exit 0 when all are valid, 1 when any is invalid, 2 on usage or I/O errors.\n"
    "list   prints the registered schema URIs.\n";

bool read_all(const std::string& path, std::string& out) {
  if (path == "-") {
    std::stringstream buffer;
    buffer << std::cin.rdbuf();
    out = buffer.str();
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

}  // namespace

int run_schema_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string verb = args[0];
  std::vector<std::string> dirs{schema::default_schemas_dir()};
  std::vector<std::string> files;
  EventValidatorOptions options;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--schemas" && i + 1 < args.size()) {
      dirs.push_back(args[++i]);
    } else if (args[i] == "--max-event-bytes" && i + 1 < args.size()) {
      options.limits.max_bytes = std::stoul(args[++i]);
    } else if (args[i].rfind("--", 0) == 0) {
      std::cerr << "aislectl schema: unknown option " << args[i] << "\n" << kUsage;
      return 2;
    } else {
      files.push_back(args[i]);
    }
  }
  auto registry = schema::Registry::load(dirs);
  if (!registry) {
    std::cerr << "aislectl schema: cannot load schemas:\n" << registry.error().message << "\n";
    return 2;
  }
  if (verb == "list") {
    for (const auto& uri : (*registry)->uris()) std::cout << uri << "\n";
    return 0;
  }
  if (verb != "check" || files.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  auto holder = std::make_shared<schema::RegistryHolder>(*registry);
  EventValidator validator(holder, options);
  std::size_t valid = 0, invalid = 0;
  bool io_error = false;
  for (const auto& file : files) {
    std::string text;
    if (!read_all(file, text)) {
      std::cerr << file << ": cannot read\n";
      io_error = true;
      continue;
    }
    auto records = split_records(text, BodyFormat::kAuto);
    if (!records) {
      std::cout << file << ": " << records.error().message << "\n";
      ++invalid;
      continue;
    }
    for (const auto& record : *records) {
      Event event;
      std::vector<schema::ValidationError> errors;
      if (validator.check_text(record.text, event, errors)) {
        ++valid;
        continue;
      }
      ++invalid;
      for (const auto& e : errors) {
        std::cout << file << ":" << record.line << ": record " << record.index << ": "
                  << schema::to_string(e) << "\n";
      }
    }
  }
  std::cout << valid << " valid, " << invalid << " invalid\n";
  if (io_error) return 2;
  return invalid ? 1 : 0;
}

}  // namespace aisle::ctl
