//! The `budget_reservations` and `budget_ledger` tables: every query of the budget manager
//! (`crate::budget`), which calls them inside its write transactions.

use super::{Conn, Pool};
use crate::time::Millis;

/// A reservation as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct ReservationRow {
    /// Its id.
    pub id: i64,
    /// The start of its budget window.
    pub window_start: Millis,
    /// `owner/name`.
    pub repo: String,
    /// The repository's language.
    pub language: String,
    /// What the work is.
    pub purpose: String,
    /// `active`, `settled`, `released` or `expired`.
    pub state: String,
    /// Tokens held while active.
    pub tokens_reserved: i64,
    /// Seconds held while active.
    pub seconds_reserved: i64,
    /// 1 for a fix attempt.
    pub fix_attempts: i64,
    /// Input tokens used (once settled).
    pub input_tokens: i64,
    /// Output tokens used (once settled).
    pub output_tokens: i64,
    /// Seconds of work used (once settled).
    pub seconds_used: i64,
    /// Whether the usage is an estimate.
    #[sqlx(try_from = "crate::db::Flag")]
    pub usage_estimated: bool,
    /// The provider that answered.
    pub provider: Option<String>,
    /// The model that answered.
    pub model: Option<String>,
    /// The cost, when the model is priced.
    pub cost_usd: Option<f64>,
    /// The caller's idempotency key.
    pub request_key: Option<String>,
    /// When it was made.
    pub created_at: Millis,
    /// When it stops holding its share if still active.
    pub expires_at: Millis,
    /// When it was settled, released or expired.
    pub closed_at: Option<Millis>,
}

/// What a window's reservations count against the caps that concern one repository and
/// language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct WindowUsage {
    /// Tokens, all repositories.
    pub tokens_total: i64,
    /// Tokens of the repository.
    pub repo_tokens: i64,
    /// Seconds of work of the repository.
    pub repo_seconds: i64,
    /// Fix attempts of the repository.
    pub repo_fix_attempts: i64,
    /// Fix attempts of the language.
    pub language_fix_attempts: i64,
}

/// A new reservation.
#[derive(Debug, Clone)]
pub struct NewReservation<'a> {
    /// Its window.
    pub window_start: Millis,
    /// `owner/name`.
    pub repo: &'a str,
    /// The language.
    pub language: &'a str,
    /// What the work is.
    pub purpose: &'a str,
    /// Tokens held.
    pub tokens: i64,
    /// Seconds held.
    pub seconds: i64,
    /// 1 for a fix attempt.
    pub fix_attempts: i64,
    /// Idempotency key.
    pub request_key: Option<&'a str>,
    /// Now.
    pub created_at: Millis,
    /// When it expires if still active.
    pub expires_at: Millis,
}

/// One ledger row.
#[derive(Debug, Clone, Default)]
pub struct LedgerEntry<'a> {
    /// The reservation (none for a denial).
    pub reservation_id: Option<i64>,
    /// `reserve`, `settle`, `release`, `expire`, `renew` or `deny`.
    pub event: &'a str,
    /// The window.
    pub window_start: Millis,
    /// `owner/name`.
    pub repo: &'a str,
    /// The language.
    pub language: &'a str,
    /// Tokens concerned.
    pub tokens: i64,
    /// Input tokens used (settle).
    pub input_tokens: i64,
    /// Output tokens used (settle).
    pub output_tokens: i64,
    /// Seconds concerned.
    pub seconds: i64,
    /// Fix attempts concerned.
    pub fix_attempts: i64,
    /// The provider (settle).
    pub provider: Option<&'a str>,
    /// The model (settle).
    pub model: Option<&'a str>,
    /// The cost (settle).
    pub cost_usd: Option<f64>,
    /// The provider's request id (settle).
    pub provider_request_id: Option<&'a str>,
    /// Whether the usage is an estimate (settle).
    pub usage_estimated: bool,
    /// Why.
    pub note: Option<&'a str>,
    /// When.
    pub at: Millis,
}

