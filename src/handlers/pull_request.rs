//! `pull_request`: a pull request that changes `.github/globallm.yml` gets a check run saying
//! whether the new file is valid, and exactly what is wrong when it is not.

use super::Handled;
use crate::context::Context;
use crate::event::PullRequestEvent;
use crate::event::model::PullRequestAction;
use crate::github::model::{CheckRunOutput, NewCheckRun};
use crate::github::repo_config::{self, RepoConfig};
use anyhow::Context as _;

/// The check run's name.
pub const CONFIG_CHECK: &str = "GlobalLM config";

/// Checks a changed `.github/globallm.yml`.
pub async fn handle_pull_request(
    ctx: &Context,
    event: &PullRequestEvent,
) -> anyhow::Result<Handled> {
    if !matches!(
        event.action,
        PullRequestAction::Opened | PullRequestAction::Synchronize | PullRequestAction::Reopened
    ) {
        return Ok(Handled::Skipped(format!(
            "nothing to do on `{}`",
            event.action.as_str()
        )));
    }
    let Some(inst) = event.installation else {
        return Ok(Handled::Skipped(
            "not delivered through an installation".to_owned(),
        ));
    };
    if ctx.config().github.app_id.is_none() {
        return Ok(Handled::Skipped(
            "the GitHub App is not configured".to_owned(),
        ));
    }
    let github = ctx.github()?;
    let repo = &event.repository.name;
    let pull = &event.pull_request;
    let files = github
        .pull_files(inst, repo, pull.number)
        .await
        .context("listing the pull request's files")?;
    if !files.iter().any(|f| f.filename == repo_config::PATH) {
        return Ok(Handled::Skipped(format!(
            "does not change {}",
            repo_config::PATH
        )));
    }
    let sha = &pull.head.sha.0;
    let runs = github
        .check_runs(inst, repo, sha)
        .await
        .context("listing check runs")?;
    if runs.iter().any(|r| r.name == CONFIG_CHECK) {
        return Ok(Handled::Skipped(format!(
            "{CONFIG_CHECK} already reported on {sha}"
        )));
    }
    let file = github
        .get_file(inst, repo, repo_config::PATH, Some(sha))
        .await
        .context("reading the new config file")?;
    let (conclusion, title, summary) = match file {
        None => (
            "success",
            "removed: the defaults apply".to_owned(),
            "GlobalLM will use its defaults here.".to_owned(),
        ),
        Some(file) => match RepoConfig::parse(&String::from_utf8_lossy(&file.content)) {
            Ok(_) => (
                "success",
                format!("{} is valid", repo_config::PATH),
                "GlobalLM will use this configuration once it is merged.".to_owned(),
            ),
            Err(problems) => (
                "failure",
                format!("{} is invalid", repo_config::PATH),
                format!(
                    "GlobalLM would ignore this file and keep its last valid configuration:\n\n{}",
                    problems
                        .iter()
                        .map(|p| format!("- {p}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            ),
        },
    };
    let run = NewCheckRun {
        name: CONFIG_CHECK.to_owned(),
        head_sha: sha.clone(),
        status: "completed".to_owned(),
        conclusion: Some(conclusion.to_owned()),
        output: CheckRunOutput { title, summary },
    };
    github
        .create_check_run(inst, repo, &run)
        .await
        .context("reporting the config check")?;
    Ok(Handled::Done)
}
