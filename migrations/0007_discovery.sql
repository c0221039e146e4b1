-- Discovery: runs and their checkpoints, the repositories found and why some were filtered
-- out, packages and the dependency graph between them, per-run snapshots of every repository's
-- signals, scores and graph metrics, and redundancy clusters.

-- One discovery run. A scheduled run holds its night (YYYY-MM-DD, UTC): unique, so the same
-- night is never run twice. A manual run has no night.
CREATE TABLE discovery_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    night          TEXT    UNIQUE,
    -- schedule | manual
    trigger        TEXT    NOT NULL,
    -- JSON array of languages, e.g. ["python"]
    languages      TEXT    NOT NULL,
    min_stars      INTEGER NOT NULL,
    -- running | finished | failed
    state          TEXT    NOT NULL,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    -- GitHub calls and rate-limit points spent, registry calls made (summed over resumes).
    search_calls   INTEGER NOT NULL DEFAULT 0,
    graphql_calls  INTEGER NOT NULL DEFAULT 0,
    graphql_points INTEGER NOT NULL DEFAULT 0,
    registry_calls INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT
);
CREATE INDEX discovery_runs_state ON discovery_runs (state, started_at);

-- Checkpoints of the search: every window (a GitHub language, a star range and a creation
-- date range) of a run. pending → split (replaced by its halves) | done (its repos stored).
CREATE TABLE discovery_windows (
    run_id       INTEGER NOT NULL REFERENCES discovery_runs (id) ON DELETE CASCADE,
    gh_language  TEXT    NOT NULL,
    stars_min    INTEGER NOT NULL,
    -- NULL: no upper bound.
    stars_max    INTEGER,
    -- YYYY-MM-DD, both NULL when the window spans all dates.
    created_from TEXT,
    created_to   TEXT,
    -- The window's search qualifiers (`stars:1001..5000 created:2010-01-01..2010-12-31`),
    -- its identity within the run.
    qualifiers   TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'split', 'done')),
    -- What search said the window holds, and how many results were read.
    total        INTEGER,
    fetched      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, gh_language, qualifiers)
);

-- Repositories a run found, kept or filtered out with the reason.
CREATE TABLE discovered_repos (
    run_id      INTEGER NOT NULL REFERENCES discovery_runs (id) ON DELETE CASCADE,
    -- owner/name, lower case
    repo        TEXT    NOT NULL,
    github_id   INTEGER NOT NULL,
    language    TEXT    NOT NULL,
    stars       INTEGER NOT NULL,
    archived    INTEGER NOT NULL,
    disabled    INTEGER NOT NULL,
    fork        INTEGER NOT NULL,
    mirror      INTEGER NOT NULL,
    created_at  INTEGER,
    pushed_at   INTEGER,
    -- NULL when kept; archived | disabled | fork | mirror | below_thresholds
    filtered    TEXT,
    PRIMARY KEY (run_id, repo)
);

-- Packages and the repositories they are published from.
CREATE TABLE packages (
    language    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    repo        TEXT,
    version     TEXT,
    dependents  INTEGER,
    -- Where `dependents` came from: crates.io, pkg.go.dev, deps.dev, ecosyste.ms, libraries.io
    dependents_source TEXT,
    downloads   INTEGER,
    fetched_at  INTEGER NOT NULL,
    PRIMARY KEY (language, name)
);
CREATE INDEX packages_repo ON packages (repo);

-- The dependency graph: an edge from a dependent package to its dependency.
CREATE TABLE package_edges (
    language    TEXT    NOT NULL,
    dependent   TEXT    NOT NULL,
    dependency  TEXT    NOT NULL,
    -- registry | deps.dev | manifest
    source      TEXT    NOT NULL,
    PRIMARY KEY (language, dependent, dependency)
);

-- What a run measured of each kept repository: raw signals, scores, graph metrics.
CREATE TABLE repo_snapshots (
    run_id        INTEGER NOT NULL REFERENCES discovery_runs (id) ON DELETE CASCADE,
    repo          TEXT    NOT NULL,
    language      TEXT    NOT NULL,
    -- scoring::HealthInputs and ImpactInputs, JSON; `extra` holds signals outside the score
    -- (CI state of the default branch, issues opened/closed in 90 days).
    health_inputs TEXT    NOT NULL,
    impact_inputs TEXT    NOT NULL,
    extra         TEXT    NOT NULL,
    health        REAL    NOT NULL,
    impact        REAL    NOT NULL,
    redundancy    REAL    NOT NULL DEFAULT 0,
    pagerank      REAL,
    betweenness   REAL,
    reach         INTEGER,
    taken_at      INTEGER NOT NULL,
    PRIMARY KEY (run_id, repo)
);
CREATE INDEX repo_snapshots_repo ON repo_snapshots (repo, run_id);

-- Redundancy: clusters of repositories that do the same thing, per language.
CREATE TABLE redundancy_members (
    language      TEXT    NOT NULL,
    cluster       INTEGER NOT NULL,
    repo          TEXT    NOT NULL,
    -- Similarity to the cluster's healthiest member (README, API names), in [0, 1].
    readme_similarity REAL NOT NULL,
    api_similarity    REAL NOT NULL,
    shared_names  TEXT    NOT NULL,
    healthiest    INTEGER NOT NULL,
    -- The penalty R fed into the priority score.
    penalty       REAL    NOT NULL,
    -- archive | keep
    recommendation TEXT   NOT NULL,
    computed_at   INTEGER NOT NULL,
    PRIMARY KEY (language, repo)
);

-- What redundancy detection reads of a repository: its README and the API names it shows.
CREATE TABLE repo_texts (
    repo       TEXT    PRIMARY KEY,
    readme     TEXT    NOT NULL,
    -- JSON array of normalized names
    api_names  TEXT    NOT NULL,
    fetched_at INTEGER NOT NULL
);
