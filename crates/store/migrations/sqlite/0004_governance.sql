-- Kith operational schema, version 4 (SQLite): governance facts recorded through the service.
-- Consents, relationships, opt-outs, competence assessments, break-glass grants and their
-- reviews, privacy-officer alerts and decisions not to share, one row each. The `governance`
-- crate owns their shape: the body is its JSON, read back into its types at start-up. `seq`
-- keeps the order records were written in; (kind, id) is each record's natural key, so a
-- grant is reviewed once however many reviewers try at the same moment.

CREATE TABLE governance_records (
    seq          INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    child        TEXT,
    body         TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    UNIQUE (kind, id)
);
CREATE INDEX governance_records_by_child ON governance_records (child, kind);
