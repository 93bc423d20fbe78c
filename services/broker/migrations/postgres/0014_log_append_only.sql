-- The disclosure log and its checkpoints are append-only, and the database says so: the
-- broker never updates, deletes or truncates them, so neither may anyone holding its
-- connection. Disclosed content (not hashed by the log) is still purged after its retention
-- period. Someone who can drop these triggers can still rewrite the log; the hash chain and
-- the signed checkpoints are what show it.
CREATE FUNCTION refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TRIGGER disclosure_log_append_only BEFORE UPDATE OR DELETE ON disclosure_log
    FOR EACH ROW EXECUTE FUNCTION refuse_log_change();
CREATE TRIGGER disclosure_log_not_truncated BEFORE TRUNCATE ON disclosure_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_log_change();
CREATE TRIGGER checkpoints_not_truncated BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change();
