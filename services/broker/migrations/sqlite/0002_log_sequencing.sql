-- The log's length lives in the database, not in a broker's memory: each
-- append takes this row's lock first (UPDATE … RETURNING), so appends from
-- several broker replicas sharing one database form a single chain.
CREATE TABLE log_head (
    id   BIGINT PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL
);
INSERT INTO log_head (id, size) VALUES (1, 0);
