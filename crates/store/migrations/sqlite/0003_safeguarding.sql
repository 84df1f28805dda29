-- Kith operational schema, version 3 (SQLite): safeguarding flags as NHS CP-IS keeps them.
-- Flags published by children's social care, the encounters reported by care settings, the
-- notification outbox (written in the encounter's transaction) and the log of who saw a flag.
-- CCIs are not foreign keys: a flag may be published before the child's records are linked,
-- and a merge re-points flags explicitly (with a notification) rather than by cascade.

CREATE TABLE safeguarding_flags (
    id                 INTEGER PRIMARY KEY,
    cci                TEXT NOT NULL,
    kind               TEXT NOT NULL
                        CHECK (kind IN ('child-protection-plan', 'looked-after-child',
                                        'unborn-child-protection-plan')),
    la_code            TEXT NOT NULL,
    la_name            TEXT NOT NULL,
    reference          TEXT NOT NULL,
    office_phone       TEXT NOT NULL,
    office_email       TEXT NOT NULL,
    ooh_phone          TEXT NOT NULL,
    ooh_email          TEXT NOT NULL,
    start_date         TEXT NOT NULL,
    end_date           TEXT,
    source_updated_at  TEXT NOT NULL,
    received_at        TEXT NOT NULL,
    UNIQUE (la_code, kind, cci, reference),
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX safeguarding_flags_by_child ON safeguarding_flags (cci, start_date);

CREATE TABLE safeguarding_encounters (
    id           INTEGER PRIMARY KEY,
    source_org   TEXT NOT NULL,
    local_id     TEXT NOT NULL,
    cci          TEXT NOT NULL,
    setting      TEXT NOT NULL,
    org_code     TEXT NOT NULL,
    org_name     TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    UNIQUE (source_org, local_id)
);
CREATE INDEX safeguarding_encounters_by_child ON safeguarding_encounters (cci);

CREATE TABLE safeguarding_notifications (
    id               INTEGER PRIMARY KEY,
    -- One notification per (reason, encounter or identity change, flag): a re-sent encounter
    -- or a second view in the same encounter finds the key taken.
    dedup_key        TEXT NOT NULL UNIQUE,
    la_code          TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('attendance', 'view', 'identity-change')),
    flag_id          INTEGER NOT NULL REFERENCES safeguarding_flags (id),
    cci              TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Milliseconds since the Unix epoch: due when at or before now. A claim pushes it past the
    -- lease, so a worker that dies mid-delivery leaves the row due again later.
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    delivered_at     TEXT
);
CREATE INDEX safeguarding_notifications_due ON safeguarding_notifications (status, next_attempt_at);
CREATE INDEX safeguarding_notifications_by_la ON safeguarding_notifications (la_code, id);

CREATE TABLE safeguarding_flag_access (
    id         INTEGER PRIMARY KEY,
    flag_id    INTEGER NOT NULL REFERENCES safeguarding_flags (id),
    viewer     TEXT NOT NULL,
    org_code   TEXT NOT NULL,
    role       TEXT NOT NULL,
    setting    TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX safeguarding_flag_access_by_flag ON safeguarding_flag_access (flag_id, id);
