//! Errors of GitHub API calls, typed so callers can branch on them.

use crate::time::Millis;

/// A GitHub API call that failed.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// 404: the thing does not exist, or the App cannot see it.
    #[error("not found: {0}")]
    NotFound(String),
    /// 401: the credentials were refused.
    #[error("GitHub refused the credentials: {0}")]
    Unauthorized(String),
    /// 403 without a rate limit: the App lacks a permission, or the action is not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A primary or secondary rate limit, still in force after the client's bounded wait.
    #[error("rate limited until {reset_at} (Unix ms): {message}")]
    RateLimited {
        /// When the limit resets.
        reset_at: Millis,
        /// GitHub's message.
        message: String,
    },
    /// 409/422: the request was understood but refused (a validation error, a conflict).
    #[error("GitHub refused the request ({status}): {message}")]
    Validation {
        /// 409, 405 or 422.
        status: u16,
        /// GitHub's message and field errors.
        message: String,
    },
    /// 5xx after the client's retries.
    #[error("GitHub failed ({status}) after {attempts} attempts: {message}")]
    Server {
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// GitHub's message.
        message: String,
    },
    /// The request did not get an answer (connection, timeout) after the client's retries.
    #[error("no answer from GitHub after {attempts} attempts: {message}")]
    Transport {
        /// Attempts made.
        attempts: u32,
        /// What went wrong.
        message: String,
    },
    /// An answer of an unexpected shape.
    #[error("unexpected answer from GitHub for {what}: {message}")]
    Decode {
        /// The call.
        what: String,
        /// The parser's message.
        message: String,
    },
    /// The answer's body was longer than `github.max_response_bytes`; it was not read on.
    #[error("GitHub's answer to {what} is larger than github.max_response_bytes ({limit} bytes)")]
    TooLarge {
        /// The call.
        what: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The App is not configured (no id or private key), so it cannot authenticate.
    #[error(
        "the GitHub App is not configured: register it at the service's / page, or set \
         GLOBALLM_GITHUB_APP_ID and GLOBALLM_GITHUB_PRIVATE_KEY_PATH"
    )]
    NotConfigured,
    /// Any other unexpected status.
    #[error("GitHub answered {status}: {message}")]
    Other {
        /// The status.
        status: u16,
        /// GitHub's message.
        message: String,
    },
}

impl GithubError {
    /// Whether a write that ended with this error may still have been applied by GitHub: the
    /// answer was lost or was a server error, not a refusal.
    pub fn may_have_been_applied(&self) -> bool {
        matches!(
            self,
            GithubError::Server { .. } | GithubError::Transport { .. }
        )
    }

    /// Whether it will fail the same way every time (a 404, a 403 that is not a rate limit, a
    /// 422, an answer that does not parse, an unconfigured App): a job fails at once instead
    /// of retrying.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GithubError::RateLimited { .. }
                | GithubError::Server { .. }
                | GithubError::Transport { .. }
        )
    }
}
