//! `llm.*`: which LLM provider GlobalLM calls (Anthropic, OpenAI, or an OpenAI-compatible
//! server), the fallback used when it is overloaded, timeouts, retries, and the price table the
//! budget ledger prices usage with. API keys are secrets: the configuration names the
//! environment variable, the value is read once at load time into [`super::Secrets`].

use super::Config;
use super::validate::Invalid;
use serde::{Deserialize, Serialize};

/// Which API a provider speaks.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// The Anthropic Messages API (`POST /v1/messages`).
    Anthropic,
    /// OpenAI Chat Completions (`POST /v1/chat/completions`).
    Openai,
    /// A server speaking OpenAI Chat Completions (Ollama, vLLM, llama.cpp, LiteLLM): its own
    /// base URL, no key required, usage possibly missing.
    OpenaiCompatible,
}

impl ProviderKind {
    /// The name used in configuration, logs and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Openai => "openai",
            ProviderKind::OpenaiCompatible => "openai_compatible",
        }
    }

    /// The API root used when `base_url` is not set.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "https://api.anthropic.com",
            ProviderKind::Openai => "https://api.openai.com/v1",
            // Ollama's OpenAI-compatible endpoint, the most common local server.
            ProviderKind::OpenaiCompatible => "http://127.0.0.1:11434/v1",
        }
    }

    /// The environment variable holding the API key when `api_key_env` is not set; none for
    /// OpenAI-compatible servers, which usually need no key.
    pub fn default_api_key_env(self) -> Option<&'static str> {
        match self {
            ProviderKind::Anthropic => Some("ANTHROPIC_API_KEY"),
            ProviderKind::Openai => Some("OPENAI_API_KEY"),
            ProviderKind::OpenaiCompatible => None,
        }
    }
}

/// One provider endpoint, resolved from the primary or the fallback settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The API it speaks.
    pub provider: ProviderKind,
    /// The model asked for.
    pub model: String,
    /// The API root, without a trailing slash.
    pub base_url: String,
    /// The environment variable the API key is read from, if any.
    pub api_key_env: Option<String>,
}

/// `llm.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// The provider: `anthropic`, `openai` or `openai_compatible`.
    pub provider: ProviderKind,
    /// The model, e.g. `claude-sonnet-4-5`, `gpt-4o`, `qwen2.5-coder:14b`.
    pub model: String,
    /// The API root; default per provider (see [`ProviderKind::default_base_url`]).
    pub base_url: Option<String>,
    /// The environment variable holding the API key; default `ANTHROPIC_API_KEY` or
    /// `OPENAI_API_KEY`, none for `openai_compatible`.
    pub api_key_env: Option<String>,
    /// A second provider, used when the first is overloaded or keeps failing.
    pub fallback: FallbackConfig,
    /// The longest answer asked for, in tokens (`max_tokens`).
    pub max_output_tokens: u32,
    /// Sampling temperature sent with every request; `null` sends none (reasoning models
    /// accept only their default).
    pub temperature: Option<f64>,
    /// Whether answers are streamed (SSE), so a long generation is bounded by the idle
    /// timeout between chunks rather than by one request timeout.
    pub stream: bool,
    /// Whether the JSON schema of a structured answer is sent to the provider (Anthropic
    /// `output_config.format`, OpenAI `response_format`); answers are validated locally either way.
    pub structured_output: bool,
    /// How long connecting may take, in seconds.
    pub connect_timeout_secs: u64,
    /// How long a request without streaming may take in all, in seconds.
    pub request_timeout_secs: u64,
    /// With streaming: the longest silence between two chunks, in seconds.
    pub idle_timeout_secs: u64,
    /// The most bytes one answer's body may have (a stream counted in all its chunks); past
    /// it the call fails instead of reading on.
    pub max_response_bytes: u64,
    /// Retries of a failed call (rate limited, overloaded, server error, timeout).
    pub max_retries: u32,
    /// The first retry delay in milliseconds; doubled per retry, with jitter.
    pub retry_base_ms: u64,
    /// The longest single retry delay, in seconds (a longer `retry-after` ends the retries).
    pub retry_max_delay_secs: u64,
    /// The most time one call may take with all its retries, in seconds.
    pub retry_total_secs: u64,
    /// How often a malformed structured answer is asked again, with the error, before it is
    /// an error.
    pub max_reasks: u32,
    /// Anthropic models have no offline tokenizer: their token counts are estimated with
    /// o200k times this factor (calibrated on recorded responses, see README).
    pub anthropic_token_factor: f64,
    /// Prices in USD per million tokens, by model; the longest `model` that begins the name
    /// a provider reports is used.
    pub prices: Vec<ModelPrice>,
    /// The embeddings model of the primary provider's `/embeddings` endpoint (OpenAI or
    /// OpenAI-compatible, e.g. `text-embedding-3-small`, `nomic-embed-text`); when set,
    /// redundancy compares READMEs by their embeddings. Anthropic has no such endpoint.
    pub embedding_model: Option<String>,
}

