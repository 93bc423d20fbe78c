-- A keyed pseudonym of the person each entry is about (an HMAC of their
-- strongest identifier under the broker's index key), the same in every
-- enquiry: subject access requests search by it.
ALTER TABLE disclosure_log ADD COLUMN person_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX disclosure_log_by_person ON disclosure_log(person_ref, seq);
CREATE INDEX disclosure_log_by_time ON disclosure_log(recorded_at, seq);
