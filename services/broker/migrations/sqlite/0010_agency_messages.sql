-- What flows back to agencies (issue 6): one queue per agency, read only by
-- that agency's system. The message (an encoded AgencyMessage) is sealed with
-- the broker's key, bound to its message_id. A message stays deliverable
-- until the agency acknowledges it; it is written in the same transaction as
-- what causes it (the decision, the log entry), so none is lost or invented.
CREATE TABLE agency_messages (
    message_id    TEXT PRIMARY KEY NOT NULL,
    agency        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    deliver_after TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    body          BLOB NOT NULL,
    acked_at      TEXT,
    acked_by      TEXT
);
CREATE INDEX agency_messages_due ON agency_messages(agency, deliver_after, message_id) WHERE acked_at IS NULL;

-- The agency a contact's referrer works for: it receives the outcome.
ALTER TABLE contacts ADD COLUMN referrer_agency TEXT;
