// The start-up checks of a StartupCheck (common/corrupt_store.hpp) over an open SQLite database,
// shared by the agent's and the collector's SqliteDb wrappers (both offer prepare(), step(),
// column_text() and query_int64() with the same meaning). Included only by their .cpp files.
#pragma once

#include <string>
#include <string_view>

#include "common/corrupt_store.hpp"
#include "common/result.hpp"

namespace aisle {

// PRAGMA quick_check: kDataLoss naming `path` and the first findings when the b-tree structure is
// damaged. At most 5 findings: enough to name the damage without reading a broken file's list.
template <typename Db>
Status sqlite_quick_check(Db& db, const std::string& path) {
  auto stmt = db.prepare("PRAGMA quick_check(5)");
  if (!stmt.ok()) return stmt.error();
  std::string findings;
  for (;;) {
    auto row = stmt->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    const std::string_view line = stmt->column_text(0);
    if (line == "ok") continue;
    if (!findings.empty()) findings += "; ";
    findings += line;
  }
  if (findings.empty()) return ok_status();
  return make_error(ErrorCode::kDataLoss, "quick_check of " + path + ": " + findings);
}

// kHeader: reads the header (a file that is not a database fails here with SQLITE_NOTADB) and
// compares the page count with the file size (truncation); kQuick adds sqlite_quick_check().
template <typename Db>
Status sqlite_startup_check(Db& db, const std::string& path, StartupCheck check) {
  auto page_size = db.query_int64("PRAGMA page_size");
  if (!page_size.ok()) return page_size.error();
  auto page_count = db.query_int64("PRAGMA page_count");
  if (!page_count.ok()) return page_count.error();
  if (auto s = check_not_truncated(path, *page_count, *page_size); !s.ok()) return s;
  return check == StartupCheck::kQuick ? sqlite_quick_check(db, path) : ok_status();
}

}  // namespace aisle
