-- record_keys.blind_key becomes a BIGINT, the same 8 bytes read as a big-endian signed
-- number, instead of an 8-byte BYTEA (the SQLite file of this version says why).
-- records.index_keys still lists a record's keys as their 8 bytes each.
ALTER TABLE record_keys ALTER COLUMN blind_key TYPE BIGINT
    USING ('x' || encode(blind_key, 'hex'))::bit(64)::bigint;
