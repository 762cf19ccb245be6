// libFuzzer target: the audit log's line parser and chain verifier (common/audit_chain.hpp), which
// `aislectl audit verify` and the collector at start run on a file anyone may have edited.
// Invariants: a line that parses is its own canonical encoding and carries its own hash; a chain
// that verifies has one record per line; a failure names a line that exists.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/audit_chain.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  aisle::audit::ParseLimits limits;
  limits.max_line_bytes = 64 * 1024;

  auto record = aisle::audit::parse_line(text, limits);
  if (record) {
    if (aisle::audit::encode_line(*record) != text) std::abort();
    if (aisle::audit::compute_hash(*record) != record->hash) std::abort();
    if (record->seq == 0 || !record->details.is_object()) std::abort();
  }

  const auto report = aisle::audit::verify_text(text, limits);
  std::size_t lines = 0;
  for (const char c : text) lines += c == '\n' ? 1 : 0;
  const bool torn = !text.empty() && text.back() != '\n';
  if (report.ok) {
    if (torn || report.records != lines || report.bad_line != 0) std::abort();
    if (report.records > 0 && report.last_seq != report.records) std::abort();
  } else {
    if (report.bad_line == 0 || report.bad_line > lines + (torn ? 1 : 0)) std::abort();
    if (report.records != report.bad_line - 1 || report.reason.empty()) std::abort();
    if (report.torn_tail && !(torn && report.bad_line == lines + 1)) std::abort();
  }
  return 0;
}
