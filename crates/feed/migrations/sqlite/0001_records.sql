-- One row per agency record: its classification in clear (the broker's
-- policy needs no decryption to decide), its contents sealed with AES-256-GCM
-- under `key_id`, bound to (record_id, version) as associated data.
CREATE TABLE records (
    record_id   TEXT PRIMARY KEY NOT NULL,
    version     BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    category    TEXT NOT NULL,
    sensitivity TEXT NOT NULL,
    item_date   TEXT NOT NULL,
    -- Keyed blind indexes of the subject's identifiers, to refuse a
    -- name-and-date-of-birth match that contradicts a shared identifier.
    nhs_index   BLOB,
    upn_index   BLOB,
    key_id      TEXT NOT NULL,
    content     BLOB NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Every key a record can be found by, as a keyed blind index.
CREATE TABLE record_keys (
    blind_key BLOB NOT NULL,
    record_id TEXT NOT NULL REFERENCES records(record_id) ON DELETE CASCADE,
    PRIMARY KEY (blind_key, record_id)
);
CREATE INDEX record_keys_by_record ON record_keys(record_id);
