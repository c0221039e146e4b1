//! HTTP plumbing shared by the adapters: the client with its timeouts, sending a request,
//! reading an error body, and reading a stream of server-sent events chunk by chunk with an
//! idle timeout (so a long generation is never cut by a total timeout).

use super::HttpOptions;
use super::error::LlmError;
use super::sse::{SseEvent, SseParser};
use reqwest::{RequestBuilder, Response};

/// Error bodies are short; a misbehaving proxy's is cut at this many bytes.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A provider's HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    options: HttpOptions,
    provider: &'static str,
}

impl Http {
    pub(crate) fn new(provider: &'static str, options: HttpOptions) -> Result<Self, LlmError> {
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("globallm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| LlmError::Transport {
                provider: provider.to_owned(),
                message: format!("cannot build the HTTP client: {err}"),
            })?;
        Ok(Self {
            client,
            options,
            provider,
        })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub(crate) fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// Sends the request. Without streaming the whole exchange is bounded by the request
    /// timeout; with streaming only the wait for the headers is, by the idle timeout.
    pub(crate) async fn send(
        &self,
        request: RequestBuilder,
        stream: bool,
    ) -> Result<Response, LlmError> {
        if stream {
            match tokio::time::timeout(self.options.idle_timeout, request.send()).await {
                Ok(result) => result.map_err(|err| self.transport(err, "for the headers")),
                Err(_) => Err(self.timeout(self.options.idle_timeout, "for the headers")),
            }
        } else {
            request
                .timeout(self.options.request_timeout)
                .send()
                .await
                .map_err(|err| self.transport(err, "for the answer"))
        }
    }

    /// The body of a response, as text (error bodies are cut at 64 KiB; an answer longer
    /// than `max_response_bytes` is an error).
    pub(crate) async fn text(
        &self,
        mut response: Response,
        limit: bool,
    ) -> Result<String, LlmError> {
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| self.transport(err, "for the body"))?
        {
            body.extend_from_slice(&chunk);
            if limit && body.len() > MAX_ERROR_BODY {
                body.truncate(MAX_ERROR_BODY);
                break;
            }
            if !limit && body.len() as u64 > self.options.max_response_bytes {
                return Err(self.too_large());
            }
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Reads server-sent events until `on_event` says the stream is complete (returns
    /// `true`) or the body ends. Returns whether it was complete.
    pub(crate) async fn events(
        &self,
        response: &mut Response,
        mut on_event: impl FnMut(SseEvent) -> Result<bool, LlmError>,
    ) -> Result<bool, LlmError> {
        let mut parser = SseParser::new();
        let mut read: u64 = 0;
        loop {
            let chunk = match tokio::time::timeout(self.options.idle_timeout, response.chunk())
                .await
            {
                Ok(result) => result.map_err(|err| self.transport(err, "for the next chunk"))?,
                Err(_) => return Err(self.timeout(self.options.idle_timeout, "for the next chunk")),
            };
            let Some(chunk) = chunk else {
                return match parser.finish() {
                    Some(event) => on_event(event),
                    None => Ok(false),
                };
            };
            read += chunk.len() as u64;
            if read > self.options.max_response_bytes {
                return Err(self.too_large());
            }
            for event in parser.push(&chunk) {
                if on_event(event)? {
                    return Ok(true);
                }
            }
        }
    }

    pub(crate) fn transport(&self, err: reqwest::Error, phase: &'static str) -> LlmError {
        if err.is_timeout() {
            return if err.is_connect() {
                self.timeout(self.options.connect_timeout, "to connect")
            } else {
                self.timeout(self.options.request_timeout, phase)
            };
        }
        // The URL is ours (no secret in it); the error's source chain says what failed.
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        LlmError::Transport {
            provider: self.provider.to_owned(),
            message,
        }
    }

    fn too_large(&self) -> LlmError {
        LlmError::TooLarge {
            provider: self.provider.to_owned(),
            limit: self.options.max_response_bytes,
        }
    }

    pub(crate) fn timeout(&self, after: std::time::Duration, phase: &'static str) -> LlmError {
        LlmError::Timeout {
            provider: self.provider.to_owned(),
            after,
            phase,
        }
    }

    pub(crate) fn invalid(&self, message: impl Into<String>) -> LlmError {
        LlmError::InvalidResponse {
            provider: self.provider.to_owned(),
            message: message.into(),
        }
    }
}