/// `llm.fallback.*`: the provider used when the primary one is overloaded or its retries are
/// exhausted. Unset `provider` means no fallback.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FallbackConfig {
    /// The fallback's provider; none by default.
    pub provider: Option<ProviderKind>,
    /// The fallback's model (required with a provider).
    pub model: Option<String>,
    /// The fallback's API root; default per provider.
    pub base_url: Option<String>,
    /// The environment variable holding the fallback's API key; default per provider.
    pub api_key_env: Option<String>,
}

/// The price of one model, USD per million tokens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// A model name, or the beginning of one (`claude-sonnet-4-5` prices
    /// `claude-sonnet-4-5-20250929`).
    pub model: String,
    /// USD per million input tokens.
    pub input_usd_per_mtok: f64,
    /// USD per million output tokens.
    pub output_usd_per_mtok: f64,
}

fn price(model: &str, input: f64, output: f64) -> ModelPrice {
    ModelPrice {
        model: model.to_owned(),
        input_usd_per_mtok: input,
        output_usd_per_mtok: output,
    }
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Anthropic,
            model: "claude-sonnet-4-5".to_owned(),
            base_url: None,
            api_key_env: None,
            fallback: FallbackConfig::default(),
            max_output_tokens: 4_096,
            temperature: Some(0.0),
            stream: true,
            structured_output: true,
            connect_timeout_secs: 10,
            request_timeout_secs: 600,
            idle_timeout_secs: 120,
            max_response_bytes: 16 * 1024 * 1024,
            max_retries: 4,
            retry_base_ms: 1_000,
            retry_max_delay_secs: 60,
            retry_total_secs: 300,
            max_reasks: 2,
            anthropic_token_factor: 1.3,
            // The vendors' published list prices when this table was written.
            prices: vec![
                price("claude-opus-4-5", 5.0, 25.0),
                price("claude-opus-4", 15.0, 75.0),
                price("claude-sonnet-4", 3.0, 15.0),
                price("claude-haiku-4-5", 1.0, 5.0),
                price("claude-3-5-haiku", 0.8, 4.0),
                price("gpt-5-mini", 0.25, 2.0),
                price("gpt-5", 1.25, 10.0),
                price("gpt-4.1-mini", 0.4, 1.6),
                price("gpt-4.1", 2.0, 8.0),
                price("gpt-4o-mini", 0.15, 0.6),
                price("gpt-4o", 2.5, 10.0),
                price("text-embedding-3-small", 0.02, 0.0),
                price("text-embedding-3-large", 0.13, 0.0),
            ],
            embedding_model: None,
        }
    }
}

impl LlmConfig {
    /// The primary endpoint, defaults applied.
    pub fn primary(&self) -> Endpoint {
        endpoint(
            self.provider,
            &self.model,
            self.base_url.as_deref(),
            self.api_key_env.as_deref(),
        )
    }

    /// The fallback endpoint, when one is configured.
    pub fn fallback(&self) -> Option<Endpoint> {
        let fallback = &self.fallback;
        let provider = fallback.provider?;
        // Validation requires a model with a provider.
        let model = fallback.model.as_deref().unwrap_or(&self.model);
        Some(endpoint(
            provider,
            model,
            fallback.base_url.as_deref(),
            fallback.api_key_env.as_deref(),
        ))
    }

    /// The price of `model` (as the provider reported it): the longest configured name that
    /// begins it.
    pub fn price_of(&self, model: &str) -> Option<&ModelPrice> {
        self.prices
            .iter()
            .filter(|p| model.starts_with(p.model.as_str()))
            .max_by_key(|p| p.model.len())
    }
}

fn endpoint(
    provider: ProviderKind,
    model: &str,
    base_url: Option<&str>,
    api_key_env: Option<&str>,
) -> Endpoint {
    Endpoint {
        provider,
        model: model.to_owned(),
        base_url: base_url
            .unwrap_or(provider.default_base_url())
            .trim_end_matches('/')
            .to_owned(),
        api_key_env: api_key_env
            .map(str::to_owned)
            .or_else(|| provider.default_api_key_env().map(str::to_owned)),
    }
}

