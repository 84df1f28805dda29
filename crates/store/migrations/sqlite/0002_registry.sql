-- Kith operational schema, version 2 (SQLite): the live person registry.
-- Persons (CCIs) and their links already exist; this adds the model, the blocking index, the
-- history, the outbox, steward rules, the review queue, sealed (adoption) links and stats.

ALTER TABLE persons ADD COLUMN birth_range_from TEXT;
ALTER TABLE persons ADD COLUMN birth_range_to TEXT;

CREATE TABLE registry_models (
    version       INTEGER PRIMARY KEY,
    created_at    TEXT NOT NULL,
    model_json    TEXT NOT NULL,
    -- The prior log2-odds, as text: an exact decimal rendering of the f64.
    prior_weight  TEXT NOT NULL,
    population    INTEGER NOT NULL,
    note          TEXT
);

CREATE TABLE registry_name_counts (
    model_version  INTEGER NOT NULL REFERENCES registry_models (version),
    field          TEXT NOT NULL CHECK (field IN ('given', 'family')),
    name           TEXT NOT NULL,
    records        INTEGER NOT NULL,
    PRIMARY KEY (model_version, field, name)
) WITHOUT ROWID;

CREATE TABLE registry_block_keys (
    key        INTEGER NOT NULL,
    record_id  INTEGER NOT NULL REFERENCES source_records (id),
    PRIMARY KEY (key, record_id)
) WITHOUT ROWID;

CREATE TABLE registry_counters (
    name  TEXT PRIMARY KEY,
    next  INTEGER NOT NULL
);
INSERT INTO registry_counters (name, next) VALUES ('cci', 1);

CREATE TABLE person_events (
    id      INTEGER PRIMARY KEY,
    cci     TEXT NOT NULL,
    kind    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    at      TEXT NOT NULL,
    reason  TEXT,
    detail  TEXT NOT NULL
);
CREATE INDEX person_events_by_person ON person_events (cci, id);

CREATE TABLE registry_outbox (
    id            INTEGER PRIMARY KEY,
    event_id      INTEGER NOT NULL REFERENCES person_events (id),
    org_code      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    payload       TEXT NOT NULL,
    delivered_at  TEXT
);
CREATE INDEX registry_outbox_by_org ON registry_outbox (org_code, id);

CREATE TABLE registry_rules (
    record_a  INTEGER NOT NULL REFERENCES source_records (id),
    record_b  INTEGER NOT NULL REFERENCES source_records (id),
    kind      TEXT NOT NULL CHECK (kind IN ('must-link', 'cannot-link')),
    actor     TEXT NOT NULL,
    at        TEXT NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (record_a, record_b),
    CHECK (record_a < record_b)
);
CREATE INDEX registry_rules_by_b ON registry_rules (record_b);

CREATE TABLE registry_reviews (
    id                   INTEGER PRIMARY KEY,
    record_id            INTEGER NOT NULL REFERENCES source_records (id),
    candidate_record_id  INTEGER NOT NULL REFERENCES source_records (id),
    grade                TEXT NOT NULL CHECK (grade IN ('probable', 'possible')),
    weight_milli         INTEGER NOT NULL,
    model_version        INTEGER NOT NULL,
    status               TEXT NOT NULL DEFAULT 'open'
                          CHECK (status IN ('open', 'accepted', 'rejected', 'superseded')),
    created_at           TEXT NOT NULL,
    decided_by           TEXT,
    decided_at           TEXT,
    reason               TEXT,
    UNIQUE (record_id, candidate_record_id)
);
CREATE INDEX registry_reviews_by_status ON registry_reviews (status, id);

CREATE TABLE registry_sealed (
    new_cci    TEXT PRIMARY KEY,
    old_cci    TEXT NOT NULL,
    sealed_at  TEXT NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT NOT NULL
);

CREATE TABLE registry_sealed_access (
    id       INTEGER PRIMARY KEY,
    new_cci  TEXT NOT NULL,
    actor    TEXT NOT NULL,
    at       TEXT NOT NULL,
    reason   TEXT NOT NULL
);

CREATE TABLE registry_stats (
    id        INTEGER PRIMARY KEY,
    taken_at  TEXT NOT NULL,
    stats     TEXT NOT NULL
);
