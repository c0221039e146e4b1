-- Fixes: GlobalLM's pull requests, one open (or being drafted) per issue, with everything the
-- CI and merge automation needs to decide and to explain.
CREATE TABLE fix_prs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    repo          TEXT    NOT NULL,
    issue         INTEGER NOT NULL,
    installation  INTEGER NOT NULL,
    branch        TEXT    NOT NULL,
    -- Set once the pull request is opened.
    pr_number     INTEGER,
    -- The head GlobalLM pushed last; any other head means someone else pushed.
    head_sha      TEXT,
    -- drafting | open | merged | closed | failed
    state         TEXT    NOT NULL,
    -- low | medium | high | critical, and why (JSON array of reasons)
    tier          TEXT,
    risk_reasons  TEXT,
    category      TEXT,
    complexity    INTEGER,
    -- Automation stopped (`/globallm stop`, a human push, a bound reached), and why.
    stopped       INTEGER NOT NULL DEFAULT 0,
    stop_reason   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    repairs       INTEGER NOT NULL DEFAULT 0,
    reruns        INTEGER NOT NULL DEFAULT 0,
    tokens        INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL    NOT NULL DEFAULT 0,
    merge_sha     TEXT,
    -- The last CI verdict on the head: pending | green | red | blocked
    last_ci       TEXT,
    -- Whether a maintainer said `/globallm merge` (a HIGH-tier pull request may then merge).
    merge_approved INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX fix_prs_one_per_issue ON fix_prs (repo, issue) WHERE state IN ('drafting', 'open');
CREATE INDEX fix_prs_by_pr ON fix_prs (repo, pr_number);
