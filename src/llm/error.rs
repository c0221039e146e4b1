//! [`LlmError`]: what can go wrong calling a model, typed so that callers branch on it
//! (retry, fall back, shrink the context, tell the operator which key to set), and the
//! parsing of the rate-limit headers both vendors send.

use crate::budget::BudgetError;
use crate::time::Millis;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// An error from the LLM layer.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// HTTP 429: too many requests or tokens for now.
    #[error("{provider}: rate limited{}: {message}", wait_text(*.retry_after, *.reset_at_ms))]
    RateLimited {
        /// The provider.
        provider: String,
        /// How long the provider asked us to wait (`retry-after`, `retry-after-ms`, or the
        /// reset of an exhausted OpenAI limit).
        retry_after: Option<Duration>,
        /// When an exhausted limit resets (Anthropic `anthropic-ratelimit-*-reset`, or an
        /// HTTP-date `retry-after`), Unix ms.
        reset_at_ms: Option<Millis>,
        /// The provider's message.
        message: String,
        /// The provider's request id.
        request_id: Option<String>,
    },
    /// The provider is overloaded (Anthropic 529 `overloaded_error`, also as a stream event;
    /// OpenAI 503).
    #[error("{provider}: overloaded: {message}")]
    Overloaded {
        /// The provider.
        provider: String,
        /// The provider's message.
        message: String,
        /// The provider's request id.
        request_id: Option<String>,
    },
    /// A 5xx, or an `api_error` event in a stream.
    #[error("{provider}: server error {status}: {message}")]
    Server {
        /// The provider.
        provider: String,
        /// The HTTP status (200 for an error event inside a stream).
        status: u16,
        /// The provider's message.
        message: String,
        /// The provider's request id.
        request_id: Option<String>,
    },
    /// No answer (or no next chunk of a stream) in time.
    #[error("{provider}: timed out after {after:?} {phase}")]
    Timeout {
        /// The provider.
        provider: String,
        /// The timeout that ran out.
        after: Duration,
        /// What we were waiting for.
        phase: &'static str,
    },
    /// The connection failed or broke.
    #[error("{provider}: connection failed: {message}")]
    Transport {
        /// The provider.
        provider: String,
        /// What the HTTP client said.
        message: String,
    },
    /// The answer stopped before it was complete (a stream closed without its final event).
    #[error("{provider}: the answer was cut off: {message}")]
    Truncated {
        /// The provider.
        provider: String,
        /// What was missing.
        message: String,
    },
    /// The answer grew past `llm.max_response_bytes`: reading stopped there, so a runaway
    /// stream or a hostile endpoint cannot exhaust memory.
    #[error(
        "{provider}: the answer exceeded llm.max_response_bytes ({limit} bytes); reading stopped"
    )]
    TooLarge {
        /// The provider.
        provider: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// The prompt does not fit the model's context (Anthropic `prompt is too long`, OpenAI
    /// `context_length_exceeded`): the caller can shrink it.
    #[error("{provider}: the prompt is too long: {message}")]
    ContextTooLong {
        /// The provider.
        provider: String,
        /// Tokens in the prompt, when the provider said.
        tokens: Option<u64>,
        /// The model's limit, when the provider said.
        limit: Option<u64>,
        /// The provider's message.
        message: String,
    },
    /// The request was refused as invalid (4xx other than the above).
    #[error("{provider}: bad request ({status}): {message}")]
    BadRequest {
        /// The provider.
        provider: String,
        /// The HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
        /// The provider's request id.
        request_id: Option<String>,
    },
    /// The key is missing, wrong, or not allowed (401/403).
    #[error("{provider}: authentication failed ({message}): {}", auth_hint(.env_var.as_deref()))]
    Authentication {
        /// The provider.
        provider: String,
        /// The environment variable the key is read from, if one is configured.
        env_var: Option<String>,
        /// The provider's message.
        message: String,
    },
    /// The account has no credit or quota left (OpenAI `insufficient_quota`).
    #[error("{provider}: quota exhausted: {message}")]
    QuotaExhausted {
        /// The provider.
        provider: String,
        /// The provider's message.
        message: String,
    },
    /// The response could not be understood.
    #[error("{provider}: unexpected response: {message}")]
    InvalidResponse {
        /// The provider.
        provider: String,
        /// What was wrong with it.
        message: String,
    },
    /// A structured answer stayed malformed after every re-ask.
    #[error("the answer to `{task}` was not valid after {attempts} attempts: {error}")]
    InvalidAnswer {
        /// The task (prompt name).
        task: &'static str,
        /// How many answers were tried.
        attempts: u32,
        /// What was wrong with the last one.
        error: String,
    },
    /// The model refused to answer.
    #[error("the model refused `{task}`: {message}")]
    Refused {
        /// The task (prompt name).
        task: &'static str,
        /// The refusal text, if any.
        message: String,
    },
    /// The call was not made: the budget has no room for it.
    #[error(transparent)]
    Budget(#[from] BudgetError),
}

fn wait_text(after: Option<Duration>, reset_at: Option<Millis>) -> String {
    match (after, reset_at) {
        (Some(after), _) => format!(" (retry after {after:?})"),
        (None, Some(at)) => format!(" (resets at {})", crate::time::format_ms(at)),
        (None, None) => String::new(),
    }
}

fn auth_hint(env_var: Option<&str>) -> String {
    match env_var {
        Some(var) => format!("set the environment variable {var} to a valid API key"),
        None => "set llm.api_key_env to the name of a variable holding a valid API key".to_owned(),
    }
}

impl LlmError {
    /// A short, stable name of the error's kind, for metrics labels and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded { .. } => "overloaded",
            Self::Server { .. } => "server_error",
            Self::Timeout { .. } => "timeout",
            Self::Transport { .. } => "transport",
            Self::Truncated { .. } => "truncated",
            Self::TooLarge { .. } => "too_large",
            Self::ContextTooLong { .. } => "context_too_long",
            Self::BadRequest { .. } => "bad_request",
            Self::Authentication { .. } => "authentication",
            Self::QuotaExhausted { .. } => "quota_exhausted",
            Self::InvalidResponse { .. } => "invalid_response",
            Self::InvalidAnswer { .. } => "invalid_answer",
            Self::Refused { .. } => "refused",
            Self::Budget(_) => "budget",
        }
    }

    /// Whether the same request may succeed if sent again later: rate limits, overload,
    /// server errors, timeouts, broken connections and cut-off streams. Authentication, bad
    /// requests, a too-long prompt, exhausted quota, malformed answers and budget refusals
    /// never are.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. }
                | LlmError::Overloaded { .. }
                | LlmError::Server { .. }
                | LlmError::Timeout { .. }
                | LlmError::Transport { .. }
                | LlmError::Truncated { .. }
        )
    }

    /// Whether another provider should be tried now: the provider is overloaded or out of
    /// quota. (Other retryable errors fall back only once retries are exhausted.)
    pub fn wants_fallback_now(&self) -> bool {
        matches!(
            self,
            LlmError::Overloaded { .. } | LlmError::QuotaExhausted { .. }
        )
    }

    /// How long the provider asked us to wait before retrying, as of `now_ms`.
    pub fn retry_after(&self, now_ms: Millis) -> Option<Duration> {
        match self {
            LlmError::RateLimited {
                retry_after: Some(after),
                ..
            } => Some(*after),
            LlmError::RateLimited {
                reset_at_ms: Some(at),
                ..
            } => Some(Duration::from_millis(
                u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0),
            )),
            _ => None,
        }
    }

    /// The provider's request id, when the error carries one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            LlmError::RateLimited { request_id, .. }
            | LlmError::Overloaded { request_id, .. }
            | LlmError::Server { request_id, .. }
            | LlmError::BadRequest { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }
}

