-- The SQLite schema makes record_keys a WITHOUT ROWID table in this version.
-- PostgreSQL has no rowid: its heap plus the primary-key index is already the
-- same layout, so there is nothing to change here; the file keeps the two
-- dialects' migration histories in step.
SELECT 1;