fn invalid(key: &'static str, reason: impl Into<String>) -> Result<(), Invalid> {
    Err(Invalid {
        key,
        reason: reason.into(),
    })
}

/// The rules of `llm.*` and of the budget keys this layer added.
pub(super) fn validate_llm(config: &Config) -> Result<(), Invalid> {
    let llm = &config.llm;
    if llm.model.trim().is_empty() {
        return invalid("llm.model", "must name a model");
    }
    for (key, url) in [
        ("llm.base_url", llm.base_url.as_deref()),
        ("llm.fallback.base_url", llm.fallback.base_url.as_deref()),
    ] {
        if let Some(url) = url {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => return invalid(key, "must be an http:// or https:// URL with a host"),
            }
        }
    }
    for (key, name) in [
        ("llm.api_key_env", llm.api_key_env.as_deref()),
        (
            "llm.fallback.api_key_env",
            llm.fallback.api_key_env.as_deref(),
        ),
    ] {
        if let Some(name) = name
            && (name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return invalid(
                key,
                "must be the NAME of an environment variable (letters, digits, _), not a key",
            );
        }
    }
    match (&llm.fallback.provider, &llm.fallback.model) {
        (None, _) if llm.fallback.model.is_some() || llm.fallback.base_url.is_some() => {
            return invalid(
                "llm.fallback.provider",
                "a fallback model or base_url is set but no fallback provider",
            );
        }
        (Some(_), None) => {
            return invalid("llm.fallback.model", "name the fallback provider's model");
        }
        _ => {}
    }
    if llm.max_output_tokens == 0 {
        return invalid("llm.max_output_tokens", "must be at least 1");
    }
    if let Some(t) = llm.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return invalid("llm.temperature", "must be between 0 and 2");
    }
    for (key, value) in [
        ("llm.connect_timeout_secs", llm.connect_timeout_secs),
        ("llm.request_timeout_secs", llm.request_timeout_secs),
        ("llm.idle_timeout_secs", llm.idle_timeout_secs),
        ("llm.retry_base_ms", llm.retry_base_ms),
        ("llm.retry_max_delay_secs", llm.retry_max_delay_secs),
        ("llm.retry_total_secs", llm.retry_total_secs),
        ("llm.max_response_bytes", llm.max_response_bytes),
    ] {
        if value == 0 {
            return invalid(key, "must be above 0");
        }
    }
    if llm.max_reasks > 10 {
        return invalid("llm.max_reasks", "must be at most 10");
    }
    if !(1.0..=3.0).contains(&llm.anthropic_token_factor) {
        return invalid(
            "llm.anthropic_token_factor",
            "must be between 1 and 3 (it is a safety margin over o200k)",
        );
    }
    for p in &llm.prices {
        if p.model.is_empty()
            || !p.input_usd_per_mtok.is_finite()
            || !p.output_usd_per_mtok.is_finite()
            || p.input_usd_per_mtok < 0.0
            || p.output_usd_per_mtok < 0.0
        {
            return invalid(
                "llm.prices",
                format!("entry `{}` needs a model and prices of 0 or more", p.model),
            );
        }
    }
    if config.budget.reservation_ttl_secs < 60 {
        return invalid(
            "budget.reservation_ttl_secs",
            "must be at least 60 seconds (a reservation must outlive one LLM call)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_matching_price_wins() {
        let llm = LlmConfig::default();
        let mini = llm.price_of("gpt-4o-mini-2024-07-18").expect("priced");
        assert_eq!(mini.model, "gpt-4o-mini");
        let dated = llm.price_of("claude-sonnet-4-5-20250929").expect("priced");
        assert_eq!(dated.input_usd_per_mtok, 3.0);
        assert!(llm.price_of("llama3.1:8b").is_none());
    }

    #[test]
    fn endpoints_get_their_provider_defaults() {
        let mut llm = LlmConfig::default();
        assert_eq!(
            llm.primary().api_key_env.as_deref(),
            Some("ANTHROPIC_API_KEY")
        );
        assert!(llm.fallback().is_none());
        llm.fallback.provider = Some(ProviderKind::OpenaiCompatible);
        llm.fallback.model = Some("qwen2.5-coder:14b".to_owned());
        llm.fallback.base_url = Some("http://127.0.0.1:8000/v1/".to_owned());
        let fallback = llm.fallback().expect("configured");
        assert_eq!(fallback.base_url, "http://127.0.0.1:8000/v1");
        assert_eq!(fallback.api_key_env, None);
        assert_eq!(fallback.model, "qwen2.5-coder:14b");
    }
}
