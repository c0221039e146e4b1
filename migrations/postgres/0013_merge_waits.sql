-- GlobalLM pull requests that are green and wait to merge: for the repository's merge slot,
-- its merge window, a freeze, CI on a branch brought up to date, or GitHub's merge queue. One
-- row per fix, for the head it waits with: a newer head, a merge, a close or a stop makes the
-- row stale, and the list reads only rows whose fix is still open on that head.
CREATE TABLE merge_waits (
    fix_id  BIGINT PRIMARY KEY REFERENCES fix_prs (id) ON DELETE CASCADE,
    repo    TEXT    NOT NULL,
    head    TEXT    NOT NULL,
    -- slot | window | freeze | update | queue
    reason  TEXT    NOT NULL,
    detail  TEXT,
    -- When the wait ends by itself (a window's opening), if known.
    until   BIGINT,
    since   BIGINT NOT NULL
);
CREATE INDEX merge_waits_repo ON merge_waits (repo);
