-- Signed statements of the log's size and Merkle root (RFC 9162 tree over
-- the entries' hashes). Replicas may race to sign the same size; the first
-- one wins and the others' are identical in meaning.
CREATE TABLE checkpoints (
    size           BIGINT PRIMARY KEY NOT NULL,
    origin         TEXT NOT NULL,
    root           TEXT NOT NULL,
    timestamp_unix BIGINT NOT NULL,
    key_id         TEXT NOT NULL,
    signature      TEXT NOT NULL
);
