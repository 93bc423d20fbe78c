-- A record's ciphertext is now bound, as associated data, to the columns the
-- broker's policy reads (kind, category, sensitivity, item_date), so that a
-- write to the database cannot turn a restricted item into a disclosed one;
-- and each record carries a keyed digest of what it holds, so that a
-- re-push of a version with other contents is a conflict, not "unchanged".
-- Rows sealed before cannot be opened under the new binding and have no
-- digest. A feed is a copy of its agency's records, so they are dropped and
-- the agency pushes its extract again (docs/operations.md).
DELETE FROM record_keys;
DELETE FROM records;
ALTER TABLE records ADD COLUMN content_digest BLOB NOT NULL DEFAULT x'';
