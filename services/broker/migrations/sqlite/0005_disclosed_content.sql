-- Exactly what each disclosure showed, sealed with the broker's key and bound
-- to its entry's seq. Kept apart from the log so that it can be purged after
-- the retention period while the log, which holds only its digest, still
-- verifies.
CREATE TABLE disclosed_content (
    seq         BIGINT PRIMARY KEY NOT NULL,
    recorded_at TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    content     BLOB NOT NULL
);
CREATE INDEX disclosed_content_by_time ON disclosed_content(recorded_at);
