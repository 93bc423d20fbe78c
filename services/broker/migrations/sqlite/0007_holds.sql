-- Restricted items a check held for the owning agency's gatekeeper. The item
-- is sealed with the broker's key, bound to its hold_id; it leaves the broker
-- only once released, and only after the release is durable in the log.
-- hold_id is derived from (enquiry, subject, agency, record), so checking an
-- enquiry again finds the same hold rather than a second one.
CREATE TABLE held_items (
    hold_id     TEXT PRIMARY KEY NOT NULL,
    enquiry_id  TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    agency      TEXT NOT NULL,
    record_ref  TEXT NOT NULL,
    category    TEXT NOT NULL,
    held_at     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('held', 'released', 'withheld')),
    decided_by  TEXT NOT NULL DEFAULT '',
    decided_at  TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    break_glass BIGINT NOT NULL DEFAULT 0,
    key_id      TEXT NOT NULL,
    item        BLOB NOT NULL
);
CREATE INDEX held_items_by_enquiry ON held_items(enquiry_id);
CREATE INDEX held_items_by_agency ON held_items(agency, state);

-- What an agency must be told, e.g. that a manager broke the glass on one of
-- its held items.
CREATE TABLE agency_alerts (
    alert_id   TEXT PRIMARY KEY NOT NULL,
    agency     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    hold_id    TEXT NOT NULL REFERENCES held_items(hold_id),
    enquiry_id TEXT NOT NULL,
    raised_by  TEXT NOT NULL,
    raised_at  TEXT NOT NULL,
    reason     TEXT NOT NULL
);
CREATE INDEX agency_alerts_by_agency ON agency_alerts(agency, raised_at);
