-- Reports: the solvability inputs of each triaged issue (complexity, tests, the scope the
-- localizer measured), so a ranking recomputed with other weights keeps every term; and the
-- ranked candidates report each discovery run ends with, for the dashboard.

ALTER TABLE triaged_issues ADD COLUMN solvability TEXT;

CREATE TABLE candidate_reports (
    run_id      BIGINT PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    -- report::candidates::Candidates, JSON.
    report      TEXT    NOT NULL
);
