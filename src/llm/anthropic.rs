//! The Anthropic Messages API adapter: `POST {base}/v1/messages` with `x-api-key` and
//! `anthropic-version`, content blocks, `usage.input_tokens`/`output_tokens`, `stop_reason`,
//! streaming (SSE) and the mapping of every error type, including an `error` event that
//! arrives after HTTP 200.

use super::error::{self, LlmError, header};
use super::http::Http;
use super::{
    BoxFuture, HttpOptions, LlmRequest, LlmResponse, Message, Provider, StopReason, Usage,
};
use crate::config::{Endpoint, Secret};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

/// The API version this adapter speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A client of the Anthropic Messages API for one model.
#[derive(Debug)]
pub struct Anthropic {
    http: Http,
    url: String,
    model: String,
    api_key: Secret,
    api_key_env: Option<String>,
}

impl Anthropic {
    /// An adapter for `endpoint`; the key is required.
    pub fn new(
        endpoint: &Endpoint,
        api_key: Option<Secret>,
        options: HttpOptions,
    ) -> Result<Self, LlmError> {
        let api_key = api_key.ok_or_else(|| LlmError::Authentication {
            provider: "anthropic".to_owned(),
            env_var: endpoint.api_key_env.clone(),
            message: "no API key is set".to_owned(),
        })?;
        Ok(Self {
            http: Http::new("anthropic", options)?,
            url: format!("{}/v1/messages", endpoint.base_url),
            model: endpoint.model.clone(),
            api_key,
            api_key_env: endpoint.api_key_env.clone(),
        })
    }

    async fn send(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let options = self.http.options();
        let stream = options.stream;
        let body = WireRequest {
            model: &self.model,
            max_tokens: request.max_output_tokens,
            system: &request.system,
            messages: &request.messages,
            temperature: request.temperature,
            stream,
            output_config: request
                .json_schema
                .as_ref()
                .filter(|_| options.structured_output)
                .map(|schema| OutputConfig {
                    format: OutputFormat {
                        kind: "json_schema",
                        schema: &schema.schema,
                    },
                }),
        };
        let builder = self
            .http
            .client()
            .post(&self.url)
            .header("x-api-key", self.api_key.value().expose_secret())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .header(
                "accept",
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            )
            .json(&body);
        let mut response = self.http.send(builder, stream).await?;
        let status = response.status();
        let header_id = header(response.headers(), "request-id").map(str::to_owned);
        if !status.is_success() {
            let headers = response.headers().clone();
            let text = self.http.text(response, true).await?;
            return Err(self.map_error(status, &headers, &text));
        }
        let mut answer = if stream {
            let mut state = Streamed::default();
            let complete = self
                .http
                .events(&mut response, |event| state.on_event(self, &event.data))
                .await?;
            if !complete {
                return Err(LlmError::Truncated {
                    provider: "anthropic".to_owned(),
                    message: "the stream ended without message_stop".to_owned(),
                });
            }
            state.into_response()
        } else {
            let text = self.http.text(response, false).await?;
            let message: WireMessage = serde_json::from_str(&text)
                .map_err(|err| self.http.invalid(format!("not a message: {err}")))?;
            message.into_response()
        };
        if header_id.is_some() {
            answer.request_id = header_id;
        }
        Ok(answer)
    }

    /// Maps an HTTP error to [`LlmError`].
    fn map_error(&self, status: StatusCode, headers: &HeaderMap, body: &str) -> LlmError {
        let parsed: Option<WireError> = serde_json::from_str(body).ok();
        let (kind, message, request_id) = match parsed {
            Some(e) => (e.error.kind, e.error.message, e.request_id),
            None => (String::new(), body.trim().to_owned(), None),
        };
        let request_id = request_id.or_else(|| header(headers, "request-id").map(str::to_owned));
        match (status.as_u16(), kind.as_str()) {
            (401 | 403, _) | (_, "authentication_error" | "permission_error") => {
                LlmError::Authentication {
                    provider: "anthropic".to_owned(),
                    env_var: self.api_key_env.clone(),
                    message,
                }
            }
            (429, _) | (_, "rate_limit_error") => LlmError::RateLimited {
                provider: "anthropic".to_owned(),
                retry_after: error::retry_after(headers),
                reset_at_ms: error::retry_after_date(headers).or_else(|| reset_at(headers)),
                message,
                request_id,
            },
            (code, kind) => error_of_type(code, kind, message, request_id),
        }
    }
}

/// The error for an Anthropic error `type` (also used for `error` events in a stream, where
/// `status` is the 200 the stream began with).
fn error_of_type(status: u16, kind: &str, message: String, request_id: Option<String>) -> LlmError {
    let provider = "anthropic".to_owned();
    match (status, kind) {
        (529, _) | (_, "overloaded_error") => LlmError::Overloaded {
            provider,
            message,
            request_id,
        },
        (_, "rate_limit_error") => LlmError::RateLimited {
            provider,
            retry_after: None,
            reset_at_ms: None,
            message,
            request_id,
        },
        (413, _) | (_, "request_too_large") => LlmError::ContextTooLong {
            provider,
            tokens: None,
            limit: None,
            message,
        },
        (_, "invalid_request_error") if message.contains("prompt is too long") => {
            LlmError::ContextTooLong {
                provider,
                tokens: error::number_after(&message, "prompt is too long:"),
                limit: error::number_after(&message, ">"),
                message,
            }
        }
        (408, _) | (500.., _) | (_, "api_error" | "timeout_error") => LlmError::Server {
            provider,
            status,
            message,
            request_id,
        },
        _ => LlmError::BadRequest {
            provider,
            status,
            message,
            request_id,
        },
    }
}

