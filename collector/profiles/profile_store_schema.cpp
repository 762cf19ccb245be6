#include "collector/profiles/profile_store_schema.hpp"

#include <cstdio>
#include <string>

namespace aisle::collector::profiles {
namespace {

// kMigrations[v] upgrades version v to v + 1; released entries are never edited.
constexpr const char* kMigrations[] = {
    // v0 -> v1
    R"sql(
-- Settings and counters: consent_version (the last global consent version assigned) and
-- tombstone_key (HMAC key of the tombstones).
CREATE TABLE meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- Identity graph nodes. node is the dense in-memory id; parent is a union-find parent (an
-- ancestor in the node's tree: roots point to themselves). first/last_seen are event times.
CREATE TABLE identities (
  node       INTEGER PRIMARY KEY,
  type       TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  parent     INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  shared     INTEGER NOT NULL DEFAULT 0
);

-- One row per profile slot. merged_into is NULL for live profiles, the survivor's slot for
-- merged ones (their state is then empty). consent mirrors the state's flags (2 bits per
-- purpose) so loading the graph does not parse every state.
CREATE TABLE profiles (
  slot        INTEGER PRIMARY KEY,
  profile_id  TEXT    NOT NULL UNIQUE,
  root        INTEGER NOT NULL,
  merged_into INTEGER,
  created_at  INTEGER NOT NULL,
  consent     INTEGER NOT NULL DEFAULT 0,
  state       TEXT    NOT NULL DEFAULT ''
);

-- Distinct user_id nodes seen with an identifier under shared-device protection, until it is
-- marked shared (then its rows are deleted).
CREATE TABLE shared_watch (
  node      INTEGER NOT NULL,
  user_node INTEGER NOT NULL,
  PRIMARY KEY (node, user_node)
) WITHOUT ROWID;

-- Set by unmerges: the components of a and b never join again.
CREATE TABLE separations (
  a          INTEGER NOT NULL,
  b          INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  actor      TEXT    NOT NULL
);

-- Which events belong to which profile (row = apply order), for the events API, unmerge
-- recomputation and erasure.
CREATE TABLE profile_events (
  row      INTEGER PRIMARY KEY,
  slot     INTEGER NOT NULL,
  event_id TEXT    NOT NULL
);
CREATE INDEX profile_events_by_slot ON profile_events (slot, row);

-- Profile history: merges, unmerges, refused links, consent changes. dedup (NULL for most)
-- keeps a repeated refusal to one row per profile.
CREATE TABLE history (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  slot    INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  kind    TEXT    NOT NULL,
  details TEXT    NOT NULL,
  dedup   TEXT
);
CREATE INDEX history_by_slot ON history (slot, id);
CREATE UNIQUE INDEX history_dedup ON history (slot, dedup);

-- The latest consent per identifier with the version of the change that set it: what agents
-- sync (consent_changes_since).
CREATE TABLE consent_by_identity (
  identity        TEXT    NOT NULL PRIMARY KEY,
  analytics       INTEGER NOT NULL,
  personalization INTEGER NOT NULL,
  marketing       INTEGER NOT NULL,
  decided_at      INTEGER NOT NULL,
  version         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX consent_by_version ON consent_by_identity (version, identity);

-- Erased identifiers: HMAC-SHA256(tombstone_key, "type:value") in hex, never the value.
CREATE TABLE tombstones (
  digest    TEXT    NOT NULL PRIMARY KEY,
  erased_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
};
constexpr int kMigrationCount = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
static_assert(kMigrationCount == kProfileStoreSchemaVersion);

}  // namespace

Status migrate_profile_store_schema(SqliteDb& db) {
  return migrate_schema(db, SchemaMigrations{kProfileStoreApplicationId, kMigrations,
                                             kMigrationCount, "profile store", "profile store"});
}

}  // namespace aisle::collector::profiles
