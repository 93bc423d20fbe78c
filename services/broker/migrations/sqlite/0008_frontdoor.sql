-- The front door (issue 6): contacts, triage, the enquiry workflow.

-- One row per contact. Everything personal (the subjects, the referrer) is
-- sealed in `sealed`, bound to the contact id; codes and times stay in clear
-- because the report and the re-referral check read them. Triage, decision
-- and closure are copied here from the contact's enquiry in the same
-- transaction that records them, so the report reads one table.
CREATE TABLE contacts (
    contact_id      INTEGER PRIMARY KEY,
    received_at     TEXT NOT NULL,
    recorded_by     TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    referrer_kind   TEXT NOT NULL,
    -- Concern codes separated by spaces.
    concerns        TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    sealed          BLOB NOT NULL,
    -- The earlier contact this one re-refers; NULL when it is not a re-referral.
    re_referral_of  BIGINT REFERENCES contacts(contact_id),
    level           TEXT,
    deadline        TEXT,
    triaged_by      TEXT,
    triaged_at      TEXT,
    -- The triage reason, sealed, bound to the contact id.
    triage_key_id   TEXT,
    triage_reason   BLOB,
    enquiry_id      TEXT UNIQUE REFERENCES enquiries(enquiry_id),
    outcome         TEXT,
    decided_at      TEXT,
    closed_at       TEXT
);
CREATE INDEX contacts_by_received ON contacts(received_at);
-- Undecided contacts by deadline: the report's "past deadline" from any period.
CREATE INDEX contacts_undecided_by_deadline ON contacts(deadline) WHERE decided_at IS NULL;

-- Keyed pseudonyms of each contact's child (every match key: NHS number, UPN,
-- name and date of birth), so that a re-referral is found whichever
-- identifier the new contact carries.
CREATE TABLE contact_children (
    person_ref TEXT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts(contact_id),
    PRIMARY KEY (person_ref, contact_id)
);

-- Where each enquiry is in its workflow. Enquiries opened before this
-- migration start open.
ALTER TABLE enquiries ADD COLUMN state TEXT NOT NULL DEFAULT 'open';

-- Every move of every enquiry, with who made it and when.
CREATE TABLE enquiry_transitions (
    enquiry_id TEXT NOT NULL REFERENCES enquiries(enquiry_id),
    seq        BIGINT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (enquiry_id, seq)
);

-- The manager's decision; the reason sealed, bound to the enquiry id.
CREATE TABLE enquiry_decisions (
    enquiry_id TEXT PRIMARY KEY NOT NULL REFERENCES enquiries(enquiry_id),
    outcome    TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    reason     BLOB NOT NULL
);