/// When the exhausted limits reset: the latest `anthropic-ratelimit-*-reset` among the limits
/// whose `-remaining` is 0.
fn reset_at(headers: &HeaderMap) -> Option<crate::time::Millis> {
    ["requests", "tokens", "input-tokens", "output-tokens"]
        .iter()
        .filter(|limit| {
            header(headers, &format!("anthropic-ratelimit-{limit}-remaining")) == Some("0")
        })
        .filter_map(|limit| header(headers, &format!("anthropic-ratelimit-{limit}-reset")))
        .filter_map(crate::time::parse_rfc3339_ms)
        .max()
}

fn stop_reason(reason: Option<&str>) -> StopReason {
    match reason {
        Some("end_turn") | None => StopReason::EndTurn,
        Some("max_tokens" | "model_context_window_exceeded") => StopReason::MaxTokens,
        Some("stop_sequence") => StopReason::StopSequence,
        Some("tool_use") => StopReason::ToolUse,
        Some("refusal") => StopReason::Refusal,
        Some(other) => StopReason::Other(other.to_owned()),
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn complete<'a>(
        &'a self,
        request: &'a LlmRequest,
    ) -> BoxFuture<'a, Result<LlmResponse, LlmError>> {
        Box::pin(self.send(request))
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    system: &'a str,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_config: Option<OutputConfig<'a>>,
}

#[derive(Serialize)]
struct OutputConfig<'a> {
    format: OutputFormat<'a>,
}

#[derive(Serialize)]
struct OutputFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: &'a serde_json::Value,
}

#[derive(Deserialize)]
struct WireError {
    error: WireErrorBody,
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct WireErrorBody {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct WireMessage {
    id: String,
    model: String,
    #[serde(default)]
    content: Vec<WireBlock>,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

impl WireMessage {
    fn into_response(self) -> LlmResponse {
        let text: String = self
            .content
            .iter()
            .filter_map(|block| match block {
                WireBlock::Text { text } => Some(text.as_str()),
                WireBlock::Other => None,
            })
            .collect();
        LlmResponse {
            text,
            stop_reason: stop_reason(self.stop_reason.as_deref()),
            usage: self.usage.to_usage(),
            request_id: Some(self.id),
            model: self.model,
            provider: "anthropic".to_owned(),
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock {
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Input counts every prompt token processed, cached or not: the budget caps tokens, not
    /// money.
    fn to_usage(self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0)
                + self.cache_creation_input_tokens.unwrap_or(0)
                + self.cache_read_input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
            estimated: false,
        }
    }

    /// A later report (`message_delta`) overrides the fields it carries.
    fn update(&mut self, later: WireUsage) {
        let fields = [
            (&mut self.input_tokens, later.input_tokens),
            (&mut self.output_tokens, later.output_tokens),
            (
                &mut self.cache_creation_input_tokens,
                later.cache_creation_input_tokens,
            ),
            (
                &mut self.cache_read_input_tokens,
                later.cache_read_input_tokens,
            ),
        ];
        for (slot, value) in fields {
            if value.is_some() {
                *slot = value;
            }
        }
    }
}

/// One streamed event (only the fields this adapter reads).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: WireStart,
    },
    ContentBlockStart {
        content_block: serde_json::Value,
    },
    ContentBlockDelta {
        delta: serde_json::Value,
    },
    MessageDelta {
        delta: WireMessageDelta,
        #[serde(default)]
        usage: WireUsage,
    },
    MessageStop,
    Error {
        error: WireErrorBody,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireStart {
    id: String,
    model: String,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
struct WireMessageDelta {
    stop_reason: Option<String>,
}

/// What a stream has said so far.
#[derive(Default)]
struct Streamed {
    id: Option<String>,
    model: String,
    text: String,
    stop_reason: Option<String>,
    usage: WireUsage,
}

impl Streamed {
    /// Takes one event; `true` once the message is complete.
    fn on_event(&mut self, adapter: &Anthropic, data: &str) -> Result<bool, LlmError> {
        let event: WireEvent = serde_json::from_str(data).map_err(|err| {
            adapter
                .http
                .invalid(format!("unreadable stream event: {err}"))
        })?;
        match event {
            WireEvent::MessageStart { message } => {
                self.id = Some(message.id);
                self.model = message.model;
                self.usage = message.usage;
            }
            WireEvent::ContentBlockStart { content_block } => {
                if content_block["type"] == "text"
                    && let Some(text) = content_block["text"].as_str()
                {
                    self.text.push_str(text);
                }
            }
            WireEvent::ContentBlockDelta { delta } => {
                if delta["type"] == "text_delta"
                    && let Some(text) = delta["text"].as_str()
                {
                    self.text.push_str(text);
                }
            }
            WireEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                self.usage.update(usage);
            }
            WireEvent::MessageStop => return Ok(true),
            WireEvent::Error { error } => {
                return Err(error_of_type(
                    200,
                    &error.kind,
                    error.message,
                    self.id.clone(),
                ));
            }
            WireEvent::Other => {}
        }
        Ok(false)
    }

    fn into_response(self) -> LlmResponse {
        LlmResponse {
            text: self.text,
            stop_reason: stop_reason(self.stop_reason.as_deref()),
            usage: self.usage.to_usage(),
            request_id: self.id,
            model: self.model,
            provider: "anthropic".to_owned(),
        }
    }
}
