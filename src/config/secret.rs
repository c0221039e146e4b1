//! Secrets: read from the environment or from files, never from `config.yaml`, never logged,
//! never printed (their `Debug` is redacted and they are not serialized).

use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// A secret value and where it came from (an environment variable or a file), so that
/// `config --show` can say which source is in effect without showing the value.
#[derive(Clone)]
pub struct Secret {
    value: SecretString,
    source: String,
}

impl Secret {
    /// Wraps a secret read from `source` (e.g. `env GLOBALLM_WEBHOOK_SECRET`).
    pub fn new(value: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            value: SecretString::from(value.into()),
            source: source.into(),
        }
    }

    /// The secret itself, for the one place that needs it.
    pub fn value(&self) -> &SecretString {
        &self.value
    }

    /// Where the secret was read from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted>, from {})", self.source)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.value.expose_secret() == other.value.expose_secret()
    }
}

/// Every secret GlobalLM uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Secrets {
    /// The webhook secret (`GLOBALLM_WEBHOOK_SECRET` or `github.webhook_secret_file`).
    pub webhook: Option<Secret>,
    /// The previous webhook secret, still accepted during a rotation
    /// (`GLOBALLM_WEBHOOK_SECRET_PREVIOUS` or `github.webhook_secret_previous_file`).
    pub webhook_previous: Option<Secret>,
    /// The App's private key as PEM (`GLOBALLM_GITHUB_PRIVATE_KEY` or
    /// `github.private_key_path`).
    pub github_private_key: Option<Secret>,
    /// The token that opens the web dashboard (`GLOBALLM_DASHBOARD_TOKEN` or
    /// `server.dashboard_token_file`).
    pub dashboard_token: Option<Secret>,
    /// The bearer token Prometheus sends to `/metrics` (`GLOBALLM_METRICS_TOKEN` or
    /// `server.metrics_token_file`).
    pub metrics_token: Option<Secret>,
    /// The LLM provider's API key, from the variable `llm.api_key_env` names.
    pub llm_api_key: Option<Secret>,
    /// The fallback LLM provider's API key, from `llm.fallback.api_key_env`.
    pub llm_fallback_api_key: Option<Secret>,
    /// The libraries.io API key (`GLOBALLM_LIBRARIES_IO_API_KEY`).
    pub libraries_io_api_key: Option<Secret>,
    /// A read-only GitHub token (`GLOBALLM_GITHUB_TOKEN`): reports on repositories that
    /// have not installed the App read with it (5,000 requests an hour instead of 60).
    pub github_token: Option<Secret>,
}

impl Secrets {
    /// The webhook secrets a signature may match: the current one, then the previous one.
    pub fn webhook_secrets(&self) -> impl Iterator<Item = &SecretString> {
        self.webhook
            .iter()
            .chain(self.webhook_previous.iter())
            .map(Secret::value)
    }

    /// Name, and where it is set from, of each secret, for `config --show`.
    pub fn describe(&self) -> Vec<(&'static str, Option<&str>)> {
        vec![
            ("webhook_secret", self.webhook.as_ref().map(Secret::source)),
            (
                "webhook_secret_previous",
                self.webhook_previous.as_ref().map(Secret::source),
            ),
            (
                "github_private_key",
                self.github_private_key.as_ref().map(Secret::source),
            ),
            (
                "dashboard_token",
                self.dashboard_token.as_ref().map(Secret::source),
            ),
            (
                "metrics_token",
                self.metrics_token.as_ref().map(Secret::source),
            ),
            ("llm_api_key", self.llm_api_key.as_ref().map(Secret::source)),
            (
                "llm_fallback_api_key",
                self.llm_fallback_api_key.as_ref().map(Secret::source),
            ),
            (
                "libraries_io_api_key",
                self.libraries_io_api_key.as_ref().map(Secret::source),
            ),
            (
                "github_token",
                self.github_token.as_ref().map(Secret::source),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_secret() {
        let secrets = Secrets {
            webhook: Some(Secret::new("hunter2", "env GLOBALLM_WEBHOOK_SECRET")),
            ..Secrets::default()
        };
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("GLOBALLM_WEBHOOK_SECRET"), "{shown}");
    }
}
