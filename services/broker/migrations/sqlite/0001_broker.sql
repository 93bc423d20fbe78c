CREATE TABLE enquiries (
    enquiry_id          TEXT PRIMARY KEY NOT NULL,
    level               TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    lawful_basis        TEXT NOT NULL,
    consent             TEXT NOT NULL,
    assigned_researcher TEXT NOT NULL,
    opened_by           TEXT NOT NULL,
    opened_at           TEXT NOT NULL
);

-- The people an enquiry is about. Their details are sealed with the broker's
-- key, bound to subject_id; subject_id is the pseudonym the log uses.
CREATE TABLE subjects (
    subject_id TEXT PRIMARY KEY NOT NULL,
    enquiry_id TEXT NOT NULL REFERENCES enquiries(enquiry_id),
    position   BIGINT NOT NULL,
    relation   TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    person     BLOB NOT NULL
);
CREATE INDEX subjects_by_enquiry ON subjects(enquiry_id, position);

-- One row per disclosure and per refusal, hash-chained: entry_hash covers
-- prev_hash and every other column, so an edit, deletion or reordering breaks
-- the chain from that row on.
CREATE TABLE disclosure_log (
    seq            BIGINT PRIMARY KEY NOT NULL,
    recorded_at    TEXT NOT NULL,
    requester      TEXT NOT NULL,
    role           TEXT NOT NULL,
    enquiry_id     TEXT NOT NULL,
    level          TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    lawful_basis   TEXT NOT NULL,
    consent        TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    agency         TEXT NOT NULL,
    record_ref     TEXT NOT NULL,
    category       TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    tier           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    content_digest TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    entry_hash     TEXT NOT NULL
);
CREATE INDEX disclosure_log_by_enquiry ON disclosure_log(enquiry_id, seq);
CREATE INDEX disclosure_log_by_requester ON disclosure_log(requester, seq);
CREATE INDEX disclosure_log_by_agency ON disclosure_log(agency, seq);
