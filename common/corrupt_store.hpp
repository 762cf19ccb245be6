// What a daemon does when one of its SQLite stores is corrupt or truncated at start: move the
// damaged file (and its -wal/-shm) aside, log it loudly, count it and open a fresh store — so a
// gateway starts instead of crash-looping under systemd's Restart=on-failure, and no byte of the
// damaged file is deleted. Or, when configured, refuse to start.
//
// The helper knows nothing of SQLite: a store's open function reports a damaged file as
// kDataLoss (SQLITE_CORRUPT / SQLITE_NOTADB, a failed PRAGMA quick_check, an invalid meta row),
// and open_or_move_aside() runs it again once after moving the file.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle {

enum class OnCorrupt {
  kMoveAside,  // rename to <path>.corrupt-<UTC stamp>, then open a fresh store (the default)
  kRefuse,     // fail the open (the daemon exits; the operator decides)
};
// "move_aside" / "refuse".
std::optional<OnCorrupt> parse_on_corrupt(std::string_view text);
const char* on_corrupt_name(OnCorrupt policy);

// How much of the file is checked at open.
enum class StartupCheck {
  kQuick,   // PRAGMA quick_check: reads every page (O(file size)); finds damaged pages anywhere
  kHeader,  // only what opening reads (header, schema, the store's own start-up queries)
};
// "quick" / "header".
std::optional<StartupCheck> parse_startup_check(std::string_view text);
const char* startup_check_name(StartupCheck check);

struct CorruptStorePolicy {
  OnCorrupt on_corrupt = OnCorrupt::kMoveAside;
  StartupCheck startup_check = StartupCheck::kQuick;
};

// Where and how a damaged store is reported.
struct CorruptStoreReport {
  std::string store;        // the metric label and log field: "outbox", "events", "profiles", ...
  std::string metric_name;  // "aisle_agent_store_corrupt_total" / "aisle_collector_store_..."
  metrics::Registry* metrics = nullptr;  // may be null (no metric)
  const log::Logger* logger = nullptr;   // may be null (a logger named "store")
  ClockPtr clock;                        // for the file name's stamp; null: the system clock
};

// "<path>.corrupt-20261129T181502Z" for `now`; when that exists already (two damaged files in the
// same second), "-2", "-3", ... is appended.
std::string corrupt_aside_path(const std::string& path, UnixMillis now);

// Renames `path` and, when present, `path-wal`, `path-shm` and `path-journal` to
// corrupt_aside_path(path, now) plus the same suffix (so `sqlite3 <moved>` opens the moved file
// together with its WAL). Returns the new path of the main file. Never deletes; fails with kIo
// (naming the file) if a rename fails, after which the files not yet moved stay where they were.
Result<std::string> move_store_aside(const std::string& path, UnixMillis now);

// The cheap truncation check of StartupCheck::kHeader (one stat per file): kDataLoss when the
// database header says `page_count` pages of `page_size` bytes but the file at `path` is shorter
// and no WAL beside it could hold the missing pages (`path-wal` absent or empty).
Status check_not_truncated(const std::string& path, std::int64_t page_count,
                           std::int64_t page_size);

// Runs `open`; when it fails with kDataLoss: under kRefuse, logs at error and returns the error
// (with a hint naming the setting); under kMoveAside, logs at error (path, error, where the file
// went), counts it in report.metric_name{store}, moves the files aside and runs `open` once more.
// Any other error, or a second failure, is returned unchanged. The counter is registered (at 0)
// on every call, so the series exists for alerting before anything happened.
template <typename T>
Result<T> open_or_move_aside(const std::string& path, const CorruptStorePolicy& policy,
                             const CorruptStoreReport& report,
                             const std::function<Result<T>()>& open);

// The non-template part of open_or_move_aside: handles one kDataLoss failure. Returns ok when the
// files were moved aside (the caller opens again), the error to return otherwise.
Status handle_corrupt_store(const std::string& path, const CorruptStorePolicy& policy,
                            const CorruptStoreReport& report, const Error& error);
// Registers the counter at 0 (see open_or_move_aside).
void register_corrupt_store_counter(const CorruptStoreReport& report);

template <typename T>
Result<T> open_or_move_aside(const std::string& path, const CorruptStorePolicy& policy,
                             const CorruptStoreReport& report,
                             const std::function<Result<T>()>& open) {
  register_corrupt_store_counter(report);
  Result<T> opened = open();
  if (opened.ok() || opened.error().code != ErrorCode::kDataLoss) return opened;
  // `opened` holds the error only: every handle on the file is closed by now.
  if (auto moved = handle_corrupt_store(path, policy, report, opened.error()); !moved.ok()) {
    return moved.error();
  }
  return open();
}

}  // namespace aisle
