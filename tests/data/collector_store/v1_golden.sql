-- A collector store at schema v1, as written by the v1 code (sqlite3 .dump plus the two header
-- pragmas that .dump leaves out). Never edit: later versions must keep opening (migrating) it.
-- stream-golden committed batches 1 and 3 (2 is a gap); one schema quarantine entry.
PRAGMA application_id = 1095978051;
PRAGMA user_version = 1;
BEGIN TRANSACTION;
CREATE TABLE events (
  row_id      INTEGER PRIMARY KEY,
  event_id    BLOB    NOT NULL UNIQUE,
  type        TEXT    NOT NULL,
  schema      TEXT    NOT NULL,
  store_id    TEXT    NOT NULL,
  agent_id    TEXT    NOT NULL,
  channel     TEXT    NOT NULL,
  occurred_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  ingested_at INTEGER NOT NULL,
  payload     TEXT    NOT NULL
);
INSERT INTO events VALUES(1,X'018bcfe5680070008000000000000001','product_view','aisle/product_view/1','store-1','agent-1','kiosk',1699999999000,1699999999500,1700000000000,'{"event_id":"018bcfe5-6800-7000-8000-000000000001"}');
INSERT INTO events VALUES(2,X'018bcfe5680070008000000000000002','product_view','aisle/product_view/1','store-1','agent-1','kiosk',1699999999000,1699999999500,1700000000000,'{"event_id":"018bcfe5-6800-7000-8000-000000000002"}');
CREATE TABLE quarantine (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  reason         TEXT    NOT NULL,
  errors         TEXT    NOT NULL,
  raw            BLOB    NOT NULL,
  store_id       TEXT    NOT NULL,
  agent_id       TEXT    NOT NULL,
  origin         TEXT    NOT NULL,
  received_at    INTEGER NOT NULL,
  quarantined_at INTEGER NOT NULL,
  replayed_at    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO quarantine VALUES(1,'schema','[{"path":"/type","keyword":"enum","message":"unknown type"}]',X'7b2274797065223a22626f677573227d','store-1','agent-1','mqtt',1699999999900,1700000000000,0);
CREATE TABLE receipts (
  stream_id    TEXT    NOT NULL,
  batch_seq    INTEGER NOT NULL,
  tenant       TEXT    NOT NULL,
  store_id     TEXT    NOT NULL,
  agent_id     TEXT    NOT NULL,
  first_seq    INTEGER NOT NULL,
  last_seq     INTEGER NOT NULL,
  stored       INTEGER NOT NULL,
  duplicates   INTEGER NOT NULL,
  quarantined  INTEGER NOT NULL,
  committed_at INTEGER NOT NULL,
  PRIMARY KEY (stream_id, batch_seq)
) WITHOUT ROWID;
INSERT INTO receipts VALUES('stream-golden',1,'acme','store-1','agent-1',1,1,1,0,1,1700000000000);
INSERT INTO receipts VALUES('stream-golden',3,'acme','store-1','agent-1',3,3,1,0,0,1700000000000);
CREATE TABLE streams (
  stream_id            TEXT    NOT NULL PRIMARY KEY,
  store_id             TEXT    NOT NULL,
  agent_id             TEXT    NOT NULL,
  max_batch_seq        INTEGER NOT NULL,
  contiguous_batch_seq INTEGER NOT NULL,
  last_committed_at    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO streams VALUES('stream-golden','store-1','agent-1',3,1,1700000000000);
CREATE TABLE stream_islands (
  stream_id TEXT    NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq  INTEGER NOT NULL,
  PRIMARY KEY (stream_id, first_seq)
) WITHOUT ROWID;
INSERT INTO stream_islands VALUES('stream-golden',3,3);
CREATE TABLE counters (
  name  TEXT    NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters VALUES('events',2);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('quarantine',1);
CREATE INDEX events_by_store_ingested ON events (store_id, ingested_at);
CREATE INDEX events_by_ingested ON events (ingested_at);
CREATE INDEX quarantine_by_store ON quarantine (store_id, id);
CREATE INDEX quarantine_by_reason ON quarantine (reason, id);
CREATE INDEX quarantine_by_time ON quarantine (quarantined_at);
CREATE INDEX receipts_by_committed ON receipts (committed_at);
COMMIT;
