-- Some other application's SQLite database at the configured path: refused, never written into.
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
INSERT INTO notes (body) VALUES ('not an Aisle database');
