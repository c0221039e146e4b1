//! `globallm fix --dry-run`: drafts the fix of one issue as the job would (the LLM calls are
//! real and budgeted) and prints what it would push, as deterministic plain text (no time, no
//! path of the machine), so it can be snapshot-tested. Nothing is pushed, commented or stored.

use super::risk::{self, Assessment, IssueFacts};
use crate::config::{Automerge, Language};
use crate::context::Context;
use crate::github::ids::{IssueNumber, RepoName};
use crate::solution::draft::{self, DraftInput, DraftOptions, Feedback, FixDraft, IssueInput};
use anyhow::Context as _;
use std::fmt::Write as _;

/// Drafts the fix of `repo#number` and returns the report; nothing is pushed.
pub async fn dry_run(ctx: &Context, repo: &RepoName, number: u64) -> anyhow::Result<String> {
    let github = ctx.github()?;
    let inst = github
        .repo_installation(repo)
        .await
        .with_context(|| format!("finding the App's installation on {repo}"))?
        .id;
    let settings = ctx.repo_configs.settings(&github, inst, repo).await;
    let issue = github.get_issue(inst, repo, IssueNumber(number)).await?;
    if let Some(reason) = super::skip_reason(&issue, &settings) {
        anyhow::bail!("GlobalLM would not draft a fix for {repo}#{number}: {reason}");
    }
    let meta = github.get_repo(inst, repo).await?;
    let language = meta
        .language
        .as_deref()
        .and_then(Language::from_github)
        .with_context(|| {
            format!(
                "{repo}'s language ({}) is not one GlobalLM drafts fixes for",
                meta.language.as_deref().unwrap_or("unknown")
            )
        })?;
    let llm = ctx
        .llm()
        .context("no LLM provider is configured (`llm.provider` and its API key)")?;
    let job = super::FixIssue {
        installation: inst.0,
        repo: repo.to_string(),
        issue: number,
        requested_by: String::new(),
        trigger: super::Trigger::Cli,
    };
    let (category, complexity) = job.category(ctx, &meta, &issue).await;
    let token = github.installation_token(inst).await?;
    let config = ctx.config();
    let clone_url = super::clone_url(&config, &meta, repo);
    let work = ctx
        .checkouts
        .work_tree(&job.repo, &clone_url, Some(&token), &meta.default_branch)
        .await?;
    let forbidden =
        risk::forbidden_paths(&config.risk, &settings.config, &issue.title, &issue.body)?;
    let draft = draft::draft_fix(DraftInput {
        work_tree: work.path(),
        repo: &job.repo,
        language,
        issue: IssueInput {
            number,
            title: &issue.title,
            body: &issue.body,
            category,
            complexity,
        },
        forbidden: &forbidden,
        test_command: settings.config.test_command.as_deref(),
        llm: &llm,
        feedback: Feedback::default(),
        max_attempts: config.fix.max_attempts,
        options: DraftOptions::from_config(&config),
    })
    .await
    .map_err(|err| anyhow::anyhow!("no fix drafted for {repo}#{number}: {err}"))?;
    let assessment = risk::assess_changes(
        &draft.changes,
        &forbidden,
        IssueFacts {
            category,
            complexity,
            repo_has_tests: draft.repo_has_tests,
        },
        &config.risk,
    );
    let ceiling = risk::automerge_ceiling(&config.risk, &settings.config);
    Ok(render(&draft, &assessment, ceiling))
}

