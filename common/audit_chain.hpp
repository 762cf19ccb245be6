// The audit chain format: one JSON record per line, each carrying the SHA-256 of the previous
// record, so an edit, deletion, insertion or reordering anywhere in the file is detected by
// recomputing the chain (docs/operations.md, "Audit trail").
//
// Shared by the collector, which writes the log (collector/audit/audit_log.hpp), and by
// `aislectl audit verify`, which checks it; it lives in common/ because the tool may not depend on
// the collector.
//
// Canonical text (what is hashed, and what is written): the record as a JSON object serialized
// with keys in byte order, no whitespace, strings as UTF-8 with only '"', '\\' and control
// characters escaped (\b \f \n \r \t, others as \u00xx), integers in decimal and other numbers
// in their shortest round-trip form (nlohmann::json::dump() of an object). A record line is the
// canonical text of all eight fields; `hash` is the SHA-256 (lowercase hex) of the canonical text
// of the other seven (the object without `hash`). A line that parses but is not byte-for-byte its
// own canonical text is refused, so not even whitespace can be changed unnoticed.
//
// Pure functions, thread-safe. verify_file() blocks on reading the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::audit {

// `prev` of the first record (seq 1).
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct AuditRecord {
  std::uint64_t seq = 0;  // 1 for the first record, +1 for each next one
  UnixMillis at = 0;      // written as RFC 3339 UTC with milliseconds
  std::string actor;      // who: "admin:<key name>", "agent:<store>:<agent>", "system"
  std::string action;     // what: "profile.erase", "consent.change", "profile.merge", ...
  std::string target;     // on what: a profile id, an erasure id, "" when none
  nlohmann::json details = nlohmann::json::object();  // always an object
  std::string prev;  // hash of the previous record (kGenesisHash for seq 1)
  std::string hash;  // SHA-256 hex of canonical_text(*this)
};

// Limits of the parser (untrusted input: the file may have been edited by anyone).
struct ParseLimits {
  std::size_t max_line_bytes = 1024 * 1024;
  std::size_t max_depth = 32;
};

// The hashed text: the record without `hash`.
std::string canonical_text(const AuditRecord& record);
// SHA-256 (lowercase hex) of canonical_text(record).
std::string compute_hash(const AuditRecord& record);
// The line as written (without the trailing newline): canonical text of all fields.
std::string encode_line(const AuditRecord& record);

// Parses one line (without its newline) and checks it on its own: a JSON object with exactly the
// eight fields of the right types, `at` a valid timestamp, the text canonical, `hash` matching.
// kInvalidArgument with the reason otherwise. Chain links (seq, prev) are checked by verify.
Result<AuditRecord> parse_line(std::string_view line, const ParseLimits& limits = {});

struct VerifyReport {
  bool ok = false;
  std::uint64_t records = 0;   // records that verified before the first bad line (all when ok)
  std::size_t bad_line = 0;    // 1-based line number of the first bad line; 0 when ok
  std::string reason;          // why that line is bad ("wrong hash", "seq gap: ...", ...)
  bool torn_tail = false;      // the bad line is a last line without newline (interrupted write)
  std::uint64_t last_seq = 0;  // of the last good record (0: none)
  std::string last_hash;       // of the last good record (kGenesisHash: none)
};

// Checks a whole log: every line parses (parse_line), seq starts at 1 and grows by one, each
// `prev` is the hash of the record before. The file must end with a newline: a last line
// without one is reported as a torn tail (a write interrupted by a crash, or a truncation).
// Records removed from the end leave a shorter valid chain: compare last_seq/last_hash with an
// anchor kept elsewhere (the collector logs and exports both) to detect that.
VerifyReport verify_text(std::string_view content, const ParseLimits& limits = {});
// verify_text over a file; kNotFound / kIo when it cannot be read.
Result<VerifyReport> verify_file(const std::string& path, const ParseLimits& limits = {});

}  // namespace aisle::audit
