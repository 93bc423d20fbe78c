-- No log entry is numbered beyond the log's head. An append advances the head
-- and inserts its entries in one transaction. When the broker writes a group
-- in one call, chained on the head it last wrote, this trigger is what stops
-- the call if the head has gone back; had another writer moved it on, the
-- entries' sequence numbers would already be taken.
CREATE TRIGGER disclosure_log_within_head
BEFORE INSERT ON disclosure_log
WHEN NEW.seq > (SELECT size FROM log_head WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'log entry beyond the log head');
END;
