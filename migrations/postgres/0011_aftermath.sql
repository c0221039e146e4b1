-- After the merge (`src/fix/aftermath.rs`, `src/fix/autonomy.rs`, `src/db/outcomes.rs`): who
-- merged and reverted each fix and when, the time its jobs spent, and the post-merge guard's
-- watch of every merge commit GlobalLM made.

-- `globallm` when GlobalLM merged it, else the login of who did.
ALTER TABLE fix_prs ADD COLUMN merged_by TEXT;
ALTER TABLE fix_prs ADD COLUMN merged_at BIGINT;
-- `globallm` when the post-merge guard's revert merged, else the login of who reverted it.
ALTER TABLE fix_prs ADD COLUMN reverted_by TEXT;
ALTER TABLE fix_prs ADD COLUMN reverted_at BIGINT;
-- Wall-clock milliseconds the fix's drafting and repair jobs spent.
ALTER TABLE fix_prs ADD COLUMN spent_ms BIGINT NOT NULL DEFAULT 0;

-- One watch per merge GlobalLM made: the base branch's checks on the merge commit against
-- those on its first parent, until the guard window closes.
CREATE TABLE merge_watches (
    fix_id        BIGINT PRIMARY KEY REFERENCES fix_prs (id),
    repo          TEXT    NOT NULL,
    installation  BIGINT NOT NULL,
    base_branch   TEXT    NOT NULL,
    merge_sha     TEXT    NOT NULL,
    parent_sha    TEXT    NOT NULL,
    -- watching | clean | reverting | reverted | cleared
    state         TEXT    NOT NULL,
    -- JSON array of the checks that turned red on the merge commit.
    failing       TEXT,
    -- The failed check runs re-run once because they looked like infrastructure (JSON array of
    -- run ids; NULL: none was): their failures are waited past, not reverted.
    rerun         TEXT,
    revert_pr     BIGINT,
    revert_head   TEXT,
    -- After this, a merge commit with no regression is clean.
    deadline      BIGINT NOT NULL,
    version       BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX merge_watches_by_sha ON merge_watches (repo, merge_sha);
CREATE INDEX merge_watches_by_revert ON merge_watches (repo, revert_head);
CREATE INDEX merge_watches_open ON merge_watches (state, deadline);
CREATE INDEX fix_prs_merged ON fix_prs (repo, merged_at) WHERE state = 'merged';
