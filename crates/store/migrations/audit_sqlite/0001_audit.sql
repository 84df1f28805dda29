-- The audit ledger, in its own SQLite file apart from the operational tables.
-- `leaf` holds each entry's canonical bytes exactly as hashed into the Merkle tree; the other
-- entry columns are copies for indexing, checked against `leaf` by `kith audit verify`.
CREATE TABLE audit_entries (
    seq        INTEGER PRIMARY KEY,
    time       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    actor_user TEXT NOT NULL,
    actor_org  TEXT NOT NULL,
    role       TEXT NOT NULL,
    subject    TEXT,
    decision   TEXT,
    leaf       TEXT NOT NULL,
    leaf_hash  TEXT NOT NULL
);
CREATE INDEX audit_entries_by_subject ON audit_entries (subject, seq) WHERE subject IS NOT NULL;
CREATE INDEX audit_entries_by_kind ON audit_entries (kind, seq);

-- Signed checkpoints in signed-note text, one per tree size.
CREATE TABLE audit_checkpoints (
    size       INTEGER PRIMARY KEY,
    signed     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The compact Merkle frontier (comma-separated hex subtree roots, largest first) after the
-- last committed append, so appending never rereads the log.
CREATE TABLE audit_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    size     INTEGER NOT NULL,
    frontier TEXT NOT NULL
);
INSERT INTO audit_state (id, size, frontier) VALUES (1, 0, '');

-- Append-only: Kith never updates or deletes an entry or a checkpoint. These triggers stop
-- accidents; deliberate tampering (dropping them) is what verification detects.
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END;
