-- What the LLM budget is not spent on twice: a triage remembers the title and body it judged
-- (SHA-256 of both), so an edit that changes neither does not categorize the issue again.
ALTER TABLE triaged_issues ADD COLUMN content_hash TEXT;

-- Commands per user and repository in a fixed window (`commands.rate_limit` per
-- `commands.rate_window_secs`). `notified` is set once the one over-limit reply was written.
CREATE TABLE command_rate (
    repo         TEXT    NOT NULL,
    login        TEXT    NOT NULL,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL,
    notified     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, login)
);
