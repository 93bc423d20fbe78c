-- The disclosure log and its checkpoints are append-only, and the database says so: the
-- broker never updates or deletes them, so neither may anyone holding its connection.
-- Disclosed content (not hashed by the log) is still purged after its retention period.
-- Someone who can drop these triggers can still rewrite the log; the hash chain and the
-- signed checkpoints are what show it.
CREATE TRIGGER disclosure_log_no_update BEFORE UPDATE ON disclosure_log
BEGIN
    SELECT RAISE(ABORT, 'the disclosure log is append-only: entries are never updated');
END;
CREATE TRIGGER disclosure_log_no_delete BEFORE DELETE ON disclosure_log
BEGIN
    SELECT RAISE(ABORT, 'the disclosure log is append-only: entries are never deleted');
END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only: never updated');
END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only: never deleted');
END;
