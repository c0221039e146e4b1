//! Who may steer GlobalLM: write, maintain or admin on the repository, asked from the API for
//! the sender of the event (the person who labelled, commented or edited — never inferred from
//! a name, never the author of an edited comment). Bots never steer it.

use crate::event::model::{AccountKind, User};
use crate::github::ids::{InstallationId, RepoName};
use crate::github::{GithubClient, GithubError};

/// Whether `sender` may start, approve, stop or resume automation in `repo`.
pub async fn may_steer(
    github: &GithubClient,
    inst: InstallationId,
    repo: &RepoName,
    sender: &User,
) -> Result<bool, GithubError> {
    if is_bot(sender) {
        return Ok(false);
    }
    Ok(github
        .collaborator_permission(inst, repo, &sender.login)
        .await?
        .can_write())
}

/// Whether an account is a bot (an App's, GlobalLM's own included).
pub fn is_bot(user: &User) -> bool {
    user.kind == AccountKind::Bot || user.login.ends_with("[bot]")
}
