#include "collector/segments/segment_store.hpp"

#include <map>

namespace aisle::collector::segments {
namespace {

constexpr const char* kSteps[] = {
    R"sql(
-- Every version of every definition; never rewritten, so a rollback can return to any of them.
CREATE TABLE segment_versions (
  segment_id TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  definition TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (segment_id, version)
) WITHOUT ROWID;
-- The version that serves (0 before the first backfill finished), and retirement (DELETE).
CREATE TABLE segments (
  segment_id     TEXT    PRIMARY KEY,
  active_version INTEGER NOT NULL,
  retired        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE members (
  segment_id TEXT    NOT NULL,
  profile_id TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  entered_at INTEGER NOT NULL,
  PRIMARY KEY (segment_id, profile_id)
) WITHOUT ROWID;
)sql",
};

}  // namespace

Result<std::unique_ptr<SegmentStore>> SegmentStore::open(const std::string& path,
                                                         bool synchronous_full) {
  WalWriterSettings settings;
  settings.synchronous_full = synchronous_full;
  settings.cache_kib = 8 * 1024;
  auto db = open_wal_writer(path, settings);
  if (!db) return db.error();
  SchemaMigrations schema{kSegmentStoreApplicationId, kSteps, 1, "segment database", "segment"};
  if (auto s = migrate_schema(*db, schema); !s) return s.error();
  return std::unique_ptr<SegmentStore>(new SegmentStore(std::move(*db)));
}

Status SegmentStore::add_version(const std::string& segment_id, const StoredVersion& version) {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached(
      "INSERT INTO segment_versions (segment_id, version, definition, created_at) "
      "VALUES (?, ?, ?, ?)");
  if (!st) return st.error();
  ResetGuard guard(**st);
  (*st)->bind_text(1, segment_id);
  (*st)->bind_int64(2, version.version);
  (*st)->bind_text(3, version.definition);
  (*st)->bind_int64(4, version.created_at);
  if (auto s = (*st)->run(); !s) return s;
  auto seg = db_.cached(
      "INSERT INTO segments (segment_id, active_version, retired) VALUES (?, 0, 0) "
      "ON CONFLICT (segment_id) DO UPDATE SET retired = 0");
  if (!seg) return seg.error();
  ResetGuard seg_guard(**seg);
  (*seg)->bind_text(1, segment_id);
  return (*seg)->run();
}

Status SegmentStore::set_active(const std::string& segment_id, std::uint32_t version,
                                bool retired) {
  const std::lock_guard lock(mutex_);
  auto st = db_.cached("UPDATE segments SET active_version = ?, retired = ? WHERE segment_id = ?");
  if (!st) return st.error();
  ResetGuard guard(**st);
  (*st)->bind_int64(1, version);
  (*st)->bind_int64(2, retired ? 1 : 0);
  (*st)->bind_text(3, segment_id);
  return (*st)->run();
}

Status SegmentStore::write_members(const std::vector<MemberWrite>& writes) {
  if (writes.empty()) return ok_status();
  const std::lock_guard lock(mutex_);
  if (auto s = db_.exec("BEGIN IMMEDIATE"); !s) return s;
  auto upsert = db_.cached(
      "INSERT INTO members (segment_id, profile_id, version, entered_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (segment_id, profile_id) DO UPDATE SET version = excluded.version, "
      "entered_at = excluded.entered_at");
  auto remove = db_.cached("DELETE FROM members WHERE segment_id = ? AND profile_id = ?");
  if (!upsert || !remove) {
    db_.rollback_quietly();
    return upsert ? remove.error() : upsert.error();
  }
  for (const auto& w : writes) {
    SqliteStatement& st = w.entered ? **upsert : **remove;
    ResetGuard guard(st);
    st.bind_text(1, w.member.segment_id);
    st.bind_text(2, w.member.profile_id);
    if (w.entered) {
      st.bind_int64(3, w.member.version);
      st.bind_int64(4, w.member.entered_at);
    }
    if (auto s = st.run(); !s) {
      db_.rollback_quietly();
      return s;
    }
  }
  if (auto s = db_.exec("COMMIT"); !s) {
    db_.rollback_quietly();
    return s;
  }
  return ok_status();
}

Result<std::vector<StoredSegment>> SegmentStore::load_segments() {
  const std::lock_guard lock(mutex_);
  std::map<std::string, StoredSegment> by_id;
  auto seg = db_.prepare("SELECT segment_id, active_version, retired FROM segments");
  if (!seg) return seg.error();
  while (true) {
    auto row = seg->step();
    if (!row) return row.error();
    if (!*row) break;
    StoredSegment s;
    s.segment_id = std::string(seg->column_text(0));
    s.active_version = static_cast<std::uint32_t>(seg->column_int64(1));
    s.retired = seg->column_int64(2) != 0;
    by_id[s.segment_id] = std::move(s);
  }
  auto ver = db_.prepare(
      "SELECT segment_id, version, definition, created_at FROM segment_versions "
      "ORDER BY segment_id, version");
  if (!ver) return ver.error();
  while (true) {
    auto row = ver->step();
    if (!row) return row.error();
    if (!*row) break;
    auto it = by_id.find(std::string(ver->column_text(0)));
    if (it == by_id.end()) continue;
    it->second.versions.push_back(StoredVersion{static_cast<std::uint32_t>(ver->column_int64(1)),
                                                std::string(ver->column_text(2)),
                                                ver->column_int64(3)});
  }
  std::vector<StoredSegment> out;
  for (auto& [id, s] : by_id) out.push_back(std::move(s));
  return out;
}

Result<std::vector<StoredMember>> SegmentStore::load_members() {
  const std::lock_guard lock(mutex_);
  auto st = db_.prepare("SELECT segment_id, profile_id, version, entered_at FROM members");
  if (!st) return st.error();
  std::vector<StoredMember> out;
  while (true) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(StoredMember{std::string(st->column_text(0)), std::string(st->column_text(1)),
                               static_cast<std::uint32_t>(st->column_int64(2)),
                               st->column_int64(3)});
  }
  return out;
}

}  // namespace aisle::collector::segments
