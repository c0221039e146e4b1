//! `POST /webhook`: verify, persist, acknowledge — nothing else. The delivery and the job that
//! processes it are stored in one transaction before the answer; the work happens in a worker.
//! What can be judged from the headers (a secret is configured, the declared length, the
//! signature's form, the event and delivery ids) is judged before the body is read, so a
//! request that cannot be a delivery never gets 25 MiB buffered.

use super::AppState;
use crate::db::deliveries::NewDelivery;
use crate::db::ingest::{IngestError, Stored};
use crate::event;
use crate::github::signature::{self, SignatureError};
use crate::handlers::ProcessDelivery;
use crate::jobs::BackgroundJob;
use crate::time::now_ms;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use serde::Serialize;
use tracing::Instrument;

/// GitHub's own cap on a delivery's size.
pub const BODY_LIMIT: usize = 25 * 1024 * 1024;
/// How much of a refused request's body is read and dropped before the answer, so that an
/// ordinary client reads the answer rather than a reset connection; a larger one is cut off.
const DISCARD_LIMIT: usize = 64 * 1024;

const EVENT_HEADER: &str = "x-github-event";
const DELIVERY_HEADER: &str = "x-github-delivery";
/// Headers never stored with a delivery.
const UNSTORED_HEADERS: &[&str] = &[
    "x-hub-signature",
    "x-hub-signature-256",
    "authorization",
    "cookie",
];

/// Why a delivery was refused. Nothing of a refused delivery is stored.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No webhook secret is configured, so no delivery can be verified.
    #[error(
        "no webhook secret is configured, so deliveries cannot be verified and are refused; \
         set GLOBALLM_WEBHOOK_SECRET (or github.webhook_secret_file) to the webhook's secret"
    )]
    NotConfigured,
    /// The body is over GitHub's 25 MiB cap.
    #[error("the body is larger than 25 MiB")]
    TooLarge,
    /// The body could not be read.
    #[error("the body could not be read: {0}")]
    Body(String),
    /// The signature is missing, malformed or wrong.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// A required header is missing or not text.
    #[error("missing or invalid {0} header")]
    MissingHeader(&'static str),
    /// The body is not a JSON object.
    #[error(
        "the body is not a JSON object ({0}); configure the webhook's content type as application/json"
    )]
    NotJson(String),
    /// Storage failed; GitHub may deliver again.
    #[error(transparent)]
    Storage(#[from] IngestError),
}

impl WebhookError {
    fn status(&self) -> StatusCode {
        match self {
            WebhookError::NotConfigured | WebhookError::Storage(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            WebhookError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::Signature(_) => StatusCode::UNAUTHORIZED,
            WebhookError::Body(_) | WebhookError::MissingHeader(_) | WebhookError::NotJson(_) => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            WebhookError::NotConfigured => "not_configured",
            WebhookError::TooLarge => "too_large",
            WebhookError::Body(_) => "bad_body",
            WebhookError::Signature(_) => "bad_signature",
            WebhookError::MissingHeader(_) => "missing_header",
            WebhookError::NotJson(_) => "not_json",
            WebhookError::Storage(_) => "storage_error",
        }
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.to_string() }));
        (self.status(), body).into_response()
    }
}

/// The answer to an accepted delivery.
#[derive(Debug, Serialize)]
struct Ack {
    status: &'static str,
    delivery: String,
    event: String,
    message: String,
}

/// Handles `POST /webhook`.
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let event_name = header(&headers, EVENT_HEADER)
        .unwrap_or("unknown")
        .to_owned();
    let guid = header(&headers, DELIVERY_HEADER).unwrap_or("").to_owned();
    let span = tracing::info_span!("webhook", delivery = %guid, event = %event_name);
    let result = accept(&state, &headers, body)
        .instrument(span.clone())
        .await;
    match result {
        Ok((status, ack)) => {
            metrics::counter!("globallm_deliveries_total", "event" => event_name, "outcome" => ack.status)
                .increment(1);
            (status, Json(ack)).into_response()
        }
        Err(err) => {
            tracing::warn!(parent: &span, status = err.status().as_u16(), "webhook delivery refused: {err}");
            // A refused delivery's headers are unverified: label only known event names, so
            // made-up ones cannot grow the metric without bound.
            let label = if event::is_supported(&event_name) {
                event_name
            } else {
                "other".to_owned()
            };
            metrics::counter!(
                "globallm_deliveries_total",
                "event" => label,
                "outcome" => err.outcome()
            )
            .increment(1);
            err.into_response()
        }
    }
}

