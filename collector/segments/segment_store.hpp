// SegmentStore: segments.db, the durable side of the segment engine (docs/segments.md,
// "Storage"): every version of every definition, which version is active, and the membership.
// Window state is not stored: it is rebuilt at start by replaying stored events.
//
// Thread-safe (one mutex around the one writer connection). Writes are small transactions; the
// engine batches membership changes per tick.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collector/store/sqlite_db.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::collector::segments {

inline constexpr std::int64_t kSegmentStoreApplicationId = 0x41534547;  // "ASEG"

struct StoredVersion {
  std::uint32_t version = 0;
  std::string definition;  // JSON text
  UnixMillis created_at = 0;
};

struct StoredSegment {
  std::string segment_id;
  std::uint32_t active_version = 0;  // 0: none active yet
  bool retired = false;
  std::vector<StoredVersion> versions;  // ascending
};

struct StoredMember {
  std::string segment_id;
  std::string profile_id;
  std::uint32_t version = 0;
  UnixMillis entered_at = 0;
};

// One membership change to persist: an entry (upsert) or an exit (delete).
struct MemberWrite {
  bool entered = true;
  StoredMember member;
};

class SegmentStore {
 public:
  static Result<std::unique_ptr<SegmentStore>> open(const std::string& path, bool synchronous_full);

  Status add_version(const std::string& segment_id, const StoredVersion& version);
  Status set_active(const std::string& segment_id, std::uint32_t version, bool retired);
  Status write_members(const std::vector<MemberWrite>& writes);  // one transaction
  Result<std::vector<StoredSegment>> load_segments();
  Result<std::vector<StoredMember>> load_members();

 private:
  explicit SegmentStore(SqliteDb db) : db_(std::move(db)) {}
  std::mutex mutex_;
  SqliteDb db_;
};

}  // namespace aisle::collector::segments
