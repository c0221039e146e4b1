-- The fix lifecycle as a state machine (`src/fix/lifecycle.rs`): every transition reads the row,
-- decides, and writes it back only if no other transition wrote it meanwhile (`version`); a lost
-- race reads again and decides again.
ALTER TABLE fix_prs ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
-- A maintainer's `/globallm merge` names the head it approved; any other head voids it.
ALTER TABLE fix_prs ADD COLUMN merge_approved_sha TEXT;
ALTER TABLE fix_prs ADD COLUMN merge_approved_by TEXT;
-- Approvals that named no commit approved whatever came next: they are not carried over.
ALTER TABLE fix_prs DROP COLUMN merge_approved;
-- The merge base and head the stored tier was computed from (the whole branch).
ALTER TABLE fix_prs ADD COLUMN tier_base TEXT;
ALTER TABLE fix_prs ADD COLUMN tier_head TEXT;