/// The usage a settlement records.
#[derive(Debug, Clone)]
pub struct Used<'a> {
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Seconds of work.
    pub seconds: i64,
    /// Whether the token counts are estimates.
    pub estimated: bool,
    /// The provider.
    pub provider: Option<&'a str>,
    /// The model.
    pub model: Option<&'a str>,
    /// The cost, when priced.
    pub cost_usd: Option<f64>,
}

/// Marks active reservations past their expiry as expired; returns them.
pub async fn expire_due(conn: &mut Conn, now: Millis) -> sqlx::Result<Vec<ReservationRow>> {
    sqlx::query_as(
        "UPDATE budget_reservations SET state = 'expired', closed_at = $1
         WHERE state = 'active' AND expires_at <= $1
         RETURNING id, window_start, repo, language, purpose, state, tokens_reserved,
                   seconds_reserved, fix_attempts, input_tokens, output_tokens, seconds_used,
                   usage_estimated, provider, model, cost_usd, request_key, created_at,
                   expires_at, closed_at",
    )
    .bind(now)
    .fetch_all(conn)
    .await
}

/// The active or settled reservation holding `key`.
pub async fn find_by_key(conn: &mut Conn, key: &str) -> sqlx::Result<Option<ReservationRow>> {
    sqlx::query_as(
        "SELECT id, window_start, repo, language, purpose, state, tokens_reserved,
                seconds_reserved, fix_attempts, input_tokens, output_tokens, seconds_used,
                usage_estimated, provider, model, cost_usd, request_key, created_at, expires_at,
                closed_at
         FROM budget_reservations WHERE request_key = $1 AND state IN ('active', 'settled')",
    )
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// One reservation.
pub async fn get(conn: &mut Conn, id: i64) -> sqlx::Result<Option<ReservationRow>> {
    sqlx::query_as(
        "SELECT id, window_start, repo, language, purpose, state, tokens_reserved,
                seconds_reserved, fix_attempts, input_tokens, output_tokens, seconds_used,
                usage_estimated, provider, model, cost_usd, request_key, created_at, expires_at,
                closed_at
         FROM budget_reservations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// What the window's reservations count against the caps of `repo` and `language`, from
/// the `budget_usage` counters.
pub async fn usage(
    conn: &mut Conn,
    window_start: Millis,
    repo: &str,
    language: &str,
) -> sqlx::Result<WindowUsage> {
    sqlx::query_as(
        "SELECT CAST(coalesce(sum(CASE WHEN scope = 'all' THEN tokens END), 0) AS BIGINT) AS tokens_total,
                CAST(coalesce(sum(CASE WHEN scope = 'repo:' || $2 THEN tokens END), 0) AS BIGINT) AS repo_tokens,
                CAST(coalesce(sum(CASE WHEN scope = 'repo:' || $2 THEN seconds END), 0) AS BIGINT)
                    AS repo_seconds,
                CAST(coalesce(sum(CASE WHEN scope = 'repo:' || $2 THEN fix_attempts END), 0) AS BIGINT)
                    AS repo_fix_attempts,
                CAST(coalesce(sum(CASE WHEN scope = 'language:' || $3 THEN fix_attempts END), 0) AS BIGINT)
                    AS language_fix_attempts
         FROM budget_usage
         WHERE window_start = $1 AND scope IN ('all', 'repo:' || $2, 'language:' || $3)",
    )
    .bind(window_start)
    .bind(repo)
    .bind(language)
    .fetch_one(conn)
    .await
}

/// A change of what a reservation counts against the caps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    /// Tokens.
    pub tokens: i64,
    /// Seconds of work.
    pub seconds: i64,
    /// Fix attempts.
    pub fix_attempts: i64,
}

/// Adds `delta` to the window's counters of everything, of `repo` and of `language`.
pub async fn add_usage(
    conn: &mut Conn,
    window_start: Millis,
    repo: &str,
    language: &str,
    delta: Delta,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO budget_usage (window_start, scope, tokens, seconds, fix_attempts)
         VALUES ($1, 'all', $4, $5, $6),
                ($1, 'repo:' || $2, $4, $5, $6),
                ($1, 'language:' || $3, $4, $5, $6)
         ON CONFLICT (window_start, scope) DO UPDATE SET
             tokens = budget_usage.tokens + excluded.tokens,
             seconds = budget_usage.seconds + excluded.seconds,
             fix_attempts = budget_usage.fix_attempts + excluded.fix_attempts",
    )
    .bind(window_start)
    .bind(repo)
    .bind(language)
    .bind(delta.tokens)
    .bind(delta.seconds)
    .bind(delta.fix_attempts)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores a new active reservation; returns its id.
pub async fn insert(conn: &mut Conn, new: &NewReservation<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO budget_reservations (window_start, repo, language, purpose, tokens_reserved,
                                         seconds_reserved, fix_attempts, request_key, created_at,
                                         expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(new.window_start)
    .bind(new.repo)
    .bind(new.language)
    .bind(new.purpose)
    .bind(new.tokens)
    .bind(new.seconds)
    .bind(new.fix_attempts)
    .bind(new.request_key)
    .bind(new.created_at)
    .bind(new.expires_at)
    .fetch_one(conn)
    .await
}

/// Appends a ledger row.
pub async fn append_ledger(conn: &mut Conn, e: &LedgerEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO budget_ledger (reservation_id, event, window_start, repo, language, tokens,
                                   input_tokens, output_tokens, seconds, fix_attempts, provider,
                                   model, cost_usd, provider_request_id, usage_estimated, note, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(e.reservation_id)
    .bind(e.event)
    .bind(e.window_start)
    .bind(e.repo)
    .bind(e.language)
    .bind(e.tokens)
    .bind(e.input_tokens)
    .bind(e.output_tokens)
    .bind(e.seconds)
    .bind(e.fix_attempts)
    .bind(e.provider)
    .bind(e.model)
    .bind(super::NullableReal(e.cost_usd))
    .bind(e.provider_request_id)
    .bind(i64::from(e.usage_estimated))
    .bind(e.note)
    .bind(e.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the usage of an active or expired reservation (a slow worker's call still counts
/// once it ends); `None` when it was already settled or released.
pub async fn settle(
    conn: &mut Conn,
    id: i64,
    used: &Used<'_>,
    now: Millis,
) -> sqlx::Result<Option<ReservationRow>> {
    // One statement: the state check and the update cannot be separated by another writer.
    sqlx::query_as(
        "UPDATE budget_reservations
         SET state = 'settled', input_tokens = $1, output_tokens = $2, seconds_used = $3,
             usage_estimated = $4, provider = $5, model = $6, cost_usd = $7, closed_at = $8,
             -- An expired reservation whose key a newer one took gives the key up.
             request_key = CASE WHEN EXISTS (
                 SELECT 1 FROM budget_reservations AS newer
                 WHERE newer.request_key = budget_reservations.request_key
                   AND newer.id <> budget_reservations.id
                   AND newer.state IN ('active', 'settled'))
                 THEN NULL ELSE request_key END
         WHERE id = $9 AND state IN ('active', 'expired')
         RETURNING id, window_start, repo, language, purpose, state, tokens_reserved,
                   seconds_reserved, fix_attempts, input_tokens, output_tokens, seconds_used,
                   usage_estimated, provider, model, cost_usd, request_key, created_at,
                   expires_at, closed_at",
    )
    .bind(used.input_tokens)
    .bind(used.output_tokens)
    .bind(used.seconds)
    .bind(i64::from(used.estimated))
    .bind(used.provider)
    .bind(used.model)
    .bind(super::NullableReal(used.cost_usd))
    .bind(now)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Releases an active reservation (its work failed); `None` when it was not active.
pub async fn release(
    conn: &mut Conn,
    id: i64,
    now: Millis,
) -> sqlx::Result<Option<ReservationRow>> {
    sqlx::query_as(
        "UPDATE budget_reservations SET state = 'released', closed_at = $1
         WHERE id = $2 AND state = 'active'
         RETURNING id, window_start, repo, language, purpose, state, tokens_reserved,
                   seconds_reserved, fix_attempts, input_tokens, output_tokens, seconds_used,
                   usage_estimated, provider, model, cost_usd, request_key, created_at,
                   expires_at, closed_at",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Moves an active reservation's expiry; `None` when it is not active.
pub async fn renew(
    conn: &mut Conn,
    id: i64,
    expires_at: Millis,
) -> sqlx::Result<Option<ReservationRow>> {
    sqlx::query_as(
        "UPDATE budget_reservations SET expires_at = $1 WHERE id = $2 AND state = 'active'
         RETURNING id, window_start, repo, language, purpose, state, tokens_reserved,
                   seconds_reserved, fix_attempts, input_tokens, output_tokens, seconds_used,
                   usage_estimated, provider, model, cost_usd, request_key, created_at,
                   expires_at, closed_at",
    )
    .bind(expires_at)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Spend of one repository or language in a window.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct Spend {
    /// The repository or the language.
    pub key: String,
    /// Tokens held by active reservations.
    pub tokens_held: i64,
    /// Input tokens used.
    pub input_tokens: i64,
    /// Output tokens used.
    pub output_tokens: i64,
    /// Seconds of work, used or held.
    pub seconds: i64,
    /// Fix attempts, settled or under way.
    pub fix_attempts: i64,
    /// Settled reservations.
    pub settled: i64,
    /// Settled reservations whose usage is an estimate.
    pub estimated: i64,
    /// USD, priced models only.
    pub cost_usd: f64,
    /// Settled reservations whose model has no price.
    pub unpriced: i64,
}

/// The columns of [`Spend`], summed over a group of reservations.
const SPEND_COLUMNS: &str = "
    CAST(sum(CASE WHEN state = 'active' THEN tokens_reserved ELSE 0 END) AS BIGINT) AS tokens_held,
    CAST(sum(input_tokens) AS BIGINT) AS input_tokens,
    CAST(sum(output_tokens) AS BIGINT) AS output_tokens,
    CAST(sum(CASE state WHEN 'active' THEN seconds_reserved ELSE seconds_used END) AS BIGINT)
        AS seconds,
    CAST(sum(CASE WHEN state IN ('active', 'settled') THEN fix_attempts ELSE 0 END) AS BIGINT)
        AS fix_attempts,
    count(*) FILTER (WHERE state = 'settled') AS settled,
    count(*) FILTER (WHERE state = 'settled' AND usage_estimated <> 0) AS estimated,
    coalesce(sum(cost_usd), 0.0) AS cost_usd,
    count(*) FILTER (WHERE state = 'settled' AND cost_usd IS NULL
                     AND input_tokens + output_tokens > 0) AS unpriced";

/// Spend per repository in a window, largest first.
pub async fn spend_by_repo(pool: &Pool, window_start: Millis) -> sqlx::Result<Vec<Spend>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT repo AS key, {SPEND_COLUMNS}
         FROM budget_reservations WHERE window_start = $1
         GROUP BY repo
         ORDER BY sum(input_tokens + output_tokens) DESC, repo"
    )))
    .bind(window_start)
    .fetch_all(pool)
    .await
}

/// Spend per language in a window, largest first.
pub async fn spend_by_language(pool: &Pool, window_start: Millis) -> sqlx::Result<Vec<Spend>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT language AS key, {SPEND_COLUMNS}
         FROM budget_reservations WHERE window_start = $1
         GROUP BY language
         ORDER BY sum(input_tokens + output_tokens) DESC, language"
    )))
    .bind(window_start)
    .fetch_all(pool)
    .await
}

/// How many reservations the caps refused in a window.
pub async fn denied_count(pool: &Pool, window_start: Millis) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM budget_ledger WHERE window_start = $1 AND event = 'deny'",
    )
    .bind(window_start)
    .fetch_one(pool)
    .await
}
