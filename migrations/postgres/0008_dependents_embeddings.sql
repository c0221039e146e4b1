-- Discovery's second way in — repositories that matter by their dependents alone (too few
-- stars for the search), found in each ecosystem's packages listed by dependents — and the
-- README embeddings redundancy compares.

-- The checkpoint of a run's dependents listing: one row per ecosystem once its list is read.
CREATE TABLE discovery_dependents_lists (
    run_id     BIGINT NOT NULL REFERENCES discovery_runs (id) ON DELETE CASCADE,
    language   TEXT    NOT NULL,
    -- Pages read and candidates they named.
    pages      BIGINT NOT NULL,
    candidates BIGINT NOT NULL,
    -- Why the listing stopped early (the registry failed), NULL when it read to the end.
    error      TEXT,
    PRIMARY KEY (run_id, language)
);

-- Repositories named by a package with more dependents than `filter.min_dependents`, looked
-- up on GitHub: pending → stored (in `discovered_repos`, with the filter's verdict) | known
-- (the search had already found it) | missing (GitHub does not know it).
CREATE TABLE discovery_candidates (
    run_id     BIGINT NOT NULL REFERENCES discovery_runs (id) ON DELETE CASCADE,
    -- owner/name, lower case
    repo       TEXT    NOT NULL,
    language   TEXT    NOT NULL,
    -- The repository's package with the most dependents, and that count.
    package    TEXT    NOT NULL,
    dependents BIGINT NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('pending', 'stored', 'known', 'missing')),
    PRIMARY KEY (run_id, repo)
);

-- README embeddings for redundancy (with `llm.embedding_model`), kept while the README and
-- the model stay the same, so a night embeds only what changed.
CREATE TABLE readme_embeddings (
    repo        TEXT    PRIMARY KEY,
    model       TEXT    NOT NULL,
    -- SHA-256 (hex) of the text embedded.
    text_sha256 TEXT    NOT NULL,
    -- The vector: little-endian f32s.
    vector      BYTEA    NOT NULL,
    computed_at BIGINT NOT NULL
);
