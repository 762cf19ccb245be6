#include "common/aislectl/audit_command.hpp"

#include <exception>
#include <iostream>

#include "common/audit_chain.hpp"

namespace aisle::ctl {
namespace {

constexpr const char* kUsage =
    "Usage: aislectl audit verify [--max-line-bytes N] FILE\n"
    "\n"
    "verify  recomputes the hash chain of a collector audit log (audit.log): every line must\n"
    "        be a canonical record whose hash matches, seq must start at 1 and grow by one,\n"
    "        and each prev must be the hash of the record before. Prints\n"
    "          OK: N records, last seq S, last hash H\n"
    "        or the first bad line and why. Records cut off the END of the file leave a valid,\n"
    "        shorter chain: compare the last seq and hash with an anchor kept elsewhere (the\n"
    "        collector logs them at start and exports aisle_collector_audit_last_seq).\n"
    "        Exit 0 when the chain is intact, 1 when it is not (tampered, corrupt or a torn\n"
    "        last line), 2 on usage or I/O errors.\n";

}  // namespace

int run_audit_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "verify") {
    std::cerr << "aislectl audit: unknown verb '" << args[0] << "'\n" << kUsage;
    return 2;
  }
  audit::ParseLimits limits;
  std::vector<std::string> files;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--max-line-bytes" && i + 1 < args.size()) {
      try {
        limits.max_line_bytes = std::stoul(args[++i]);
      } catch (const std::exception&) {
        std::cerr << "aislectl audit: --max-line-bytes needs a number\n";
        return 2;
      }
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (args[i].rfind("--", 0) == 0) {
      std::cerr << "aislectl audit: unknown option " << args[i] << "\n" << kUsage;
      return 2;
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.size() != 1) {
    std::cerr << "aislectl audit verify: exactly one FILE\n" << kUsage;
    return 2;
  }
  auto report = audit::verify_file(files[0], limits);
  if (!report) {
    std::cerr << "aislectl audit: " << report.error().message << "\n";
    return 2;
  }
  if (report->ok) {
    std::cout << "OK: " << report->records << " records, last seq " << report->last_seq
              << ", last hash " << report->last_hash << "\n";
    return 0;
  }
  std::cout << files[0] << ":" << report->bad_line << ": " << report->reason << "\n"
            << "FAILED: " << report->records << " records verified before line " << report->bad_line
            << "\n";
  return 1;
}

}  // namespace aisle::ctl
