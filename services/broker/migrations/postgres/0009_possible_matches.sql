-- Records a feed could only possibly match to an enquiry's subject. The
-- enquiry sees that they exist, and why the feed thinks they may be the
-- person, until a researcher confirms the match; then later checks of the
-- enquiry treat them as matches. candidate_id is derived from (enquiry,
-- subject, agency, record), so checking again finds the same candidate.
CREATE TABLE possible_matches (
    candidate_id TEXT PRIMARY KEY NOT NULL,
    enquiry_id   TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    agency       TEXT NOT NULL,
    record_ref   TEXT NOT NULL,
    seen_at      TEXT NOT NULL,
    confirmed_by TEXT NOT NULL DEFAULT '',
    confirmed_at TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX possible_matches_by_enquiry ON possible_matches(enquiry_id);
