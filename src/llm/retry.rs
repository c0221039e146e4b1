//! Retries and fallback: [`Resilient`] wraps a primary provider (and optionally a fallback)
//! and is itself a [`Provider`]. A retryable error is retried with jittered exponential
//! backoff (backon), honouring the provider's `retry-after` / reset time, bounded in count
//! and in total time as measured by a [`Clock`] (a manual one in tests: nothing sleeps).
//! An overloaded primary, or one whose retries are exhausted, hands over to the fallback.
//!
//! Retries happen inside one budget reservation (see [`super::client`]): only the attempt that
//! answers reports usage, so a retry never counts twice.

use super::{BoxFuture, LlmError, LlmRequest, LlmResponse, Provider};
use crate::config::LlmConfig;
use crate::llm::clock::Clock;
use backon::{ExponentialBuilder, Retryable as _};
use std::sync::Arc;
use std::time::Duration;

/// How a call is retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first delay; each next one doubles, and jitter adds up to as much again.
    pub base_delay: Duration,
    /// The longest delay before jitter. A provider asking for a longer wait ends the retries.
    pub max_delay: Duration,
    /// The most time the attempts and delays of one call may take together.
    pub max_total: Duration,
    /// Seed of the jitter, for reproducible tests; random when `None`.
    pub jitter_seed: Option<u64>,
}

impl RetryPolicy {
    /// The policy `llm.*` configures.
    pub fn from_config(llm: &LlmConfig) -> Self {
        Self {
            max_retries: llm.max_retries,
            base_delay: Duration::from_millis(llm.retry_base_ms),
            max_delay: Duration::from_secs(llm.retry_max_delay_secs),
            max_total: Duration::from_secs(llm.retry_total_secs),
            jitter_seed: None,
        }
    }

    fn backoff(&self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_retries as usize)
            .with_jitter();
        match self.jitter_seed {
            Some(seed) => builder.with_jitter_seed(seed),
            None => builder,
        }
    }
}

/// A provider with retries and an optional fallback.
#[derive(Debug, Clone)]
pub struct Resilient {
    primary: Arc<dyn Provider>,
    fallback: Option<Arc<dyn Provider>>,
    policy: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl Resilient {
    /// Wraps `primary`, falling back to `fallback` when given.
    pub fn new(
        primary: Arc<dyn Provider>,
        fallback: Option<Arc<dyn Provider>>,
        policy: RetryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            primary,
            fallback,
            policy,
            clock,
        }
    }

    /// Sends `request` to `provider`, retrying as the policy allows. With `fail_fast`, errors
    /// that call for the fallback at once are not retried. The future owns everything it uses
    /// and is boxed here, where its closures' types are concrete: holding backon's future
    /// across an await in an `async fn` trips a higher-ranked `Send` limitation of rustc.
    fn with_retries(
        provider: Arc<dyn Provider>,
        request: Arc<LlmRequest>,
        policy: RetryPolicy,
        clock: Arc<dyn Clock>,
        fail_fast: bool,
    ) -> BoxFuture<'static, Result<LlmResponse, LlmError>> {
        let started = clock.now_ms();
        let (max_delay, max_total) = (policy.max_delay, policy.max_total);
        let name = provider.name().to_owned();
        let sleeper_clock = clock.clone();
        let sleeper = move |delay: Duration| -> BoxFuture<'static, ()> {
            let clock = sleeper_clock.clone();
            Box::pin(async move { clock.sleep(delay).await })
        };
        let attempt = move || {
            let (provider, request) = (provider.clone(), request.clone());
            async move { provider.complete(&request).await }
        };
        let retrying = attempt
            .retry(policy.backoff())
            .sleep(sleeper)
            .when(move |err: &LlmError| {
                err.is_retryable() && !(fail_fast && err.wants_fallback_now())
            })
            .adjust(move |err: &LlmError, backoff: Option<Duration>| {
                let now = clock.now_ms();
                let delay = match (backoff, err.retry_after(now)) {
                    (None, _) => return None,
                    (Some(_), Some(asked)) if asked > max_delay => return None,
                    (Some(backoff), Some(asked)) => backoff.max(asked),
                    (Some(backoff), None) => backoff,
                };
                let elapsed = Duration::from_millis(u64::try_from(now - started).unwrap_or(0));
                (elapsed + delay <= max_total).then_some(delay)
            })
            .notify(move |err: &LlmError, delay: Duration| {
                tracing::warn!(provider = %name, ?delay, "LLM call failed, retrying: {err}");
            });
        Box::pin(retrying)
    }

    async fn call(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let request = Arc::new(request.clone());
        let fallback = self.fallback.as_ref();
        let primary = Self::with_retries(
            self.primary.clone(),
            request.clone(),
            self.policy.clone(),
            self.clock.clone(),
            fallback.is_some(),
        )
        .await;
        match (primary, fallback) {
            (Err(err), Some(fallback)) if err.is_retryable() || err.wants_fallback_now() => {
                tracing::warn!(
                    primary = self.primary.name(),
                    fallback = fallback.name(),
                    "LLM provider unavailable, using the fallback: {err}"
                );
                metrics::counter!("globallm_llm_fallbacks_total").increment(1);
                Self::with_retries(
                    fallback.clone(),
                    request,
                    self.policy.clone(),
                    self.clock.clone(),
                    false,
                )
                .await
            }
            (result, _) => result,
        }
    }
}

impl Provider for Resilient {
    fn name(&self) -> &str {
        self.primary.name()
    }

    fn model(&self) -> &str {
        self.primary.model()
    }

    fn complete<'a>(
        &'a self,
        request: &'a LlmRequest,
    ) -> BoxFuture<'a, Result<LlmResponse, LlmError>> {
        Box::pin(self.call(request))
    }
}
