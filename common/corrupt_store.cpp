#include "common/corrupt_store.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace aisle {
namespace {

const log::Logger kDefaultLogger("store");
const char* const kCounterHelp =
    "Stores found corrupt or truncated at open (moved aside or refused)";

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// 20261129T181502Z: sortable, no ':' (awkward in shells and on some file systems).
std::string compact_utc(UnixMillis now) {
  const std::time_t seconds = static_cast<std::time_t>(now / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// The files SQLite keeps beside a database; moved with it so the moved copy stays complete.
constexpr const char* kCompanionSuffixes[] = {"-wal", "-shm", "-journal"};

}  // namespace

std::optional<OnCorrupt> parse_on_corrupt(std::string_view text) {
  if (text == "move_aside") return OnCorrupt::kMoveAside;
  if (text == "refuse") return OnCorrupt::kRefuse;
  return std::nullopt;
}

const char* on_corrupt_name(OnCorrupt policy) {
  return policy == OnCorrupt::kMoveAside ? "move_aside" : "refuse";
}

std::optional<StartupCheck> parse_startup_check(std::string_view text) {
  if (text == "quick") return StartupCheck::kQuick;
  if (text == "header") return StartupCheck::kHeader;
  return std::nullopt;
}

const char* startup_check_name(StartupCheck check) {
  return check == StartupCheck::kQuick ? "quick" : "header";
}

std::string corrupt_aside_path(const std::string& path, UnixMillis now) {
  const std::string base = path + ".corrupt-" + compact_utc(now);
  auto taken = [](const std::string& candidate) {
    if (exists(candidate)) return true;
    for (const char* suffix : kCompanionSuffixes) {
      if (exists(candidate + suffix)) return true;
    }
    return false;
  };
  if (!taken(base)) return base;
  for (int n = 2;; ++n) {
    const std::string candidate = base + "-" + std::to_string(n);
    if (!taken(candidate)) return candidate;
  }
}

Result<std::string> move_store_aside(const std::string& path, UnixMillis now) {
  const std::string target = corrupt_aside_path(path, now);
  // Companions first: a crash in between leaves the main file in place with fewer companions,
  // which SQLite opens as it would after a checkpoint — never a moved file missing its WAL
  // while a new database reuses the old WAL.
  for (const char* suffix : kCompanionSuffixes) {
    const std::string from = path + suffix;
    if (!exists(from)) continue;
    if (::rename(from.c_str(), (target + suffix).c_str()) != 0) {
      return make_error(ErrorCode::kIo, "cannot move " + from + " to " + target + suffix + ": " +
                                            std::strerror(errno));
    }
  }
  if (exists(path) && ::rename(path.c_str(), target.c_str()) != 0) {
    return make_error(ErrorCode::kIo,
                      "cannot move " + path + " to " + target + ": " + std::strerror(errno));
  }
  return target;
}

Status check_not_truncated(const std::string& path, std::int64_t page_count,
                           std::int64_t page_size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ok_status();  // a new database: nothing to check
  struct stat wal {};
  if (::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0) return ok_status();
  const std::int64_t expected = page_count * page_size;
  if (st.st_size < expected) {
    return make_error(ErrorCode::kDataLoss,
                      path + " is truncated: its header says " + std::to_string(page_count) +
                          " pages of " + std::to_string(page_size) + " bytes (" +
                          std::to_string(expected) + " bytes), the file has " +
                          std::to_string(st.st_size) + " bytes");
  }
  return ok_status();
}

void register_corrupt_store_counter(const CorruptStoreReport& report) {
  if (report.metrics == nullptr || report.metric_name.empty()) return;
  (void)report.metrics->counter(report.metric_name, kCounterHelp, {{"store", report.store}});
}

Status handle_corrupt_store(const std::string& path, const CorruptStorePolicy& policy,
                            const CorruptStoreReport& report, const Error& error) {
  const log::Logger& logger = report.logger ? *report.logger : kDefaultLogger;
  if (report.metrics != nullptr && !report.metric_name.empty()) {
    report.metrics->counter(report.metric_name, kCounterHelp, {{"store", report.store}}).inc();
  }
  if (policy.on_corrupt == OnCorrupt::kRefuse) {
    logger.error("store is corrupt or truncated; refusing to start (on_corrupt=refuse)",
                 {{"store", report.store}, {"path", path}, {"error", error.message}});
    return make_error(ErrorCode::kDataLoss,
                      error.message + " — the " + report.store + " store " + path +
                          " is damaged; move it aside (or set on_corrupt to move_aside) and "
                          "start again");
  }
  const ClockPtr clock = report.clock ? report.clock : SystemClock::instance();
  auto moved = move_store_aside(path, clock->now_unix_ms());
  if (!moved.ok()) {
    logger.error("store is corrupt or truncated and could not be moved aside",
                 {{"store", report.store},
                  {"path", path},
                  {"error", error.message},
                  {"move_error", moved.error().message}});
    return make_error(ErrorCode::kDataLoss, error.message + "; " + moved.error().message);
  }
  logger.error(
      "store is corrupt or truncated: moved aside, starting with a fresh store (the old file is "
      "kept for inspection or recovery)",
      {{"store", report.store}, {"path", path}, {"moved_to", *moved}, {"error", error.message}});
  return ok_status();
}

}  // namespace aisle
