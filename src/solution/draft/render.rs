//! What `globallm fix --dry-run` prints for a draft: deterministic plain text (no time, no
//! path of the machine), so it can be snapshot-tested.

use super::FixDraft;
use crate::automation::risk;
use std::fmt::Write as _;

impl FixDraft {
    /// The dry-run report: the summary, the files and why, the tests, the risk tier with every
    /// reason, the tokens and cost, then the diff.
    pub fn render_dry_run(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Fix for issue #{}: {}", self.issue, self.title);
        let _ = writeln!(out, "Summary: {}", self.summary);
        let _ = writeln!(out, "\nFiles ({}):", self.files.len());
        for f in &self.files {
            let mark = if f.created { 'A' } else { 'M' };
            let why = if f.why.is_empty() {
                String::new()
            } else {
                format!(" — {}", f.why)
            };
            let _ = writeln!(
                out,
                "  {mark} {} (+{} -{}){why}",
                f.path, f.added, f.removed
            );
        }
        let _ = writeln!(
            out,
            "\nTest: {}",
            if self.tests.is_empty() {
                "none touched".to_owned()
            } else {
                self.tests.join(", ")
            }
        );
        if let Some(run) = &self.test_run {
            let _ = writeln!(
                out,
                "Test command: `{}` passed{}",
                run.command,
                if run.network {
                    " (with network: no network namespace here)"
                } else {
                    " (without network)"
                }
            );
        }
        let _ = writeln!(
            out,
            "\nRisk: {} — {}",
            self.risk.tier,
            risk::action(self.risk.tier, self.automerge)
        );
        for reason in &self.risk.reasons {
            let _ = writeln!(out, "  - {}: {}", reason.tier, reason.text.replace('`', ""));
        }
        let cost = match self.cost_usd {
            Some(cost) => format!("${cost:.4}"),
            None => "unknown (no price configured for the model)".to_owned(),
        };
        let _ = writeln!(
            out,
            "\nTokens: {} in, {} out ({} total{}); estimated cost {cost}; attempts: {}",
            self.usage.input_tokens,
            self.usage.output_tokens,
            self.usage.total(),
            if self.usage.estimated {
                ", partly estimated"
            } else {
                ""
            },
            self.attempts
        );
        let _ = writeln!(out, "Localized: {}", self.localized.join(", "));
        let _ = writeln!(out, "\nDiff:\n{}", self.diff.trim_end());
        out
    }
}
