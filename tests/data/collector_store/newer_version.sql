-- A collector store written by a future version (schema v2): this build must refuse to open it
-- (kFailedPrecondition naming both versions) and must not modify it.
PRAGMA application_id = 1095978051;
PRAGMA user_version = 2;
CREATE TABLE events (row_id INTEGER PRIMARY KEY, event_id BLOB NOT NULL UNIQUE, shiny_new TEXT);
