//! Who GlobalLM reads a repository as (DESIGN §9.7, consent first): its installation when it
//! has installed the App; otherwise the operator's read-only token (`GLOBALLM_GITHUB_TOKEN`)
//! or nobody, through a client that holds no App credentials at all — so a repository that
//! has not installed GlobalLM can be read and never written.

use crate::context::Context;
use crate::github::ids::{InstallationId, RepoName};
use crate::github::{Auth, GithubClient, GithubError};
use anyhow::Context as _;
use std::sync::Arc;

/// GitHub's primary limit for anonymous requests, per hour and IP address.
pub const ANONYMOUS_LIMIT_PER_HOUR: u32 = 60;

/// How a repository is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The App is installed: its installation token.
    Installation(InstallationId),
    /// Not installed: the operator's read-only token.
    Token,
    /// Not installed and no token: anonymous requests.
    Anonymous,
}

/// A repository's reader.
#[derive(Debug, Clone)]
pub struct RepoAccess {
    /// The client to read with.
    pub client: Arc<GithubClient>,
    /// As whom.
    pub via: Via,
}

impl RepoAccess {
    /// The credentials of each request.
    pub fn auth(&self) -> Auth {
        match self.via {
            Via::Installation(id) => Auth::Installation(id),
            Via::Token => Auth::Token,
            Via::Anonymous => Auth::None,
        }
    }

    /// Whether the repository has installed the App.
    pub fn installed(&self) -> bool {
        matches!(self.via, Via::Installation(_))
    }

    /// How it is read, for people.
    pub fn describe(&self) -> String {
        match self.via {
            Via::Installation(id) => format!("the App's installation {}", id.0),
            Via::Token => {
                "the read-only token GLOBALLM_GITHUB_TOKEN (the App is not installed: read only)"
                    .to_owned()
            }
            Via::Anonymous => format!(
                "anonymous requests (the App is not installed and GLOBALLM_GITHUB_TOKEN is not set: read only, {ANONYMOUS_LIMIT_PER_HOUR} requests an hour)"
            ),
        }
    }

    /// The note a command prints on stderr before reading anonymously, else `None`.
    pub fn anonymous_note(&self) -> Option<String> {
        (self.via == Via::Anonymous).then(|| {
            format!(
                "note: reading anonymously: GitHub allows {ANONYMOUS_LIMIT_PER_HOUR} requests an hour without a token; set GLOBALLM_GITHUB_TOKEN to a read-only token for 5,000"
            )
        })
    }

    /// A GitHub error of a read, with a rate limit turned into what a person can act on:
    /// which limit, and when it resets.
    pub fn explain(&self, err: GithubError, what: &str) -> anyhow::Error {
        match err {
            GithubError::RateLimited { reset_at, message } => {
                let limit = match self.via {
                    Via::Anonymous => format!(
                        "GitHub's limit for anonymous requests ({ANONYMOUS_LIMIT_PER_HOUR} an hour) is used up; set GLOBALLM_GITHUB_TOKEN to a read-only token for 5,000 an hour"
                    ),
                    Via::Token => {
                        "the rate limit of GLOBALLM_GITHUB_TOKEN (5,000 requests an hour) is used up"
                            .to_owned()
                    }
                    Via::Installation(_) => {
                        "the App installation's rate limit is used up".to_owned()
                    }
                };
                anyhow::anyhow!(
                    "{what}: {limit}; it resets at {} ({message})",
                    crate::time::format_ms(reset_at)
                )
            }
            other => anyhow::Error::new(other).context(what.to_owned()),
        }
    }
}

/// The reader of `repo`: its installation when the App is configured and installed there,
/// else read-only.
pub async fn resolve(ctx: &Context, repo: &RepoName) -> anyhow::Result<RepoAccess> {
    let github = ctx.github()?;
    if github.app().is_some() {
        match github.repo_installation(repo).await {
            Ok(installation) => {
                return Ok(RepoAccess {
                    client: github,
                    via: Via::Installation(installation.id),
                });
            }
            Err(GithubError::NotFound(_)) => {}
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("asking GitHub whether the App is installed on {repo}")
                });
            }
        }
    }
    let client = ctx.read_only_github()?;
    let via = if client.has_read_token() {
        Via::Token
    } else {
        Via::Anonymous
    };
    Ok(RepoAccess { client, via })
}
