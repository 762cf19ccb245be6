#include "collector/audit/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/crypto.hpp"
#include "common/log.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector.audit");

constexpr std::size_t kScanChunkBytes = 64 * 1024;

Error os_error(const std::string& what, int error) {
  return make_error(
      error == ENOSPC || error == EDQUOT ? ErrorCode::kResourceExhausted : ErrorCode::kIo,
      what + ": " + std::strerror(error));
}

Result<std::string> read_range(int fd, std::uint64_t offset, std::size_t length,
                               const std::string& path) {
  std::string out(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(path + ": read", errno);
    if (n == 0) return make_error(ErrorCode::kIo, path + ": file shrank while being read");
    done += static_cast<std::size_t>(n);
  }
  return out;
}

// Offset just after the last '\n' at or before `end` (exclusive), searching at most `max_back`
// bytes; nullopt when no newline is found in that window (0 is returned when the window reaches
// the start of the file without one: the line starts there).
Result<std::optional<std::uint64_t>> line_start_before(int fd, std::uint64_t end,
                                                       std::uint64_t max_back,
                                                       const std::string& path) {
  std::uint64_t pos = end;
  while (pos > 0 && end - pos < max_back) {
    const std::uint64_t chunk =
        std::min<std::uint64_t>({kScanChunkBytes, pos, max_back - (end - pos)});
    auto data = read_range(fd, pos - chunk, static_cast<std::size_t>(chunk), path);
    if (!data) return data.error();
    const auto newline = data->rfind('\n');
    if (newline != std::string::npos) {
      return std::optional<std::uint64_t>(pos - chunk + newline + 1);
    }
    pos -= chunk;
  }
  if (pos == 0) return std::optional<std::uint64_t>(0);
  return std::optional<std::uint64_t>();
}

