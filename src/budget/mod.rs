//! The budget manager (DESIGN §7). Before work, [`Budget::reserve`] checks every cap and
//! records the reservation in one write transaction (`BEGIN IMMEDIATE`: SQLite's single
//! writer, so no two reservations — from any number of tasks or processes — can both see the
//! same room under a cap); after it, [`Budget::settle`] records the real usage, or
//! [`Budget::release`] frees the reservation when the work failed. A reservation its worker
//! never closed (a crash) expires after `budget.reservation_ttl_secs`. Every event is a row
//! of the ledger, kept for good; [`report`] reads it for `budget --show`.
//!
//! Caps, per window (a week from `budget.window_start_weekday` `window_start_hour`:00 UTC):
//! tokens per repository, tokens in all, seconds of work per repository, fix attempts per
//! repository and per language. An active reservation counts what it holds, a settled one
//! what it used. Settling records the truth even when it exceeds the estimate, so a cap can
//! be passed only by one call's estimation error, never by concurrency.

mod caps;
mod gauges;
pub mod report;
pub mod window;

use crate::config::{Config, Language};
use crate::db::Db;
use crate::db::budget::{self as ledger, Delta, LedgerEntry, NewReservation, ReservationRow, Used};
use crate::llm::Usage;
use crate::llm::clock::Clock;
use crate::time::Millis;
pub use caps::{BudgetError, Cap};
use caps::{CapUse, cap_uses};
use std::sync::Arc;
pub use window::Window;

/// What a reservation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    /// Tokens (estimated input plus the most output).
    pub tokens: u64,
    /// Seconds of work.
    pub seconds: u64,
    /// Whether this is a fix attempt.
    pub fix_attempt: bool,
    /// What the work is, for the ledger.
    pub purpose: String,
    /// An idempotency key: reserving again with it (a job re-run after a crash) returns the
    /// reservation it made, active or settled, instead of counting twice.
    pub key: Option<String>,
}

impl ReserveRequest {
    /// Tokens for an LLM call.
    pub fn tokens(tokens: u64) -> Self {
        Self {
            tokens,
            seconds: 0,
            fix_attempt: false,
            purpose: "llm_call".to_owned(),
            key: None,
        }
    }

    /// A fix attempt expected to take `seconds` of work.
    pub fn fix_attempt(seconds: u64) -> Self {
        Self {
            tokens: 0,
            seconds,
            fix_attempt: true,
            purpose: "fix_attempt".to_owned(),
            key: None,
        }
    }

    /// Sets the purpose recorded in the ledger.
    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = purpose.into();
        self
    }

    /// Sets the idempotency key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

/// A granted reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Its id, for settle and release.
    pub id: i64,
    /// Its window.
    pub window: Window,
    /// When it expires if neither settled nor released (nor renewed).
    pub expires_at: Millis,
    /// `false` for a new reservation; `true` when its key found an earlier one.
    pub reused: bool,
    /// Whether that earlier one is already settled (the work was done and counted).
    pub settled: bool,
}

/// The usage recorded when work ends.
#[derive(Debug, Clone, Default)]
pub struct Settlement<'a> {
    /// Tokens, as the provider reported them.
    pub usage: Usage,
    /// Seconds of work.
    pub seconds: u64,
    /// The provider that answered.
    pub provider: Option<&'a str>,
    /// The model that answered (prices the usage).
    pub model: Option<&'a str>,
    /// The provider's request id.
    pub request_id: Option<&'a str>,
}

