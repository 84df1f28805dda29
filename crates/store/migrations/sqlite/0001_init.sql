-- Kith operational schema, version 1 (SQLite).
-- Agency data is kept as it arrived (validated); persons and links are Kith's own view on top.

CREATE TABLE organisations (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    agency_type TEXT NOT NULL CHECK (agency_type IN
                 ('health', 'social-care', 'education', 'police', 'housing', 'other'))
);

CREATE TABLE ingest_batches (
    id                INTEGER PRIMARY KEY,
    file_name         TEXT NOT NULL,
    file_sha256       TEXT NOT NULL,
    org_code          TEXT,
    kind              TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    last_line         INTEGER NOT NULL DEFAULT 0,
    rows_inserted     INTEGER NOT NULL DEFAULT 0,
    rows_updated      INTEGER NOT NULL DEFAULT 0,
    rows_unchanged    INTEGER NOT NULL DEFAULT 0,
    rows_quarantined  INTEGER NOT NULL DEFAULT 0,
    warnings          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ingest_batches_by_file ON ingest_batches (file_sha256, kind);

CREATE TABLE ingest_issues (
    id        INTEGER PRIMARY KEY,
    batch_id  INTEGER NOT NULL REFERENCES ingest_batches (id),
    line      INTEGER NOT NULL,
    field     TEXT,
    severity  TEXT NOT NULL CHECK (severity IN ('warning', 'rejected')),
    code      TEXT NOT NULL,
    message   TEXT NOT NULL,
    raw       TEXT
);
CREATE INDEX ingest_issues_by_batch ON ingest_issues (batch_id, line);

CREATE TABLE source_records (
    id                    INTEGER PRIMARY KEY,
    org_code              TEXT NOT NULL REFERENCES organisations (code),
    local_id              TEXT NOT NULL,
    given_name            TEXT,
    middle_names          TEXT,
    family_name           TEXT,
    previous_names        TEXT NOT NULL DEFAULT '[]',
    birth_date            TEXT,
    birth_date_precision  TEXT CHECK (birth_date_precision IN ('year', 'month', 'day')),
    birth_date_estimated  INTEGER NOT NULL DEFAULT 0,
    birth_date_raw        TEXT,
    sex                   TEXT NOT NULL,
    address               TEXT,
    town                  TEXT,
    postcode              TEXT,
    uprn                  TEXT,
    content_hash          TEXT NOT NULL,
    batch_id              INTEGER REFERENCES ingest_batches (id),
    UNIQUE (org_code, local_id)
);

CREATE TABLE record_identifiers (
    record_id  INTEGER NOT NULL REFERENCES source_records (id) ON DELETE CASCADE,
    system     TEXT NOT NULL,
    value      TEXT NOT NULL,
    status     TEXT,
    PRIMARY KEY (record_id, system, value)
);
CREATE INDEX record_identifiers_by_value ON record_identifiers (system, value);

CREATE TABLE persons (
    cci          TEXT PRIMARY KEY,
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    merged_into  TEXT REFERENCES persons (cci),
    created_at   TEXT NOT NULL
);

CREATE TABLE person_links (
    record_id  INTEGER PRIMARY KEY REFERENCES source_records (id),
    cci        TEXT NOT NULL REFERENCES persons (cci),
    link_kind  TEXT NOT NULL CHECK (link_kind IN ('auto', 'manual')),
    linked_at  TEXT NOT NULL,
    reason     TEXT
);
CREATE INDEX person_links_by_person ON person_links (cci);

CREATE TABLE entries (
    id            INTEGER PRIMARY KEY,
    org_code      TEXT NOT NULL REFERENCES organisations (code),
    local_id      TEXT NOT NULL,
    record_id     INTEGER NOT NULL REFERENCES source_records (id),
    entry_type    TEXT NOT NULL,
    occurred_on   TEXT NOT NULL,
    ended_on      TEXT,
    category      TEXT NOT NULL,
    sensitivity   TEXT NOT NULL CHECK (sensitivity IN ('normal', 'sensitive', 'restricted')),
    summary       TEXT,
    content_hash  TEXT NOT NULL,
    batch_id      INTEGER REFERENCES ingest_batches (id),
    UNIQUE (org_code, local_id)
);
CREATE INDEX entries_by_record ON entries (record_id, occurred_on);

CREATE TABLE relationships (
    id                 INTEGER PRIMARY KEY,
    org_code           TEXT NOT NULL REFERENCES organisations (code),
    record_id          INTEGER NOT NULL REFERENCES source_records (id),
    related_record_id  INTEGER NOT NULL REFERENCES source_records (id),
    kind               TEXT NOT NULL CHECK (kind IN
                        ('parent', 'parental-responsibility', 'carer', 'sibling', 'household-member')),
    start_date         TEXT,
    end_date           TEXT,
    batch_id           INTEGER REFERENCES ingest_batches (id),
    UNIQUE (org_code, record_id, related_record_id, kind)
);
CREATE INDEX relationships_by_related ON relationships (related_record_id);