/// What the headers say about a delivery, checked before its body is read.
struct Declared {
    event: String,
    guid: String,
    digest: [u8; 32],
}

fn check_headers(
    config: &crate::config::Config,
    headers: &HeaderMap,
) -> Result<Declared, WebhookError> {
    if config.secrets.webhook.is_none() {
        return Err(WebhookError::NotConfigured);
    }
    let declared_length = header(headers, header::CONTENT_LENGTH.as_str())
        .and_then(|length| length.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > BODY_LIMIT as u64) {
        return Err(WebhookError::TooLarge);
    }
    let digest = signature::parse_header(
        headers
            .get(signature::SIGNATURE_HEADER)
            .map(|v| v.as_bytes()),
    )?;
    let event = header(headers, EVENT_HEADER)
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::MissingHeader("X-GitHub-Event"))?
        .to_owned();
    let guid = header(headers, DELIVERY_HEADER)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .ok_or(WebhookError::MissingHeader("X-GitHub-Delivery"))?
        .to_owned();
    Ok(Declared {
        event,
        guid,
        digest,
    })
}

/// Why a body was not read.
enum ReadError {
    /// It is longer than the limit.
    TooLong,
    /// The client stopped sending it, or paused too long.
    Failed(String),
}

/// Reads the body, up to `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ReadError> {
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| ReadError::Failed(err.to_string()))?;
        if buffer.len() + chunk.len() > limit {
            return Err(ReadError::TooLong);
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, Ack), WebhookError> {
    let config = state.ctx.config();
    let declared = match check_headers(&config, headers) {
        Ok(declared) => declared,
        Err(err) => {
            // A small body is read and dropped, so an ordinary client reads the answer; a
            // large one is not waited for.
            let declared = header(headers, header::CONTENT_LENGTH.as_str())
                .and_then(|length| length.parse::<u64>().ok());
            if declared.is_some_and(|length| length <= DISCARD_LIMIT as u64) {
                let _ = read_body(body, DISCARD_LIMIT).await;
            }
            return Err(err);
        }
    };
    let body = read_body(body, BODY_LIMIT).await.map_err(|err| match err {
        ReadError::TooLong => WebhookError::TooLarge,
        ReadError::Failed(message) => WebhookError::Body(message),
    })?;
    signature::verify_digest(config.secrets.webhook_secrets(), &declared.digest, &body)?;
    let Declared {
        event: event_name,
        guid,
        ..
    } = declared;
    let envelope = event::envelope(&body).map_err(|err| WebhookError::NotJson(err.to_string()))?;
    let supported = event::is_supported(&event_name);
    let delivery = NewDelivery {
        guid: guid.clone(),
        event: event_name.clone(),
        action: envelope.action,
        installation_id: envelope.installation.map(|id| id.as_db()),
        repository: envelope.repository,
        headers: stored_headers(headers),
        body,
        received_at: now_ms(),
    };
    let job = supported.then(|| ProcessDelivery::default().to_new_job(&config.jobs, now_ms()));
    let ack = |status, message: String| Ack {
        status,
        delivery: guid.clone(),
        event: event_name.clone(),
        message,
    };
    match state.ingest.store(delivery, job).await? {
        Stored::Duplicate => {
            tracing::info!("duplicate delivery acknowledged; not processed again");
            Ok((
                StatusCode::OK,
                ack(
                    "duplicate",
                    "this delivery was received before and is not processed again".to_owned(),
                ),
            ))
        }
        Stored::New { .. } if !supported => {
            tracing::info!("delivery of an unsupported event stored");
            Ok((
                StatusCode::ACCEPTED,
                ack(
                    "unsupported",
                    format!("stored; GlobalLM does not act on `{event_name}` events"),
                ),
            ))
        }
        Stored::New { .. } => {
            tracing::debug!("delivery stored and queued");
            Ok((
                StatusCode::ACCEPTED,
                ack("accepted", "stored and queued for processing".to_owned()),
            ))
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn stored_headers(headers: &HeaderMap) -> String {
    let map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .filter(|(name, _)| !UNSTORED_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                serde_json::Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}
