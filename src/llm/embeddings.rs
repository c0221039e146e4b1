//! README embeddings for redundancy: the primary provider's `/embeddings` endpoint (OpenAI or
//! OpenAI-compatible) with `llm.embedding_model`, each call reserved in the budget of the
//! repository it embeds and settled with the tokens the provider reported, as every LLM call.

use super::client::{Scope, release, settle};
use super::openai::OpenAi;
use super::tokens::TokenEstimator;
use super::{HttpOptions, LlmError};
use crate::budget::{Budget, ReserveRequest, Settlement};
use crate::config::{Config, ProviderKind};
use crate::db::Db;
use crate::llm::clock::Clock;
use std::sync::Arc;

/// The most of a README that is embedded: embedding models take about 8,000 tokens.
pub const MAX_CHARS: usize = 16_000;

/// A budgeted embeddings client.
#[derive(Debug)]
pub struct Embedder {
    adapter: OpenAi,
    provider: String,
    model: String,
    estimator: TokenEstimator,
    budget: Budget,
}

impl Embedder {
    /// The embedder `llm.embedding_model` configures: `None` when it is unset, or when the
    /// provider has no embeddings endpoint (Anthropic; said in the log).
    ///
    /// # Errors
    /// When the provider needs an API key and has none.
    pub fn from_config(
        db: Db,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Self>, LlmError> {
        let Some(model) = config.llm.embedding_model.clone() else {
            return Ok(None);
        };
        let endpoint = config.llm.primary();
        if endpoint.provider == ProviderKind::Anthropic {
            tracing::warn!(
                "llm.embedding_model is set, but Anthropic has no embeddings endpoint: READMEs are compared by TF-IDF"
            );
            return Ok(None);
        }
        let estimator =
            TokenEstimator::for_model(endpoint.provider, &model, config.llm.anthropic_token_factor);
        let options = HttpOptions {
            stream: false,
            ..HttpOptions::from_config(&config)
        };
        let adapter = OpenAi::new(
            &endpoint,
            config.secrets.llm_api_key.clone(),
            options,
            estimator.clone(),
        )?;
        Ok(Some(Self {
            adapter,
            provider: endpoint.provider.as_str().to_owned(),
            model,
            estimator,
            budget: Budget::new(db, config, clock),
        }))
    }

    /// The model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Embeds `text` (its first [`MAX_CHARS`] characters), charged to `scope`'s budget.
    ///
    /// # Errors
    /// When the budget refuses it or the provider fails (the reservation is then released).
    pub async fn embed(&self, scope: Scope<'_>, text: &str) -> Result<Vec<f32>, LlmError> {
        let text: String = text.chars().take(MAX_CHARS).collect();
        let estimate = self.estimator.count_text(&text);
        let reservation = self
            .budget
            .reserve(
                scope.repo,
                scope.language,
                ReserveRequest::tokens(estimate).purpose("embedding"),
            )
            .await?;
        let outcome = self
            .adapter
            .embed(&self.model, std::slice::from_ref(&text))
            .await;
        metrics::counter!(
            "globallm_llm_calls_total",
            "provider" => self.provider.clone(),
            "outcome" => outcome.as_ref().map_or_else(LlmError::kind, |_| "ok")
        )
        .increment(1);
        match outcome {
            Ok((mut vectors, usage)) => {
                let settlement = Settlement {
                    usage,
                    seconds: 0,
                    provider: Some(&self.provider),
                    model: Some(&self.model),
                    request_id: None,
                };
                settle(&self.budget, reservation.id, &settlement).await;
                Ok(vectors.pop().unwrap_or_default())
            }
            Err(err) => {
                release(&self.budget, reservation.id, &err).await;
                Err(err)
            }
        }
    }
}