/// The dry-run report: the summary, the files and why, the tests, the risk tier with every
/// reason, the tokens and cost, then the diff.
pub fn render(draft: &FixDraft, assessment: &Assessment, automerge: Automerge) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Fix for issue #{}: {}", draft.issue, draft.title);
    let _ = writeln!(out, "Summary: {}", draft.summary);
    let _ = writeln!(out, "\nFiles ({}):", draft.files.len());
    for f in &draft.files {
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
        if draft.tests.is_empty() {
            "none touched".to_owned()
        } else {
            draft.tests.join(", ")
        }
    );
    if let Some(run) = &draft.test_run {
        let _ = writeln!(
            out,
            "Test command: `{}` passed{}",
            run.command,
            if run.sandboxed {
                " (in the sandbox: a copy of the tree, no network, no secrets)"
            } else {
                " (UNSANDBOXED: `fix.sandbox: none`)"
            }
        );
    }
    let _ = writeln!(
        out,
        "\nRisk: {} — {}",
        assessment.tier,
        risk::action(assessment.tier, automerge)
    );
    for reason in &assessment.reasons {
        let _ = writeln!(out, "  - {}: {}", reason.tier, reason.text.replace('`', ""));
    }
    let cost = match draft.cost_usd {
        Some(cost) => format!("${cost:.4}"),
        None => "unknown (no price configured for the model)".to_owned(),
    };
    let _ = writeln!(
        out,
        "\nTokens: {} in, {} out ({} total{}); estimated cost {cost}; attempts: {}",
        draft.usage.input_tokens,
        draft.usage.output_tokens,
        draft.usage.total(),
        if draft.usage.estimated {
            ", partly estimated"
        } else {
            ""
        },
        draft.attempts
    );
    let _ = writeln!(out, "Localized: {}", draft.localized.join(", "));
    let _ = writeln!(out, "\nDiff:\n{}", draft.diff.trim_end());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::risk::Reason;
    use crate::fix::state::Tier;
    use crate::llm::Usage;
    use crate::solution::draft::ChangedFile;

    #[test]
    fn the_dry_run_report_is_stable() {
        let draft = FixDraft {
            issue: 7,
            title: "Cart.remove_item raises KeyError for an item not in the cart".to_owned(),
            summary: "Ignore unknown SKUs in Cart.remove_item".to_owned(),
            files: vec![
                ChangedFile {
                    path: "py/shop/cart.py".into(),
                    why: "remove_item deleted the key without checking that it exists".into(),
                    added: 1,
                    removed: 1,
                    created: false,
                    is_test: false,
                },
                ChangedFile {
                    path: "py/tests/test_remove.py".into(),
                    why: "a regression test".into(),
                    added: 4,
                    removed: 0,
                    created: true,
                    is_test: true,
                },
            ],
            diff: "--- a/py/shop/cart.py\n+++ b/py/shop/cart.py\n@@ -16,2 +16,2 @@\n     def remove_item(self, sku):\n-        del self.items[sku]\n+        self.items.pop(sku, None)\n".to_owned(),
            tests: vec!["py/tests/test_remove.py".into()],
            changes: Vec::new(),
            repo_has_tests: true,
            usage: Usage {
                input_tokens: 2_100,
                output_tokens: 240,
                estimated: false,
            },
            cost_usd: Some(0.0099),
            attempts: 1,
            localized: vec!["py/shop/cart.py".into(), "py/shop/pricing.py".into()],
            index_cache: crate::solution::localize::CacheUse::Off,
            test_run: None,
        };
        let assessment = Assessment {
            tier: Tier::Low,
            reasons: vec![
                Reason {
                    tier: Tier::Low,
                    text: "complexity 2 (LOW up to 3)".into(),
                },
                Reason {
                    tier: Tier::Low,
                    text: "tests are added or changed".into(),
                },
            ],
        };
        insta::assert_snapshot!(render(&draft, &assessment, Automerge::Medium), @r"
        Fix for issue #7: Cart.remove_item raises KeyError for an item not in the cart
        Summary: Ignore unknown SKUs in Cart.remove_item

        Files (2):
          M py/shop/cart.py (+1 -1) — remove_item deleted the key without checking that it exists
          A py/tests/test_remove.py (+4 -0) — a regression test

        Test: py/tests/test_remove.py

        Risk: LOW — merges itself once CI is green
          - LOW: complexity 2 (LOW up to 3)
          - LOW: tests are added or changed

        Tokens: 2100 in, 240 out (2340 total); estimated cost $0.0099; attempts: 1
        Localized: py/shop/cart.py, py/shop/pricing.py

        Diff:
        --- a/py/shop/cart.py
        +++ b/py/shop/cart.py
        @@ -16,2 +16,2 @@
             def remove_item(self, sku):
        -        del self.items[sku]
        +        self.items.pop(sku, None)
        ");
    }
}
