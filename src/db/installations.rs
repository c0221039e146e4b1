//! The `installations` and `repositories` tables: where the App is installed.

use super::{Conn, Pool};
use crate::github::ids::{InstallationId, RepoId};
use crate::time::Millis;

/// An installation as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Installation {
    /// GitHub's installation id.
    pub id: i64,
    /// The account it is installed on.
    pub account_login: String,
    /// `User` or `Organization`.
    pub account_type: String,
    /// `all` or `selected`.
    pub repository_selection: Option<String>,
    /// When it was suspended, while it is.
    pub suspended_at: Option<Millis>,
}

/// A repository the App is installed on.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct InstalledRepo {
    /// GitHub's repository id.
    pub id: i64,
    /// `owner/name`.
    pub full_name: String,
    /// Whether it is private.
    #[sqlx(try_from = "crate::db::Flag")]
    pub private: bool,
    /// The installation it belongs to.
    pub installation_id: Option<i64>,
}

/// The fields of an installation that events carry.
#[derive(Debug, Clone)]
pub struct InstallationFields<'a> {
    /// GitHub's installation id.
    pub id: InstallationId,
    /// The account it is installed on.
    pub account_login: &'a str,
    /// `User` or `Organization`.
    pub account_type: &'a str,
    /// `all` or `selected`.
    pub repository_selection: Option<&'a str>,
    /// Whether it is suspended.
    pub suspended: bool,
}

/// Creates or updates an installation.
pub async fn upsert(
    conn: &mut Conn,
    installation: &InstallationFields<'_>,
    now: Millis,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO installations
             (id, account_login, account_type, repository_selection, suspended_at,
              created_at, updated_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN $6 END, $6, $6)
         ON CONFLICT (id) DO UPDATE SET
             account_login = excluded.account_login,
             account_type = excluded.account_type,
             repository_selection = coalesce(excluded.repository_selection,
                                             installations.repository_selection),
             suspended_at = CASE WHEN $5 THEN coalesce(installations.suspended_at, $6) END,
             updated_at = $6",
    )
    .bind(installation.id.as_db())
    .bind(installation.account_login)
    .bind(installation.account_type)
    .bind(installation.repository_selection)
    .bind(installation.suspended)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets an installation; its repositories stay known but no longer installed.
pub async fn delete(conn: &mut Conn, id: InstallationId) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM installations WHERE id = $1")
        .bind(id.as_db())
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that the installation covers these repositories.
pub async fn add_repos(
    conn: &mut Conn,
    installation: InstallationId,
    repos: &[(RepoId, String, bool)],
    now: Millis,
) -> sqlx::Result<()> {
    for (id, full_name, private) in repos {
        sqlx::query(
            "INSERT INTO repositories (id, full_name, private, installation_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (id) DO UPDATE SET
                 full_name = excluded.full_name,
                 private = excluded.private,
                 installation_id = excluded.installation_id,
                 updated_at = excluded.updated_at",
        )
        .bind(id.as_db())
        .bind(full_name)
        .bind(i64::from(*private))
        .bind(installation.as_db())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records that the installation no longer covers these repositories.
pub async fn remove_repos(
    conn: &mut Conn,
    installation: InstallationId,
    repos: &[RepoId],
    now: Millis,
) -> sqlx::Result<()> {
    for id in repos {
        sqlx::query(
            "UPDATE repositories SET installation_id = NULL, updated_at = $1
             WHERE id = $2 AND installation_id = $3",
        )
        .bind(now)
        .bind(id.as_db())
        .bind(installation.as_db())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Every installation, by id.
pub async fn list(pool: &Pool) -> sqlx::Result<Vec<Installation>> {
    sqlx::query_as(
        "SELECT id, account_login, account_type, repository_selection, suspended_at
         FROM installations ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// The repositories an installation covers, by name.
pub async fn repos_of(pool: &Pool, id: InstallationId) -> sqlx::Result<Vec<InstalledRepo>> {
    sqlx::query_as(
        "SELECT id, full_name, private, installation_id FROM repositories
         WHERE installation_id = $1 ORDER BY full_name",
    )
    .bind(id.as_db())
    .fetch_all(pool)
    .await
}
