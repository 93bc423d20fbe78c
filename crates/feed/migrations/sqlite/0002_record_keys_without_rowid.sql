-- record_keys holds nothing but its primary key, so it needs no rowid: as a
-- rowid table every key was stored twice (the table, and the index behind the
-- primary key), and each insert updated three B-trees instead of two.
CREATE TABLE record_keys_compact (
    blind_key BLOB NOT NULL,
    record_id TEXT NOT NULL REFERENCES records(record_id) ON DELETE CASCADE,
    PRIMARY KEY (blind_key, record_id)
) WITHOUT ROWID;
INSERT INTO record_keys_compact (blind_key, record_id) SELECT blind_key, record_id FROM record_keys;
DROP TABLE record_keys;
ALTER TABLE record_keys_compact RENAME TO record_keys;
CREATE INDEX record_keys_by_record ON record_keys(record_id);
