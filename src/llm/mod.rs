//! The LLM layer: one [`Provider`] trait with adapters for the Anthropic Messages API
//! ([`anthropic`]), OpenAI Chat Completions and OpenAI-compatible servers ([`openai`]),
//! retries and fallback ([`retry`]), token estimation ([`tokens`]), prompt templates
//! ([`prompts`]), validated structured answers ([`structured`]), the budgeted entry point every
//! feature calls ([`client::Llm`]) and a scripted provider for tests ([`scripted`]).

pub mod anthropic;
pub mod client;
pub mod clock;
pub mod embeddings;
pub mod error;
mod http;
pub mod openai;
pub mod prompts;
pub mod retry;
pub mod scripted;
pub mod sse;
pub mod structured;
pub mod tokens;

pub use client::Llm;
pub use error::LlmError;

use crate::config::{Config, Endpoint, ProviderKind};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future, so that [`Provider`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who wrote a message of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// GlobalLM.
    User,
    /// The model (an earlier answer, e.g. when a malformed answer is asked again).
    Assistant,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
}

impl Message {
    /// A message from GlobalLM.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An earlier answer of the model.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// The JSON schema an answer must follow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonSchema {
    /// A short name (OpenAI requires one), e.g. `categorize_issue`.
    pub name: String,
    /// The schema (draft 2020-12 subset the vendors accept: objects with
    /// `additionalProperties: false` and every property required).
    pub schema: serde_json::Value,
}

/// One request to a model.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRequest {
    /// The system prompt (instructions); empty for none.
    pub system: String,
    /// The conversation, starting with a user message.
    pub messages: Vec<Message>,
    /// The longest answer, in tokens.
    pub max_output_tokens: u32,
    /// Sampling temperature; `None` leaves the provider's default.
    pub temperature: Option<f64>,
    /// When the answer must be JSON of this schema (sent to the provider when the
    /// configuration allows; always validated locally by [`structured`]).
    pub json_schema: Option<JsonSchema>,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It finished its answer.
    EndTurn,
    /// It reached `max_output_tokens`: the answer is cut.
    MaxTokens,
    /// It produced a stop sequence.
    StopSequence,
    /// It asked to call a tool (GlobalLM offers none; treated as an unusable answer).
    ToolUse,
    /// It refused; the text is the refusal, if any.
    Refusal,
    /// The provider's content filter cut the answer.
    ContentFilter,
    /// A reason this layer does not know, as the provider wrote it.
    Other(String),
}

/// Tokens a call consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Usage {
    /// Input (prompt) tokens.
    pub input_tokens: u64,
    /// Output (completion) tokens.
    pub output_tokens: u64,
    /// Whether these are our estimates because the provider reported no (or zero) usage.
    pub estimated: bool,
}

impl Usage {
    /// Input and output together.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmResponse {
    /// The answer's text (the text blocks joined; the refusal text on a refusal).
    pub text: String,
    /// Why the model stopped.
    pub stop_reason: StopReason,
    /// Tokens consumed, as reported (or estimated, and marked so).
    pub usage: Usage,
    /// The provider's id for the request (`request-id` / `x-request-id` header, else the
    /// message id), for support tickets.
    pub request_id: Option<String>,
    /// The model that answered, as the provider names it (e.g. with a date suffix).
    pub model: String,
    /// The provider that answered (`anthropic`, `openai`, `openai_compatible`, or a test name).
    pub provider: String,
}

/// Something that answers [`LlmRequest`]s: a vendor adapter, the retrying wrapper, or the
/// scripted provider of tests.
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// The provider's name, for logs, errors and the ledger.
    fn name(&self) -> &str;

    /// The model asked for.
    fn model(&self) -> &str;

    /// Sends one request (one attempt, except for wrappers that retry).
    fn complete<'a>(
        &'a self,
        request: &'a LlmRequest,
    ) -> BoxFuture<'a, Result<LlmResponse, LlmError>>;
}

/// Timeouts and options shared by the HTTP adapters, from `llm.*`.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Connecting.
    pub connect_timeout: Duration,
    /// A whole request without streaming.
    pub request_timeout: Duration,
    /// With streaming, the longest silence between two chunks (and before the headers).
    pub idle_timeout: Duration,
    /// Whether to stream answers (SSE).
    pub stream: bool,
    /// The most bytes one answer's body may have, streamed or not.
    pub max_response_bytes: u64,
    /// Whether to send the answer's JSON schema to the provider.
    pub structured_output: bool,
}

impl HttpOptions {
    /// The options `llm.*` configures.
    pub fn from_config(config: &Config) -> Self {
        let llm = &config.llm;
        Self {
            connect_timeout: Duration::from_secs(llm.connect_timeout_secs),
            request_timeout: Duration::from_secs(llm.request_timeout_secs),
            idle_timeout: Duration::from_secs(llm.idle_timeout_secs),
            stream: llm.stream,
            max_response_bytes: llm.max_response_bytes,
            structured_output: llm.structured_output,
        }
    }
}

/// Builds the adapter for one endpoint, with the API key read at configuration load time.
pub fn adapter(
    endpoint: &Endpoint,
    api_key: Option<&crate::config::Secret>,
    options: &HttpOptions,
    anthropic_token_factor: f64,
) -> Result<Arc<dyn Provider>, LlmError> {
    Ok(match endpoint.provider {
        ProviderKind::Anthropic => Arc::new(anthropic::Anthropic::new(
            endpoint,
            api_key.cloned(),
            options.clone(),
        )?),
        ProviderKind::Openai | ProviderKind::OpenaiCompatible => {
            let estimator = tokens::TokenEstimator::for_model(
                endpoint.provider,
                &endpoint.model,
                anthropic_token_factor,
            );
            Arc::new(openai::OpenAi::new(
                endpoint,
                api_key.cloned(),
                options.clone(),
                estimator,
            )?)
        }
    })
}
