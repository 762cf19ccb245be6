// AuditLog: the collector's append-only, hash-chained audit trail (one JSON line per record;
// format and canonical text in common/audit_chain.hpp, operations in docs/operations.md).
//
// Every admin call, consent change, merge and erasure is appended by the component that performs
// it. Records are rare (not per event), so each append is written with one write(2) and fsynced
// before it returns: a record that append() confirmed survives a crash or power loss.
//
// Restart: open() reads the last line and continues the chain from its seq and hash. A last line
// without a newline (a write interrupted by a crash) is never silently rewritten: its bytes are
// copied to "<path>.torn-<unix ms>" (fsynced), the log is cut back to its last complete line, an
// error is logged, aisle_collector_audit_torn_tails_total counts it, and the next record in the
// chain is an "audit.torn_tail" record naming the saved file and the SHA-256 of its bytes. A last
// complete line that does not parse or whose hash is wrong is refused (kDataLoss): the operator
// runs `aislectl audit verify` and decides, the collector does not continue a broken chain.
//
// Thread-safety: append() may be called from any thread (serialized by a mutex; it blocks for the
// write and the fsync, typically well under 10 ms on an SSD).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "common/audit_chain.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::collector {

struct AuditLogOptions {
  std::string path;  // created (0600) when missing; its directory must exist
  // Longest record line accepted by append() (kInvalidArgument above it) and read by open().
  std::size_t max_record_bytes = 64 * 1024;
};

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> open(const std::string& path, ClockPtr clock,
                                                metrics::Registry& registry);
  static Result<std::unique_ptr<AuditLog>> open(AuditLogOptions options, ClockPtr clock,
                                                metrics::Registry& registry);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one record and returns after it is on disk. `details` must be a JSON object (null is
  // taken as {}). Errors: kInvalidArgument (details not an object, record too large), kIo /
  // kResourceExhausted (write or fsync failed: the partial line is cut off again; if even that
  // fails the log refuses every further append with kDataLoss until the collector restarts).
  Status append(std::string actor, std::string action, std::string target, nlohmann::json details);

  // The chain's head: seq and hash of the last record (0 and the genesis hash when empty). An
  // anchor to keep elsewhere, since removing records from the end leaves a valid shorter chain.
  std::uint64_t last_seq() const;
  std::string last_hash() const;
  const std::string& path() const { return options_.path; }

 private:
  struct Metrics {
    metrics::Counter& appended;
    metrics::Counter& failures;
    metrics::Counter& torn_tails;
    metrics::Gauge& last_seq;
    metrics::Histogram& append_seconds;
  };
  AuditLog(AuditLogOptions options, ClockPtr clock, int fd, Metrics metrics);
  // Cuts a torn last line off (saving it first); returns its details for the recovery record.
  Result<nlohmann::json> recover_torn_tail(std::uint64_t complete_bytes, std::uint64_t file_bytes);
  Status append_locked(audit::AuditRecord record);

  AuditLogOptions options_;
  ClockPtr clock_;
  Metrics metrics_;

  mutable std::mutex mutex_;  // guards everything below
  int fd_ = -1;
  std::uint64_t size_ = 0;  // bytes of complete records in the file
  std::uint64_t last_seq_ = 0;
  std::string last_hash_;
  bool broken_ = false;  // a failed write could not be undone: appends are refused
};

// Checks a whole audit log file (common/audit_chain.hpp, verify_file).
inline Result<audit::VerifyReport> verify_audit_log(const std::string& path) {
  return audit::verify_file(path);
}

}  // namespace aisle::collector