Status write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(what, errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

Status sync_directory_of(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error(dir + ": open directory", errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return os_error(dir + ": fsync directory", error);
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path, ClockPtr clock,
                                                 metrics::Registry& registry) {
  AuditLogOptions options;
  options.path = path;
  return open(std::move(options), std::move(clock), registry);
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(AuditLogOptions options, ClockPtr clock,
                                                 metrics::Registry& registry) {
  if (options.path.empty()) return make_error(ErrorCode::kInvalidArgument, "audit log: empty path");
  if (!clock) clock = SystemClock::instance();
  struct stat st {};
  const bool existed = ::stat(options.path.c_str(), &st) == 0;
  const int fd =
      ::open(options.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return os_error(options.path + ": open", errno);
  Metrics metrics{
      registry.counter("aisle_collector_audit_records_total", "Audit records appended"),
      registry.counter("aisle_collector_audit_append_failures_total",
                       "Audit appends that failed (write, fsync or a refused record)"),
      registry.counter("aisle_collector_audit_torn_tails_total",
                       "Torn last lines found at open, saved aside and cut off"),
      registry.gauge("aisle_collector_audit_last_seq", "seq of the last audit record"),
      registry.histogram("aisle_collector_audit_append_seconds",
                         "Duration of one audit append (write and fsync)",
                         metrics::latency_buckets_seconds()),
  };
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options), std::move(clock), fd, metrics));
  const std::string& path = log->options_.path;
  if (!existed) {
    if (auto status = sync_directory_of(path); !status) return status.error();
  }
  if (::fstat(fd, &st) != 0) return os_error(path + ": stat", errno);
  const auto file_bytes = static_cast<std::uint64_t>(st.st_size);

  // Where the complete lines end: after the last newline (any longer a tail is torn).
  auto complete = line_start_before(fd, file_bytes, file_bytes, path);
  if (!complete) return complete.error();
  const std::uint64_t complete_bytes = **complete;

  if (complete_bytes > 0) {
    const std::uint64_t line_end = complete_bytes - 1;  // the newline
    auto start = line_start_before(fd, line_end, log->options_.max_record_bytes + 1, path);
    if (!start) return start.error();
    if (!*start) {
      return make_error(ErrorCode::kDataLoss, path + ": the last record is longer than " +
                                                  std::to_string(log->options_.max_record_bytes) +
                                                  " bytes; run `aislectl audit verify " + path +
                                                  "`");
    }
    auto line = read_range(fd, **start, static_cast<std::size_t>(line_end - **start), path);
    if (!line) return line.error();
    audit::ParseLimits limits;
    limits.max_line_bytes = log->options_.max_record_bytes;
    auto last = audit::parse_line(*line, limits);
    if (!last) {
      return make_error(ErrorCode::kDataLoss,
                        path + ": the last record is bad (" + last.error().message +
                            "): the chain cannot be continued; run `aislectl audit verify " + path +
                            "`");
    }
    log->last_seq_ = last->seq;
    log->last_hash_ = last->hash;
  }
  log->size_ = complete_bytes;
  log->metrics_.last_seq.set(static_cast<double>(log->last_seq_));

  if (complete_bytes < file_bytes) {
    auto details = log->recover_torn_tail(complete_bytes, file_bytes);
    if (!details) return details.error();
    std::lock_guard lock(log->mutex_);
    audit::AuditRecord record;
    record.actor = "system";
    record.action = "audit.torn_tail";
    record.details = std::move(*details);
    if (auto status = log->append_locked(std::move(record)); !status) return status.error();
  }
  kLog.info("audit log open",
            {{"path", path}, {"records", log->last_seq_}, {"last_hash", log->last_hash_}});
  return log;
}

AuditLog::AuditLog(AuditLogOptions options, ClockPtr clock, int fd, Metrics metrics)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      metrics_(metrics),
      fd_(fd),
      last_hash_(audit::kGenesisHash) {}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

Result<nlohmann::json> AuditLog::recover_torn_tail(std::uint64_t complete_bytes,
                                                   std::uint64_t file_bytes) {
  const std::string& path = options_.path;
  const std::uint64_t torn_bytes = file_bytes - complete_bytes;
  const std::string saved = path + ".torn-" + std::to_string(clock_->now_unix_ms());
  const int out = ::open(saved.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (out < 0) return os_error(saved + ": create", errno);
  // Copied in chunks: the tail may be anything (an attacker's appended gigabytes included).
  std::string hash_input;
  Status status;
  for (std::uint64_t at = complete_bytes; status && at < file_bytes; at += kScanChunkBytes) {
    const auto length =
        static_cast<std::size_t>(std::min<std::uint64_t>(kScanChunkBytes, file_bytes - at));
    auto chunk = read_range(fd_, at, length, path);
    if (!chunk) {
      status = chunk.error();
      break;
    }
    // Small tails (the usual case: one interrupted record) are hashed whole; a large tail is
    // hashed as the concatenation of per-chunk digests, which is as tamper-evident.
    hash_input += torn_bytes <= kScanChunkBytes ? *chunk : crypto::sha256_hex(*chunk);
    status = write_all(out, *chunk, saved + ": write");
  }
  if (status && ::fsync(out) != 0) status = os_error(saved + ": fsync", errno);
  ::close(out);
  if (status) status = sync_directory_of(saved);
  if (!status) return status.error();
  if (::ftruncate(fd_, static_cast<off_t>(complete_bytes)) != 0) {
    return os_error(path + ": cut off the torn last line", errno);
  }
  if (::fsync(fd_) != 0) return os_error(path + ": fsync", errno);
  const std::string digest = crypto::sha256_hex(hash_input);
  metrics_.torn_tails.inc();
  kLog.error(
      "audit log ended with a torn line: saved aside and cut off (an interrupted write, "
      "or tampering: compare with the saved bytes)",
      {{"path", path},
       {"torn_bytes", torn_bytes},
       {"saved_to", saved},
       {"sha256", digest},
       {"last_seq", last_seq_}});
  return nlohmann::json{{"torn_bytes", torn_bytes},
                        {"saved_to", saved},
                        {"sha256", digest},
                        {"chunked_sha256", torn_bytes > kScanChunkBytes}};
}

Status AuditLog::append(std::string actor, std::string action, std::string target,
                        nlohmann::json details) {
  if (details.is_null()) details = nlohmann::json::object();
  if (!details.is_object()) {
    metrics_.failures.inc();
    return make_error(ErrorCode::kInvalidArgument,
                      "audit record " + action + ": details must be a JSON object");
  }
  audit::AuditRecord record;
  record.actor = std::move(actor);
  record.action = std::move(action);
  record.target = std::move(target);
  record.details = std::move(details);
  std::lock_guard lock(mutex_);
  return append_locked(std::move(record));
}

Status AuditLog::append_locked(audit::AuditRecord record) {
  const auto started = std::chrono::steady_clock::now();
  auto fail = [this](Error error) {
    metrics_.failures.inc();
    kLog.error("audit append failed", {{"path", options_.path}, {"error", error.message}});
    return error;
  };
  if (broken_) {
    return fail(make_error(ErrorCode::kDataLoss,
                           options_.path + ": an earlier failed write could not be undone; "
                                           "restart the collector after checking the file"));
  }
  record.seq = last_seq_ + 1;
  record.at = clock_->now_unix_ms();
  record.prev = last_hash_;
  record.hash = audit::compute_hash(record);
  std::string line = audit::encode_line(record);
  if (line.size() > options_.max_record_bytes) {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           "audit record " + record.action + " is " + std::to_string(line.size()) +
                               " bytes, limit " + std::to_string(options_.max_record_bytes)));
  }
  // What is written must verify: a record whose details do not survive a round trip (numbers
  // JSON cannot represent) is refused instead of breaking the chain.
  audit::ParseLimits limits;
  limits.max_line_bytes = options_.max_record_bytes;
  if (auto check = audit::parse_line(line, limits); !check) {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           "audit record " + record.action +
                               " cannot be written canonically: " + check.error().message));
  }
  line += '\n';
  Status status = write_all(fd_, line, options_.path + ": write");
  if (status && ::fdatasync(fd_) != 0) {
    status = os_error(options_.path + ": fdatasync", errno);
    // After a failed fsync the kernel may have dropped the pages: nothing about the file is
    // known any more, so no further record is chained onto it.
    broken_ = true;
  }
  if (!status) {
    // Cut a partial line off, so the file still ends with a complete record.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) broken_ = true;
    return fail(status.error());
  }
  size_ += line.size();
  last_seq_ = record.seq;
  last_hash_ = record.hash;
  metrics_.appended.inc();
  metrics_.last_seq.set(static_cast<double>(last_seq_));
  metrics_.append_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  kLog.debug("audit record appended",
             {{"seq", record.seq}, {"action", record.action}, {"target", record.target}});
  return ok_status();
}

std::uint64_t AuditLog::last_seq() const {
  std::lock_guard lock(mutex_);
  return last_seq_;
}

std::string AuditLog::last_hash() const {
  std::lock_guard lock(mutex_);
  return last_hash_;
}

}  // namespace aisle::collector