/// A header's value as text.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// `retry-after-ms` (OpenAI), else `retry-after` in seconds. An HTTP-date `retry-after`
/// is returned by [`retry_after_date`].
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let seconds = header(headers, "retry-after")?.parse::<f64>().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// `retry-after` given as an HTTP date, as Unix ms.
pub(crate) fn retry_after_date(headers: &HeaderMap) -> Option<Millis> {
    let text = header(headers, "retry-after")?;
    chrono::DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// A Go-style duration as OpenAI writes its `x-ratelimit-reset-*` headers: `1s`, `6m0s`,
/// `20ms`, `1h2m3.5s`.
pub(crate) fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut total = 0.0_f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total))
}

/// The first number in `text` after `after` (e.g. the `208310` of `prompt is too long:
/// 208310 tokens > 200000 maximum`).
pub(crate) fn number_after(text: &str, after: &str) -> Option<u64> {
    let start = text.find(after)? + after.len();
    let rest = text[start..].trim_start();
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn go_durations_as_openai_writes_them() {
        assert_eq!(parse_go_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_go_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(
            parse_go_duration("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_go_duration("soon"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn retry_after_prefers_milliseconds_then_seconds_then_a_date() {
        let h = headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]);
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let h = headers(&[("retry-after", "9")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(9)));
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(retry_after(&h), None);
        assert_eq!(retry_after_date(&h), Some(1_445_412_480_000));
    }

    #[test]
    fn token_counts_are_read_from_messages() {
        let text = "prompt is too long: 208310 tokens > 200000 maximum";
        assert_eq!(number_after(text, "too long:"), Some(208_310));
        assert_eq!(number_after(text, ">"), Some(200_000));
        assert_eq!(number_after(text, "nothing"), None);
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        let auth = LlmError::Authentication {
            provider: "anthropic".into(),
            env_var: Some("ANTHROPIC_API_KEY".into()),
            message: "invalid x-api-key".into(),
        };
        assert!(!auth.is_retryable());
        assert!(auth.to_string().contains("ANTHROPIC_API_KEY"), "{auth}");
        let overloaded = LlmError::Overloaded {
            provider: "anthropic".into(),
            message: "Overloaded".into(),
            request_id: None,
        };
        assert!(overloaded.is_retryable() && overloaded.wants_fallback_now());
        let limited = LlmError::RateLimited {
            provider: "openai".into(),
            retry_after: None,
            reset_at_ms: Some(10_000),
            message: "slow down".into(),
            request_id: None,
        };
        assert_eq!(limited.retry_after(4_000), Some(Duration::from_secs(6)));
        assert_eq!(limited.retry_after(12_000), Some(Duration::ZERO));
    }
}