/// A handle on the budget: cheap to make, one per job or call site.
#[derive(Debug, Clone)]
pub struct Budget {
    db: Db,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Budget {
    /// The budget over `db`, with the caps and prices of `config`.
    pub fn new(db: Db, config: Arc<Config>, clock: Arc<dyn Clock>) -> Self {
        gauges::describe();
        Self { db, config, clock }
    }

    /// The window holding now.
    pub fn window(&self) -> Window {
        let budget = &self.config.budget;
        window::window_at(
            self.clock.now_ms(),
            budget.window_start_weekday,
            budget.window_start_hour,
        )
    }

    /// Checks every cap and records the reservation, in one transaction.
    pub async fn reserve(
        &self,
        repo: &str,
        language: Language,
        request: ReserveRequest,
    ) -> Result<Reservation, BudgetError> {
        let now = self.clock.now_ms();
        let window = self.window();
        let ttl_ms = to_i64(self.config.budget.reservation_ttl_secs.saturating_mul(1000));
        let language_name = language_name(language);
        let mut tx = self.db.write().await?;
        expire_due_in(tx.conn(), now).await?;
        if let Some(key) = &request.key
            && let Some(found) = ledger::find_by_key(tx.conn(), key).await?
        {
            let settled = found.state == "settled";
            let mut expires_at = found.expires_at;
            if !settled && let Some(row) = ledger::renew(tx.conn(), found.id, now + ttl_ms).await? {
                expires_at = row.expires_at;
                ledger::append_ledger(
                    tx.conn(),
                    &LedgerEntry {
                        event: "renew",
                        note: Some("reserved again with its key"),
                        ..entry_for(&row, now)
                    },
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(Reservation {
                id: found.id,
                window: window::window_at(
                    found.created_at,
                    self.config.budget.window_start_weekday,
                    self.config.budget.window_start_hour,
                ),
                expires_at,
                reused: true,
                settled,
            });
        }
        let usage = ledger::usage(tx.conn(), window.start, repo, language_name).await?;
        let attempts = u64::from(request.fix_attempt);
        let caps = &self.config.budget;
        let asked = |cap: Cap| match cap {
            Cap::TokensTotal | Cap::TokensPerRepo => request.tokens,
            Cap::SecondsPerRepo => request.seconds,
            Cap::FixAttemptsPerRepo | Cap::FixAttemptsPerLanguage => attempts,
        };
        if let Some(CapUse {
            cap,
            scope,
            used,
            limit,
        }) = cap_uses(caps, &usage, repo, language_name)
            .into_iter()
            .find(|c| c.used.saturating_add(asked(c.cap)) > c.limit)
        {
            ledger::append_ledger(
                tx.conn(),
                &LedgerEntry {
                    event: "deny",
                    window_start: window.start,
                    repo,
                    language: language_name,
                    tokens: to_i64(request.tokens),
                    seconds: to_i64(request.seconds),
                    fix_attempts: to_i64(attempts),
                    note: Some(cap.as_str()),
                    at: now,
                    ..LedgerEntry::default()
                },
            )
            .await?;
            tx.commit().await?;
            metrics::counter!("globallm_budget_denied_total", "cap" => cap.as_str()).increment(1);
            return Err(BudgetError::Exceeded {
                cap,
                scope: scope.to_owned(),
                used,
                requested: asked(cap),
                limit,
                resets_at: window.end,
            });
        }
        let id = ledger::insert(
            tx.conn(),
            &NewReservation {
                window_start: window.start,
                repo,
                language: language_name,
                purpose: &request.purpose,
                tokens: to_i64(request.tokens),
                seconds: to_i64(request.seconds),
                fix_attempts: to_i64(attempts),
                request_key: request.key.as_deref(),
                created_at: now,
                expires_at: now + ttl_ms,
            },
        )
        .await?;
        ledger::append_ledger(
            tx.conn(),
            &LedgerEntry {
                reservation_id: Some(id),
                event: "reserve",
                window_start: window.start,
                repo,
                language: language_name,
                tokens: to_i64(request.tokens),
                seconds: to_i64(request.seconds),
                fix_attempts: to_i64(attempts),
                note: Some(&request.purpose),
                at: now,
                ..LedgerEntry::default()
            },
        )
        .await?;
        let held = Delta {
            tokens: to_i64(request.tokens),
            seconds: to_i64(request.seconds),
            fix_attempts: to_i64(attempts),
        };
        ledger::add_usage(tx.conn(), window.start, repo, language_name, held).await?;
        tx.commit().await?;
        let after = ledger::WindowUsage {
            tokens_total: usage.tokens_total + held.tokens,
            repo_tokens: usage.repo_tokens + held.tokens,
            repo_seconds: usage.repo_seconds + held.seconds,
            repo_fix_attempts: usage.repo_fix_attempts + held.fix_attempts,
            language_fix_attempts: usage.language_fix_attempts + held.fix_attempts,
        };
        gauges::publish(&cap_uses(&self.config.budget, &after, repo, language_name));
        Ok(Reservation {
            id,
            window,
            expires_at: now + ttl_ms,
            reused: false,
            settled: false,
        })
    }

    /// Records the real usage of a reservation. Returns `false`, changing nothing, when it
    /// was already settled or released (a repeated settle never counts twice). An expired
    /// reservation is still settled: the work it stood for did happen.
    pub async fn settle(&self, id: i64, settlement: &Settlement<'_>) -> Result<bool, BudgetError> {
        let now = self.clock.now_ms();
        let usage = settlement.usage;
        let cost = settlement
            .model
            .and_then(|model| self.config.llm.price_of(model))
            .map(|price| {
                (usage.input_tokens as f64 * price.input_usd_per_mtok
                    + usage.output_tokens as f64 * price.output_usd_per_mtok)
                    / 1_000_000.0
            });
        let used = Used {
            input_tokens: to_i64(usage.input_tokens),
            output_tokens: to_i64(usage.output_tokens),
            seconds: to_i64(settlement.seconds),
            estimated: usage.estimated,
            provider: settlement.provider,
            model: settlement.model,
            cost_usd: cost.filter(|_| usage.total() > 0),
        };
        let mut tx = self.db.write().await?;
        let before = ledger::get(tx.conn(), id).await?;
        // What the reservation counted before, replaced by what it used.
        let delta = match &before {
            Some(r) if r.state == "active" => Delta {
                tokens: used.input_tokens + used.output_tokens - r.tokens_reserved,
                seconds: used.seconds - r.seconds_reserved,
                fix_attempts: 0,
            },
            Some(r) if r.state == "expired" => Delta {
                tokens: used.input_tokens + used.output_tokens,
                seconds: used.seconds,
                fix_attempts: r.fix_attempts,
            },
            _ => {
                tx.commit().await?;
                return Ok(false);
            }
        };
        let Some(row) = ledger::settle(tx.conn(), id, &used, now).await? else {
            tx.commit().await?;
            return Ok(false);
        };
        ledger::add_usage(tx.conn(), row.window_start, &row.repo, &row.language, delta).await?;
        ledger::append_ledger(
            tx.conn(),
            &LedgerEntry {
                reservation_id: Some(id),
                event: "settle",
                tokens: to_i64(usage.total()),
                input_tokens: used.input_tokens,
                output_tokens: used.output_tokens,
                seconds: used.seconds,
                fix_attempts: row.fix_attempts,
                provider: settlement.provider,
                model: settlement.model,
                cost_usd: used.cost_usd,
                provider_request_id: settlement.request_id,
                usage_estimated: usage.estimated,
                ..entry_for(&row, now)
            },
        )
        .await?;
        let after = ledger::usage(tx.conn(), row.window_start, &row.repo, &row.language).await?;
        tx.commit().await?;
        if row.window_start == self.window().start {
            gauges::publish(&cap_uses(
                &self.config.budget,
                &after,
                &row.repo,
                &row.language,
            ));
        }
        for (direction, tokens) in [
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
        ] {
            metrics::counter!(
                "globallm_llm_tokens_total",
                "provider" => settlement.provider.unwrap_or("none").to_owned(),
                "model" => settlement.model.unwrap_or("none").to_owned(),
                "direction" => direction
            )
            .increment(tokens);
        }
        if let Some(cost) = used.cost_usd {
            // Prometheus counters are integers here: cost is counted in micro-dollars.
            metrics::counter!(
                "globallm_llm_cost_microusd_total",
                "provider" => settlement.provider.unwrap_or("none").to_owned(),
                "model" => settlement.model.unwrap_or("none").to_owned()
            )
            .increment((cost * 1_000_000.0).round() as u64);
        }
        Ok(true)
    }

    /// Frees an active reservation whose work failed, with the reason in the ledger. Returns
    /// `false` when it was not active.
    pub async fn release(&self, id: i64, reason: &str) -> Result<bool, BudgetError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write().await?;
        let Some(row) = ledger::release(tx.conn(), id, now).await? else {
            tx.commit().await?;
            return Ok(false);
        };
        ledger::append_ledger(
            tx.conn(),
            &LedgerEntry {
                event: "release",
                note: Some(reason),
                ..entry_for(&row, now)
            },
        )
        .await?;
        ledger::add_usage(
            tx.conn(),
            row.window_start,
            &row.repo,
            &row.language,
            freed(&row),
        )
        .await?;
        let after = ledger::usage(tx.conn(), row.window_start, &row.repo, &row.language).await?;
        tx.commit().await?;
        if row.window_start == self.window().start {
            gauges::publish(&cap_uses(
                &self.config.budget,
                &after,
                &row.repo,
                &row.language,
            ));
        }
        Ok(true)
    }

    /// Extends an active reservation's life by a full TTL from now (long work calls this
    /// periodically). Returns `false` when it is no longer active.
    pub async fn renew(&self, id: i64) -> Result<bool, BudgetError> {
        let now = self.clock.now_ms();
        let ttl_ms = to_i64(self.config.budget.reservation_ttl_secs.saturating_mul(1000));
        let mut tx = self.db.write().await?;
        let Some(row) = ledger::renew(tx.conn(), id, now + ttl_ms).await? else {
            tx.commit().await?;
            return Ok(false);
        };
        ledger::append_ledger(
            tx.conn(),
            &LedgerEntry {
                event: "renew",
                ..entry_for(&row, now)
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Expires the reservations whose TTL passed (also done by every reservation); returns
    /// how many.
    pub async fn expire_due(&self) -> Result<u64, BudgetError> {
        let mut tx = self.db.write().await?;
        let expired = expire_due_in(tx.conn(), self.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(expired)
    }

    /// The current window's caps and spend.
    pub async fn report(&self) -> Result<report::Report, BudgetError> {
        report::Report::read(&self.db, &self.config, self.window()).await
    }
}

/// Expires the reservations past their TTL: each gets a ledger row and stops counting.
async fn expire_due_in(conn: &mut crate::db::Conn, now: Millis) -> sqlx::Result<u64> {
    let expired = ledger::expire_due(conn, now).await?;
    for row in &expired {
        ledger::append_ledger(
            conn,
            &LedgerEntry {
                event: "expire",
                note: Some("neither settled nor released in time"),
                ..entry_for(row, now)
            },
        )
        .await?;
        ledger::add_usage(conn, row.window_start, &row.repo, &row.language, freed(row)).await?;
    }
    Ok(expired.len() as u64)
}

/// What an active reservation stops counting when it is released or expires.
fn freed(row: &ReservationRow) -> Delta {
    Delta {
        tokens: -row.tokens_reserved,
        seconds: -row.seconds_reserved,
        fix_attempts: -row.fix_attempts,
    }
}

/// The ledger row of an event on `row`, with the amounts it held.
fn entry_for(row: &ReservationRow, now: Millis) -> LedgerEntry<'_> {
    LedgerEntry {
        reservation_id: Some(row.id),
        event: "",
        window_start: row.window_start,
        repo: &row.repo,
        language: &row.language,
        tokens: row.tokens_reserved,
        seconds: row.seconds_reserved,
        fix_attempts: row.fix_attempts,
        at: now,
        ..LedgerEntry::default()
    }
}

/// The language as stored.
pub fn language_name(language: Language) -> &'static str {
    match language {
        Language::Python => "python",
        Language::Javascript => "javascript",
        Language::Go => "go",
        Language::Rust => "rust",
        Language::Java => "java",
    }
}
