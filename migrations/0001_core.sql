-- Service core: webhook deliveries, the durable job queue, installations.
-- Times are Unix epoch milliseconds (INTEGER), portable to PostgreSQL BIGINT.

-- Every webhook delivery GitHub sent us, verified and stored before we acknowledge it.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- X-GitHub-Delivery: GitHub's GUID for this delivery; redeliveries reuse it.
    delivery_guid   TEXT    NOT NULL UNIQUE,
    event           TEXT    NOT NULL,
    action          TEXT,
    installation_id INTEGER,
    repository      TEXT,
    -- The headers GitHub sent (JSON object, lower-case names; the signature is not kept).
    headers         TEXT    NOT NULL,
    body            BLOB    NOT NULL,
    received_at     INTEGER NOT NULL,
    -- queued | processed | skipped | unsupported | failed
    outcome         TEXT    NOT NULL,
    -- Why a delivery was skipped or failed, for people reading `jobs show` or the dashboard.
    note            TEXT,
    processed_at    INTEGER
);
CREATE INDEX deliveries_outcome ON deliveries (outcome, received_at);

-- The job queue. A job is claimed by setting a lease; success deletes it.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    -- queued (waiting or running, see lease_until) | dead (gave up; kept with its last error)
    state        TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    -- Not before this time (backoff after a failure).
    run_at       INTEGER NOT NULL,
    -- While a worker holds the job; NULL when nobody does. An expired lease means the
    -- worker died and the job may be claimed again.
    lease_until  INTEGER,
    leased_by    TEXT,
    last_error   TEXT,
    delivery_id  INTEGER REFERENCES deliveries (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (state, run_at);
CREATE UNIQUE INDEX jobs_one_per_delivery ON jobs (delivery_id) WHERE delivery_id IS NOT NULL;

-- Keys of jobs that must run once, ever (a nightly run keyed by its date). Kept after the job
-- itself is gone, so the same key is never enqueued twice.
CREATE TABLE job_dedup_keys (
    dedup_key  TEXT    PRIMARY KEY,
    job_id     INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- Installations of the GitHub App.
CREATE TABLE installations (
    id                   INTEGER PRIMARY KEY,
    account_login        TEXT    NOT NULL,
    account_type         TEXT    NOT NULL,
    repository_selection TEXT,
    suspended_at         INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

-- Repositories GlobalLM knows. `installation_id` is set while the App is installed on it.
CREATE TABLE repositories (
    id              INTEGER PRIMARY KEY,
    full_name       TEXT    NOT NULL,
    private         INTEGER NOT NULL DEFAULT 0,
    installation_id INTEGER REFERENCES installations (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX repositories_installation ON repositories (installation_id);
CREATE INDEX repositories_full_name ON repositories (full_name);
