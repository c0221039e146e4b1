-- The LLM budget (DESIGN §7): reservations held against the caps, and the ledger of every
-- budget event, kept for good. Times are Unix epoch milliseconds.

-- One reservation per unit of work: an LLM call (tokens), or a fix attempt (an attempt and
-- seconds of work). What a reservation counts against the caps of its window:
--   active   → what it reserved (until expires_at; a crashed worker's then expires)
--   settled  → what was really used
--   released, expired → nothing
CREATE TABLE budget_reservations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Start of the budget week the reservation counts in (Unix ms).
    window_start     INTEGER NOT NULL,
    -- owner/name
    repo             TEXT    NOT NULL,
    language         TEXT    NOT NULL,
    -- What the work is: a prompt's task name, `fix_attempt`, …
    purpose          TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'active'
                     CHECK (state IN ('active', 'settled', 'released', 'expired')),
    tokens_reserved  INTEGER NOT NULL,
    seconds_reserved INTEGER NOT NULL,
    -- 1 for a fix attempt, else 0.
    fix_attempts     INTEGER NOT NULL,
    input_tokens     INTEGER NOT NULL DEFAULT 0,
    output_tokens    INTEGER NOT NULL DEFAULT 0,
    seconds_used     INTEGER NOT NULL DEFAULT 0,
    -- Whether the usage is our estimate (the provider reported none).
    usage_estimated  INTEGER NOT NULL DEFAULT 0,
    provider         TEXT,
    model            TEXT,
    -- NULL when the model has no price in llm.prices.
    cost_usd         REAL,
    -- The caller's idempotency key: reserving again with it returns this reservation.
    request_key      TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    closed_at        INTEGER
);
CREATE INDEX budget_reservations_window ON budget_reservations (window_start, repo);
CREATE INDEX budget_reservations_expiry ON budget_reservations (state, expires_at);
CREATE UNIQUE INDEX budget_reservations_key ON budget_reservations (request_key)
    WHERE request_key IS NOT NULL AND state IN ('active', 'settled');

-- What each window's reservations count against the caps, kept in step with
-- budget_reservations in the same transactions, so a reservation reads three rows instead of
-- summing the window. Scopes: 'all', 'repo:<owner/name>', 'language:<language>'.
CREATE TABLE budget_usage (
    window_start INTEGER NOT NULL,
    scope        TEXT    NOT NULL,
    tokens       INTEGER NOT NULL DEFAULT 0,
    seconds      INTEGER NOT NULL DEFAULT 0,
    fix_attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (window_start, scope)
) WITHOUT ROWID;

-- Every budget event: reserve, settle, release, expire, renew, and deny (a reservation refused
-- by a cap, with no reservation). The amounts are those the event concerns: held for reserve,
-- used for settle, freed for release and expire, asked for deny.
CREATE TABLE budget_ledger (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    reservation_id      INTEGER REFERENCES budget_reservations (id),
    event               TEXT    NOT NULL
                        CHECK (event IN ('reserve', 'settle', 'release', 'expire', 'renew', 'deny')),
    window_start        INTEGER NOT NULL,
    repo                TEXT    NOT NULL,
    language            TEXT    NOT NULL,
    tokens              INTEGER NOT NULL DEFAULT 0,
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0,
    seconds             INTEGER NOT NULL DEFAULT 0,
    fix_attempts        INTEGER NOT NULL DEFAULT 0,
    provider            TEXT,
    model               TEXT,
    cost_usd            REAL,
    provider_request_id TEXT,
    usage_estimated     INTEGER NOT NULL DEFAULT 0,
    -- Why: the cap that denied, the error that released, …
    note                TEXT,
    at                  INTEGER NOT NULL
);
CREATE INDEX budget_ledger_window ON budget_ledger (window_start, event);
CREATE INDEX budget_ledger_reservation ON budget_ledger (reservation_id);
