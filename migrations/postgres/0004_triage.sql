-- Triage: what GlobalLM knows of repositories (health and impact inputs) and of the issues it
-- triaged, kept with every input so a ranking can be recomputed when weights change.

CREATE TABLE repo_signals (
    repo        TEXT    PRIMARY KEY,
    language    TEXT,
    -- HealthInputs and ImpactInputs, JSON.
    health      TEXT    NOT NULL,
    impact      TEXT    NOT NULL,
    redundancy  DOUBLE PRECISION    NOT NULL DEFAULT 0,
    has_tests   BIGINT,
    -- live (cheap signals from the API, kept a day) | discovery (the nightly run)
    source      TEXT    NOT NULL,
    fetched_at  BIGINT NOT NULL
);

CREATE TABLE triaged_issues (
    repo            TEXT    NOT NULL,
    number          BIGINT NOT NULL,
    title           TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    language        TEXT,
    category        TEXT    NOT NULL,
    complexity      BIGINT NOT NULL,
    complexity_note TEXT,
    area            TEXT,
    confidence      DOUBLE PRECISION    NOT NULL,
    -- llm | offline
    categorized_by  TEXT    NOT NULL,
    opened_at       BIGINT NOT NULL,
    engagement      BIGINT NOT NULL,
    health          DOUBLE PRECISION    NOT NULL,
    impact          DOUBLE PRECISION    NOT NULL,
    redundancy      DOUBLE PRECISION    NOT NULL,
    has_tests       BIGINT,
    priority        DOUBLE PRECISION    NOT NULL,
    level           TEXT    NOT NULL,
    comment_id      BIGINT,
    -- The triage comment as last written, so an unchanged triage writes nothing.
    comment_body    TEXT,
    triaged_at      BIGINT NOT NULL,
    PRIMARY KEY (repo, number)
);
CREATE INDEX triaged_open_language ON triaged_issues (state, language);

-- Commands GlobalLM carried out, so a job that runs again after a crash never answers twice.
CREATE TABLE command_runs (
    repo        TEXT    NOT NULL,
    comment_id  BIGINT NOT NULL,
    verb        TEXT    NOT NULL,
    -- The how-manieth occurrence of this verb in the comment (an edit can add another).
    occurrence  BIGINT NOT NULL,
    outcome     TEXT    NOT NULL,
    ran_at      BIGINT NOT NULL,
    PRIMARY KEY (repo, comment_id, verb, occurrence)
);
