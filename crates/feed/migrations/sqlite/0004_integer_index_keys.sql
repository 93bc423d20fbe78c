-- record_keys.blind_key becomes an INTEGER, the same 8 bytes read as a big-endian signed
-- number, instead of an 8-byte BLOB: the feed binds a record's ~7 keys as integers, where each
-- BLOB was copied twice on the way into SQLite, and the index compares integers.
-- records.index_keys still lists a record's keys as their 8 bytes each.
-- Existing entries are carried over. SQLite has no BLOB-to-integer conversion, so the value is
-- summed from the key's hex digits, the first digit signed (8-F are negative), in an order
-- that never overflows.
CREATE TABLE record_keys_v4 (
    epoch     INTEGER NOT NULL,
    blind_key INTEGER NOT NULL,
    record    INTEGER NOT NULL,
    PRIMARY KEY (epoch, blind_key, record)
) WITHOUT ROWID;
INSERT OR IGNORE INTO record_keys_v4 (epoch, blind_key, record)
    SELECT epoch,
        (instr('0123456789ABCDEF', substr(h, 1, 1)) - 1 - 16 * (substr(h, 1, 1) >= '8')) * 1152921504606846976
        + (instr('0123456789ABCDEF', substr(h, 2, 1)) - 1) * 72057594037927936
        + (instr('0123456789ABCDEF', substr(h, 3, 1)) - 1) * 4503599627370496
        + (instr('0123456789ABCDEF', substr(h, 4, 1)) - 1) * 281474976710656
        + (instr('0123456789ABCDEF', substr(h, 5, 1)) - 1) * 17592186044416
        + (instr('0123456789ABCDEF', substr(h, 6, 1)) - 1) * 1099511627776
        + (instr('0123456789ABCDEF', substr(h, 7, 1)) - 1) * 68719476736
        + (instr('0123456789ABCDEF', substr(h, 8, 1)) - 1) * 4294967296
        + (instr('0123456789ABCDEF', substr(h, 9, 1)) - 1) * 268435456
        + (instr('0123456789ABCDEF', substr(h, 10, 1)) - 1) * 16777216
        + (instr('0123456789ABCDEF', substr(h, 11, 1)) - 1) * 1048576
        + (instr('0123456789ABCDEF', substr(h, 12, 1)) - 1) * 65536
        + (instr('0123456789ABCDEF', substr(h, 13, 1)) - 1) * 4096
        + (instr('0123456789ABCDEF', substr(h, 14, 1)) - 1) * 256
        + (instr('0123456789ABCDEF', substr(h, 15, 1)) - 1) * 16
        + (instr('0123456789ABCDEF', substr(h, 16, 1)) - 1),
        record
    FROM (SELECT epoch, hex(blind_key) AS h, record FROM record_keys);
DROP TABLE record_keys;
ALTER TABLE record_keys_v4 RENAME TO record_keys;
