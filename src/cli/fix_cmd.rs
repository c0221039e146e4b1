//! `globallm fix --issue-url URL [--dry-run]`: draft the fix of one issue from the command line.
//! With `--dry-run` it prints the files it would change and why, the diff, the test, the risk
//! tier and the tokens, and pushes nothing; without, it runs the same job the label and the
//! `/globallm fix` command run, and opens the draft pull request.

use crate::config::Sources;
use crate::fix::{self, FixIssue, Trigger};

/// `globallm fix …`
#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// The issue, https://github.com/OWNER/REPO/issues/NUMBER
    #[arg(long, value_name = "URL")]
    issue_url: String,
    /// Show what would be pushed; push nothing
    #[arg(long)]
    dry_run: bool,
}

/// Runs `fix`.
pub async fn run(sources: &Sources, args: &FixArgs) -> anyhow::Result<()> {
    let (repo, number) = fix::parse_issue_url(&args.issue_url).map_err(anyhow::Error::msg)?;
    let ctx = super::context(sources).await?;
    if args.dry_run {
        print!("{}", fix::dry_run::dry_run(&ctx, &repo, number).await?);
        return Ok(());
    }
    let github = ctx.github()?;
    let inst = github.repo_installation(&repo).await?.id;
    let job = FixIssue {
        installation: inst.0,
        repo: repo.to_string(),
        issue: number,
        requested_by: String::new(),
        trigger: Trigger::Cli,
    };
    let outcome = job
        .fix(&ctx, 0, false)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    println!("{repo}#{number}: {outcome}");
    Ok(())
}
