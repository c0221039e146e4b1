//! The budget's metrics: used and remaining per cap and scope (gauges, set on every event of
//! the current window), refusals, settled tokens and fallbacks (counters).

use super::caps::CapUse;

/// Sets the used and remaining gauges of these caps.
pub(super) fn publish(uses: &[CapUse<'_>]) {
    for c in uses {
        let labels = [
            ("cap", c.cap.as_str().to_owned()),
            ("scope", c.scope.to_owned()),
        ];
        metrics::gauge!("globallm_budget_used", &labels).set(c.used as f64);
        metrics::gauge!("globallm_budget_remaining", &labels)
            .set(c.limit.saturating_sub(c.used) as f64);
    }
}

/// Describes every budget and LLM metric to the recorder, once.
pub(super) fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use metrics::{describe_counter, describe_gauge};
        describe_gauge!(
            "globallm_budget_used",
            "Budget used or held in the current window, by cap and scope (repository, language or all)"
        );
        describe_gauge!(
            "globallm_budget_remaining",
            "Budget left in the current window, by cap and scope"
        );
        describe_counter!(
            "globallm_budget_denied_total",
            "Reservations refused, by the cap that refused them"
        );
        describe_counter!(
            "globallm_llm_tokens_total",
            "LLM tokens settled, by provider, model and direction (input, output)"
        );
        describe_counter!(
            "globallm_llm_cost_microusd_total",
            "Estimated LLM cost in millionths of a US dollar (from llm.prices), by provider and model"
        );
        describe_counter!(
            "globallm_llm_calls_total",
            "LLM calls, by provider and outcome (ok or the error kind)"
        );
        describe_counter!(
            "globallm_llm_fallbacks_total",
            "LLM calls handed to the fallback provider"
        );
    });
}
