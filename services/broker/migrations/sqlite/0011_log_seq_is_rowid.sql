-- Fewer b-trees for an append to write. Every append writes each page it
-- changes to the WAL whole and fsyncs it, and a check's entries changed about
-- 40 pages, most of them in indexes.
--
-- * `seq` becomes each table's rowid. Declared BIGINT PRIMARY KEY, it was a
--   second b-tree beside the table. The indexes no longer name `seq`: an index
--   entry ends with the rowid, so its rows come in `seq` order all the same.
-- * No index by agency: with a handful of agencies a check's entries fell in a
--   leaf per agency (five pages an append), while a search by agency, which
--   pages in `seq` order, finds a page of matches by reading a few times as
--   many entries in rowid order.
CREATE TABLE disclosure_log_by_rowid (
    seq              INTEGER PRIMARY KEY NOT NULL,
    recorded_at      TEXT NOT NULL,
    requester        TEXT NOT NULL,
    role             TEXT NOT NULL,
    enquiry_id       TEXT NOT NULL,
    level            TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    lawful_basis     TEXT NOT NULL,
    consent          TEXT NOT NULL,
    subject_id       TEXT NOT NULL,
    agency           TEXT NOT NULL,
    record_ref       TEXT NOT NULL,
    category         TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    tier             TEXT NOT NULL,
    reason           TEXT NOT NULL,
    policy_version   TEXT NOT NULL,
    content_digest   TEXT NOT NULL,
    person_ref       TEXT NOT NULL DEFAULT '',
    requester_agency TEXT NOT NULL DEFAULT '',
    on_behalf_of     TEXT NOT NULL DEFAULT '',
    recipient        TEXT NOT NULL DEFAULT '',
    prev_hash        TEXT NOT NULL,
    entry_hash       TEXT NOT NULL
);
INSERT INTO disclosure_log_by_rowid (
    seq, recorded_at, requester, role, enquiry_id, level, purpose, lawful_basis, consent,
    subject_id, agency, record_ref, category, outcome, tier, reason, policy_version,
    content_digest, person_ref, requester_agency, on_behalf_of, recipient, prev_hash, entry_hash
)
SELECT
    seq, recorded_at, requester, role, enquiry_id, level, purpose, lawful_basis, consent,
    subject_id, agency, record_ref, category, outcome, tier, reason, policy_version,
    content_digest, person_ref, requester_agency, on_behalf_of, recipient, prev_hash, entry_hash
FROM disclosure_log;
DROP TABLE disclosure_log;
ALTER TABLE disclosure_log_by_rowid RENAME TO disclosure_log;
CREATE INDEX disclosure_log_by_enquiry ON disclosure_log(enquiry_id);
CREATE INDEX disclosure_log_by_requester ON disclosure_log(requester);
CREATE INDEX disclosure_log_by_person ON disclosure_log(person_ref);
CREATE INDEX disclosure_log_by_time ON disclosure_log(recorded_at);

CREATE TABLE disclosed_content_by_rowid (
    seq         INTEGER PRIMARY KEY NOT NULL,
    recorded_at TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    content     BLOB NOT NULL
);
INSERT INTO disclosed_content_by_rowid (seq, recorded_at, key_id, content)
SELECT seq, recorded_at, key_id, content FROM disclosed_content;
DROP TABLE disclosed_content;
ALTER TABLE disclosed_content_by_rowid RENAME TO disclosed_content;
CREATE INDEX disclosed_content_by_time ON disclosed_content(recorded_at);

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
