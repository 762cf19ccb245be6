-- An outbox database at schema version 1, as a version-1 agent leaves it after a restart:
-- batch 1 (seq 1..3) acknowledged, batch 2 (seq 4..5) formed but unacknowledged, seq 6..7
-- pending, seq 5 is a quarantine record (also in quarantine_local). The CREATE statements are
-- byte for byte what migration 1 writes: the schema golden test compares them.
PRAGMA auto_vacuum=INCREMENTAL;
PRAGMA journal_mode=WAL;
PRAGMA user_version=1;
BEGIN TRANSACTION;
CREATE TABLE meta(
  key   TEXT PRIMARY KEY,
  value NOT NULL  -- no declared type: stored exactly as written
) WITHOUT ROWID;
INSERT INTO meta VALUES('created_at',1699990000000);
INSERT INTO meta VALUES('last_batched_seq',5);
INSERT INTO meta VALUES('next_batch_seq',3);
INSERT INTO meta VALUES('next_seq',8);
INSERT INTO meta VALUES('stream_id','018bcf5c-1b80-7abc-9def-0123456789ab');
CREATE TABLE records(
  seq         INTEGER PRIMARY KEY,
  event_id    TEXT    NOT NULL UNIQUE,
  kind        TEXT    NOT NULL CHECK (kind IN ('e', 'q')),
  priority    INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 2),
  received_at INTEGER NOT NULL,
  bytes       INTEGER NOT NULL,
  payload     BLOB    NOT NULL
);
INSERT INTO records VALUES(4,'018bcf5c-2000-7000-8000-000000000004','e',1,1699990004000,15,CAST('{"n":4,"x":"a"}' AS BLOB));
INSERT INTO records VALUES(5,'018bcf5c-2000-7000-8000-000000000005','q',0,1699990005000,15,CAST('{"n":5,"x":"q"}' AS BLOB));
INSERT INTO records VALUES(6,'018bcf5c-2000-7000-8000-000000000006','e',2,1699990006000,15,CAST('{"n":6,"x":"b"}' AS BLOB));
INSERT INTO records VALUES(7,'018bcf5c-2000-7000-8000-000000000007','e',1,1699990007000,15,CAST('{"n":7,"x":"c"}' AS BLOB));
CREATE TABLE batches(
  batch_seq  INTEGER PRIMARY KEY,
  first_seq  INTEGER NOT NULL,
  last_seq   INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
INSERT INTO batches VALUES(2,4,5,1699990010000);
CREATE TABLE quarantine_local(
  id          INTEGER PRIMARY KEY,
  seq         INTEGER NOT NULL,
  event_id    TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  payload     BLOB    NOT NULL
);
INSERT INTO quarantine_local VALUES(1,5,'018bcf5c-2000-7000-8000-000000000005',1699990005000,CAST('{"n":5,"x":"q"}' AS BLOB));
COMMIT;
