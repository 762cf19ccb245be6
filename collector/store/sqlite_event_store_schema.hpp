// The SQLite schema of the collector's event store and its forward migrations
// (docs/storage.md describes the tables).
//
// The version lives in PRAGMA user_version; PRAGMA application_id marks the file as an Aisle
// collector database, so a foreign SQLite file is refused rather than written into.
#pragma once

#include <cstdint>

#include "collector/store/sqlite_db.hpp"
#include "common/result.hpp"

namespace aisle::collector {

inline constexpr int kEventStoreSchemaVersion = 1;
inline constexpr std::int64_t kEventStoreApplicationId = 0x41534c43;  // "ASLC"

// Brings the database to kEventStoreSchemaVersion by running the migrations from its version on,
// all in one transaction with the version check (a crash or a second process mid-way leaves the
// old version intact).
// Refuses with kFailedPrecondition a newer version (naming both) or a database that is not an
// Aisle collector store. Called on the writer connection before any other use.
Status migrate_event_store_schema(SqliteDb& db);

}  // namespace aisle::collector
