-- The fix flow's memory of what it did on each pull request, so a repeated event acts once.
-- Who asked for the fix (notified on merge, asked for review on HIGH).
ALTER TABLE fix_prs ADD COLUMN requested_by TEXT;
-- The failing CI output of the last red verdict (fed back to a repair or a retry).
ALTER TABLE fix_prs ADD COLUMN ci_output TEXT;
-- The last action taken and the head it was taken on (`review_requested@<sha>`, ...).
ALTER TABLE fix_prs ADD COLUMN acted TEXT;
-- Set when the merged pull request was reverted.
ALTER TABLE fix_prs ADD COLUMN reverted BIGINT NOT NULL DEFAULT 0;
CREATE INDEX fix_prs_by_head ON fix_prs (repo, head_sha);
