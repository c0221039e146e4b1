//! [`Llm`]: the one entry point every feature calls a model through. Each call estimates its
//! tokens, reserves them in the budget, sends the request (with retries and fallback), then
//! settles the reservation with the usage the provider reported — or releases it when the
//! call failed.

use super::retry::{Resilient, RetryPolicy};
use super::tokens::TokenEstimator;
use super::{HttpOptions, LlmError, LlmRequest, LlmResponse, Provider};
use crate::budget::{Budget, ReserveRequest, Settlement};
use crate::config::{Config, Language};
use crate::db::Db;
use crate::llm::clock::Clock;
use std::sync::Arc;

/// Whose budget a call spends.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// `owner/name`.
    pub repo: &'a str,
    /// The repository's language.
    pub language: Language,
}

/// The budgeted LLM client.
#[derive(Debug, Clone)]
pub struct Llm {
    provider: Arc<dyn Provider>,
    estimator: TokenEstimator,
    budget: Budget,
    config: Arc<Config>,
}

impl Llm {
    /// The configured provider (and fallback) with retries, over the budget in `db`.
    /// Fails with [`LlmError::Authentication`] naming the variable to set when a provider that
    /// needs a key has none.
    pub fn from_config(
        db: Db,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LlmError> {
        let llm = &config.llm;
        let options = HttpOptions::from_config(&config);
        let secrets = &config.secrets;
        let primary = super::adapter(
            &llm.primary(),
            secrets.llm_api_key.as_ref(),
            &options,
            llm.anthropic_token_factor,
        )?;
        let fallback = match llm.fallback() {
            Some(endpoint) => Some(super::adapter(
                &endpoint,
                secrets.llm_fallback_api_key.as_ref(),
                &options,
                llm.anthropic_token_factor,
            )?),
            None => None,
        };
        let provider = Arc::new(Resilient::new(
            primary,
            fallback,
            RetryPolicy::from_config(llm),
            clock.clone(),
        ));
        let budget = Budget::new(db, config.clone(), clock);
        Ok(Self::new(provider, budget, config))
    }

    /// A client over any provider (tests use [`super::scripted::ScriptedProvider`]).
    pub fn new(provider: Arc<dyn Provider>, budget: Budget, config: Arc<Config>) -> Self {
        let estimator = TokenEstimator::for_model(
            config.llm.provider,
            provider.model(),
            config.llm.anthropic_token_factor,
        );
        Self {
            provider,
            estimator,
            budget,
            config,
        }
    }

    /// The budget calls are charged to.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The token estimator of the primary model.
    pub fn estimator(&self) -> &TokenEstimator {
        &self.estimator
    }

    /// The configuration it was made with.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Sends one request charged to `scope`'s budget; `purpose` names it in the ledger.
    pub async fn complete(
        &self,
        scope: Scope<'_>,
        purpose: &str,
        mut request: LlmRequest,
    ) -> Result<LlmResponse, LlmError> {
        let llm = &self.config.llm;
        request.max_output_tokens = request.max_output_tokens.min(llm.max_output_tokens);
        if request.temperature.is_none() {
            request.temperature = llm.temperature;
        }
        let estimate = self.estimator.reservation(&request);
        let reservation = self
            .budget
            .reserve(
                scope.repo,
                scope.language,
                ReserveRequest::tokens(estimate).purpose(purpose),
            )
            .await?;
        let outcome = self.provider.complete(&request).await;
        metrics::counter!(
            "globallm_llm_calls_total",
            "provider" => self.provider.name().to_owned(),
            "outcome" => outcome.as_ref().map_or_else(LlmError::kind, |_| "ok")
        )
        .increment(1);
        match outcome {
            Ok(response) => {
                let settlement = Settlement {
                    usage: response.usage,
                    seconds: 0,
                    provider: Some(&response.provider),
                    model: Some(&response.model),
                    request_id: response.request_id.as_deref(),
                };
                settle(&self.budget, reservation.id, &settlement).await;
                Ok(response)
            }
            Err(err) => {
                release(&self.budget, reservation.id, &err).await;
                Err(err)
            }
        }
    }
}

/// Settles a call's reservation with what it spent. The tokens are spent: a ledger failure
/// must not make the caller call again, so it is logged, and the reservation keeps holding its
/// estimate until it expires.
pub(crate) async fn settle(budget: &Budget, reservation: i64, settlement: &Settlement<'_>) {
    if let Err(err) = budget.settle(reservation, settlement).await {
        tracing::error!(
            reservation,
            "cannot settle an LLM call in the budget ledger: {err}"
        );
    }
}

/// Releases a failed call's reservation (logged when the ledger fails).
pub(crate) async fn release(budget: &Budget, reservation: i64, err: &LlmError) {
    if let Err(ledger) = budget.release(reservation, &err.to_string()).await {
        tracing::error!(
            reservation,
            "cannot release a failed LLM call's reservation: {ledger}"
        );
    }
}
