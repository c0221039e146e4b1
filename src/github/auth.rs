//! Authenticating as the App (an RS256 JWT, issued-at backdated 60 s for clock skew, expiring
//! within ten minutes) and as its installations (access tokens, cached per installation and
//! replaced five minutes before they expire).

use super::client::{Auth, GithubClient};
use super::error::GithubError;
use super::ids::{AppId, InstallationId};
use crate::time::{Millis, parse_rfc3339_ms};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How far back the JWT's issued-at is set, for clocks running ahead of GitHub's.
const JWT_BACKDATE_SECS: i64 = 60;
/// How long after now the JWT expires (GitHub allows at most ten minutes after issued-at).
const JWT_LIFETIME_SECS: i64 = 9 * 60;
/// A cached JWT is replaced once it is this old.
const JWT_REUSE_MS: Millis = 5 * 60 * 1000;
/// A cached installation token is replaced when it has less than this left.
pub const TOKEN_REFRESH_BEFORE_MS: Millis = 5 * 60 * 1000;

/// The App's identity: its id and private key.
pub struct AppAuth {
    id: AppId,
    key: EncodingKey,
    jwt: Mutex<Option<(String, Millis)>>,
}

impl std::fmt::Debug for AppAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppAuth")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct Claims {
    iat: i64,
    exp: i64,
    iss: u64,
}

impl AppAuth {
    /// The App `id` with its PEM private key.
    pub fn new(id: AppId, private_key_pem: &[u8]) -> Result<Self, GithubError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem).map_err(|err| GithubError::Other {
            status: 0,
            message: format!("the App's private key is not an RSA key in PEM format: {err}"),
        })?;
        Ok(Self {
            id,
            key,
            jwt: Mutex::new(None),
        })
    }

    /// The App's id.
    pub fn id(&self) -> AppId {
        self.id
    }

    /// A JWT to call the API as the App, as of `now`.
    pub fn jwt(&self, now: Millis) -> Result<String, GithubError> {
        let mut cached = self.jwt.lock().expect("jwt lock");
        if let Some((jwt, issued)) = cached.as_ref()
            && now - issued < JWT_REUSE_MS
            && now >= *issued
        {
            return Ok(jwt.clone());
        }
        let secs = now / 1000;
        let claims = Claims {
            iat: secs - JWT_BACKDATE_SECS,
            exp: secs + JWT_LIFETIME_SECS,
            iss: self.id.0,
        };
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|err| GithubError::Other {
                status: 0,
                message: format!("cannot sign the App's JWT: {err}"),
            })?;
        *cached = Some((jwt.clone(), now));
        Ok(jwt)
    }
}

#[derive(Debug)]
struct Cached {
    token: SecretString,
    expires_at: Millis,
}

/// Installation tokens by installation. One fetch at a time per installation, so concurrent
/// jobs share a fresh token instead of minting one each.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<InstallationId, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    token: String,
    expires_at: String,
}

impl TokenCache {
    /// A token for `installation` with at least five minutes left.
    pub async fn get(
        &self,
        client: &GithubClient,
        installation: InstallationId,
    ) -> Result<SecretString, GithubError> {
        let slot = self
            .entries
            .lock()
            .expect("token cache lock")
            .entry(installation)
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        let now = client.clock().now_ms();
        if let Some(token) = cached.as_ref()
            && token.expires_at - now > TOKEN_REFRESH_BEFORE_MS
        {
            return Ok(token.token.clone());
        }
        let path = format!("/app/installations/{installation}/access_tokens");
        // Boxed: sending as an installation may come back here for the token.
        let response =
            Box::pin(client.send(http::Method::POST, Auth::App, &path, Some(b"{}".to_vec())))
                .await?;
        let answer: TokenAnswer = response.json(&path)?;
        let expires_at =
            parse_rfc3339_ms(&answer.expires_at).ok_or_else(|| GithubError::Decode {
                what: path.clone(),
                message: format!("expires_at `{}` is not a timestamp", answer.expires_at),
            })?;
        metrics::counter!("globallm_github_installation_tokens_total").increment(1);
        let token = SecretString::from(answer.token);
        *cached = Some(Cached {
            token: token.clone(),
            expires_at,
        });
        Ok(token)
    }

    /// Drops the cached token (GitHub refused it).
    pub fn forget(&self, installation: InstallationId) {
        let slot = self
            .entries
            .lock()
            .expect("token cache lock")
            .remove(&installation);
        drop(slot);
    }
}
