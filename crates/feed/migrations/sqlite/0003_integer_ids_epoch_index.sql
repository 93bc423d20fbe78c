-- The blind-key index, made to take a million records at speed:
-- - records get an integer id; record_keys refers to it instead of repeating
--   the TEXT record_id in every entry;
-- - index keys are the first 8 bytes of the HMAC, not all 32 (a shared
--   prefix only adds a candidate that scoring drops);
-- - record_keys leads with an epoch, id >> 16: new records take increasing
--   ids, so a push inserts into the newest epoch only, a part of the index
--   small enough to stay in cache, instead of into random pages all over it;
-- - a record's row lists its index keys (index_keys, 8 bytes each), so its
--   entries are found through the primary key when a new version replaces
--   them or the record is deleted. That replaces a second index on
--   record_keys and the foreign key, which cost two more B-tree operations
--   for every key inserted. Keys and records are written in one transaction.
-- Existing rows are carried over; their keys are cut to the new length.
CREATE TABLE records_v3 (
    id          INTEGER PRIMARY KEY,
    record_id   TEXT NOT NULL UNIQUE,
    version     BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    category    TEXT NOT NULL,
    sensitivity TEXT NOT NULL,
    item_date   TEXT NOT NULL,
    nhs_index   BLOB,
    upn_index   BLOB,
    key_id      TEXT NOT NULL,
    content     BLOB NOT NULL,
    index_keys  BLOB NOT NULL,
    updated_at  BIGINT NOT NULL
);
INSERT INTO records_v3 (id, record_id, version, kind, category, sensitivity, item_date, nhs_index, upn_index, key_id, content, index_keys, updated_at)
    SELECT r.rowid, r.record_id, r.version, r.kind, r.category, r.sensitivity, r.item_date, r.nhs_index, r.upn_index, r.key_id, r.content,
        unhex(coalesce((SELECT group_concat(hex(substr(k.blind_key, 1, 8)), '') FROM record_keys k WHERE k.record_id = r.record_id), '')),
        r.updated_at
    FROM records r ORDER BY r.rowid;
CREATE TABLE record_keys_v3 (
    epoch     INTEGER NOT NULL,
    blind_key BLOB NOT NULL,
    record    INTEGER NOT NULL,
    PRIMARY KEY (epoch, blind_key, record)
) WITHOUT ROWID;
INSERT OR IGNORE INTO record_keys_v3 (epoch, blind_key, record)
    SELECT r.id >> 16, substr(k.blind_key, 1, 8), r.id FROM record_keys k JOIN records_v3 r ON r.record_id = k.record_id;
DROP TABLE record_keys;
DROP TABLE records;
ALTER TABLE records_v3 RENAME TO records;
ALTER TABLE record_keys_v3 RENAME TO record_keys;
