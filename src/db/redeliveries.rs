//! The `redelivery_requests` table: failed deliveries the catch-up job asked GitHub to send
//! again.

use super::{Conn, Pool};
use crate::time::Millis;

/// How often, and when last, a delivery was asked for again.
pub async fn get(pool: &Pool, guid: &str) -> sqlx::Result<Option<(i64, Millis)>> {
    sqlx::query_as("SELECT requests, requested_at FROM redelivery_requests WHERE guid = $1")
        .bind(guid)
        .fetch_optional(pool)
        .await
}

/// Records one more request for a delivery.
pub async fn record(
    conn: &mut Conn,
    guid: &str,
    hook_delivery_id: u64,
    now: Millis,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO redelivery_requests (guid, hook_delivery_id, requests, requested_at)
         VALUES ($1, $2, 1, $3)
         ON CONFLICT (guid) DO UPDATE SET
             hook_delivery_id = excluded.hook_delivery_id,
             requests = redelivery_requests.requests + 1,
             requested_at = excluded.requested_at",
    )
    .bind(guid)
    .bind(i64::try_from(hook_delivery_id).unwrap_or(i64::MAX))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
