// The SQLite schema of the profile store (<data>/profiles.db) and its forward migrations;
// docs/profiles.md ("Storage") describes the tables. Same conventions as the event store:
// PRAGMA user_version is the schema version, PRAGMA application_id marks the file.
#pragma once

#include <cstdint>

#include "collector/store/sqlite_db.hpp"
#include "common/result.hpp"

namespace aisle::collector::profiles {

inline constexpr int kProfileStoreSchemaVersion = 1;
inline constexpr std::int64_t kProfileStoreApplicationId = 0x41535046;  // "ASPF"

// Brings the database to kProfileStoreSchemaVersion in one transaction. Refuses
// (kFailedPrecondition) a newer version or a database that is not an Aisle profile store.
Status migrate_profile_store_schema(SqliteDb& db);

}  // namespace aisle::collector::profiles
