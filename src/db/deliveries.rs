//! The `deliveries` table: every verified webhook delivery, stored before it is acknowledged.

use super::{Conn, Pool};
use crate::time::Millis;

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stored; its job has not finished yet.
    Queued,
    /// Its handler ran.
    Processed,
    /// Nothing to do for it (e.g. an action GlobalLM does not act on).
    Skipped,
    /// An event GlobalLM does not handle; stored and acknowledged only.
    Unsupported,
    /// Its job was dead-lettered.
    Failed,
}

impl Outcome {
    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Queued => "queued",
            Outcome::Processed => "processed",
            Outcome::Skipped => "skipped",
            Outcome::Unsupported => "unsupported",
            Outcome::Failed => "failed",
        }
    }
}

/// A delivery to store.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// `X-GitHub-Delivery`.
    pub guid: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// The payload's `action`, when it has one.
    pub action: Option<String>,
    /// The payload's `installation.id`, when it has one.
    pub installation_id: Option<i64>,
    /// The payload's `repository.full_name`, when it has one.
    pub repository: Option<String>,
    /// The request headers as a JSON object (the signature left out).
    pub headers: String,
    /// The raw body, byte for byte as signed.
    pub body: bytes::Bytes,
    /// When it arrived.
    pub received_at: Millis,
}

/// A stored delivery.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Delivery {
    /// Our row id.
    pub id: i64,
    /// `X-GitHub-Delivery`.
    pub delivery_guid: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// The payload's `action`.
    pub action: Option<String>,
    /// The payload's `installation.id`.
    pub installation_id: Option<i64>,
    /// The payload's `repository.full_name`.
    pub repository: Option<String>,
    /// When it arrived.
    pub received_at: Millis,
    /// `queued`, `processed`, `skipped`, `unsupported` or `failed`.
    pub outcome: String,
    /// Why it was skipped or failed.
    pub note: Option<String>,
    /// When its handler finished.
    pub processed_at: Option<Millis>,
}

/// Stores a delivery unless one with the same GUID exists; returns the new row's id, or `None`
/// for a duplicate.
pub async fn insert(
    conn: &mut Conn,
    delivery: &NewDelivery,
    outcome: Outcome,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO deliveries
             (delivery_guid, event, action, installation_id, repository, headers, body,
              received_at, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (delivery_guid) DO NOTHING
         RETURNING id",
    )
    .bind(&delivery.guid)
    .bind(&delivery.event)
    .bind(&delivery.action)
    .bind(delivery.installation_id)
    .bind(&delivery.repository)
    .bind(&delivery.headers)
    .bind(delivery.body.as_ref())
    .bind(delivery.received_at)
    .bind(outcome.as_str())
    .fetch_optional(conn)
    .await
}

/// Stores many deliveries in one statement. Returns, in order, each one's new row id, or
/// `None` for a duplicate (of an earlier delivery, or of one before it in the same list).
pub async fn insert_many(
    conn: &mut Conn,
    deliveries: &[(&NewDelivery, Outcome)],
) -> sqlx::Result<Vec<Option<i64>>> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::from(
        "INSERT INTO deliveries
             (delivery_guid, event, action, installation_id, repository, headers, body,
              received_at, outcome)
         VALUES ",
    );
    sql.push_str(&super::values_rows(deliveries.len(), 9));
    sql.push_str(" ON CONFLICT (delivery_guid) DO NOTHING RETURNING id, delivery_guid");
    // Only placeholders are spliced in; every value is bound. Rows go in GUID order: two
    // PostgreSQL replicas storing batches that share a GUID then wait for each other instead
    // of deadlocking (which would refuse both batches).
    let mut ordered: Vec<&(&NewDelivery, Outcome)> = deliveries.iter().collect();
    ordered.sort_by(|a, b| a.0.guid.cmp(&b.0.guid));
    let mut query = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
    for (delivery, outcome) in ordered {
        query = query
            .bind(&delivery.guid)
            .bind(&delivery.event)
            .bind(&delivery.action)
            .bind(delivery.installation_id)
            .bind(&delivery.repository)
            .bind(&delivery.headers)
            .bind(delivery.body.as_ref())
            .bind(delivery.received_at)
            .bind(outcome.as_str());
    }
    let mut inserted: std::collections::HashMap<String, i64> = query
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|(id, guid)| (guid, id))
        .collect();
    // A GUID twice in the list was inserted once: the first occurrence takes the id.
    Ok(deliveries
        .iter()
        .map(|(delivery, _)| inserted.remove(&delivery.guid))
        .collect())
}

/// One delivery's metadata.
pub async fn get(pool: &Pool, id: i64) -> sqlx::Result<Option<Delivery>> {
    sqlx::query_as(
        "SELECT id, delivery_guid, event, action, installation_id, repository, received_at,
                outcome, note, processed_at
         FROM deliveries WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// One delivery's metadata, by GitHub's GUID.
pub async fn get_by_guid(pool: &Pool, guid: &str) -> sqlx::Result<Option<Delivery>> {
    sqlx::query_as(
        "SELECT id, delivery_guid, event, action, installation_id, repository, received_at,
                outcome, note, processed_at
         FROM deliveries WHERE delivery_guid = $1",
    )
    .bind(guid)
    .fetch_optional(pool)
    .await
}

/// One delivery's metadata and raw body, in one query.
pub async fn get_with_body(pool: &Pool, id: i64) -> sqlx::Result<Option<(Delivery, Vec<u8>)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        delivery: Delivery,
        body: Vec<u8>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, delivery_guid, event, action, installation_id, repository, received_at,
                outcome, note, processed_at, body
         FROM deliveries WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.delivery, r.body)))
}

/// A delivery's raw body, as signed by GitHub.
pub async fn body(pool: &Pool, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT body FROM deliveries WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Records what became of a delivery.
pub async fn set_outcome(
    conn: &mut Conn,
    id: i64,
    outcome: Outcome,
    note: Option<&str>,
    now: Millis,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE deliveries SET outcome = $1, note = $2, processed_at = $3 WHERE id = $4")
        .bind(outcome.as_str())
        .bind(note)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The most recent deliveries, newest first.
pub async fn recent(pool: &Pool, limit: u32) -> sqlx::Result<Vec<Delivery>> {
    sqlx::query_as(
        "SELECT id, delivery_guid, event, action, installation_id, repository, received_at,
                outcome, note, processed_at
         FROM deliveries ORDER BY id DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

/// How many deliveries are stored.
pub async fn count(pool: &Pool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM deliveries")
        .fetch_one(pool)
        .await
}
