//! The `X-Hub-Signature-256` webhook signature: HMAC-SHA256 of the raw body, hex-encoded.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header GitHub puts the signature in.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Signs `body` as GitHub does: `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = new_mac(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request carried no `X-Hub-Signature-256` header.
    #[error("missing X-Hub-Signature-256 header: the webhook must be configured with a secret")]
    Missing,
    /// The header is not of the form `sha256=<64 hex digits>`.
    #[error("malformed X-Hub-Signature-256 header: expected sha256=<64 hex digits>")]
    Malformed,
    /// The signature does not match the body under any configured secret.
    #[error("X-Hub-Signature-256 does not match the body under the configured webhook secret")]
    Mismatch,
}

/// Checks `header` against `body` under each secret in turn (the current one and, during a
/// rotation, the previous one). The comparison is constant-time.
pub fn verify<'a>(
    secrets: impl IntoIterator<Item = &'a SecretString>,
    header: Option<&[u8]>,
    body: &[u8],
) -> Result<(), SignatureError> {
    verify_digest(secrets, &parse_header(header)?, body)
}

/// The digest a header carries, checked for form only (before the body it signs is read).
pub fn parse_header(header: Option<&[u8]>) -> Result<[u8; 32], SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    let mut digest = [0; 32];
    hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| SignatureError::Malformed)?;
    Ok(digest)
}

/// Checks a digest from [`parse_header`] against `body` under each secret in turn, in
/// constant time.
pub fn verify_digest<'a>(
    secrets: impl IntoIterator<Item = &'a SecretString>,
    digest: &[u8; 32],
    body: &[u8],
) -> Result<(), SignatureError> {
    for secret in secrets {
        let mut mac = new_mac(secret);
        mac.update(body);
        if mac.verify_slice(digest).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

fn new_mac(secret: &SecretString) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GITHUB_SECRET: &str = "It's a Secret to Everybody";
    const GITHUB_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn signs_githubs_documented_test_vector() {
        assert_eq!(
            sign(&secret(GITHUB_SECRET), b"Hello, World!"),
            GITHUB_SIGNATURE
        );
    }

    #[test]
    fn accepts_githubs_documented_test_vector() {
        let secrets = [secret(GITHUB_SECRET)];
        assert_eq!(
            verify(
                &secrets,
                Some(GITHUB_SIGNATURE.as_bytes()),
                b"Hello, World!"
            ),
            Ok(())
        );
    }

    #[test]
    fn accepts_the_previous_secret_during_a_rotation() {
        let secrets = [secret("the new one"), secret(GITHUB_SECRET)];
        assert_eq!(
            verify(
                &secrets,
                Some(GITHUB_SIGNATURE.as_bytes()),
                b"Hello, World!"
            ),
            Ok(())
        );
    }

    #[test]
    fn refuses_missing_malformed_and_wrong_signatures() {
        let secrets = [secret(GITHUB_SECRET)];
        let body = b"Hello, World!";
        assert_eq!(verify(&secrets, None, body), Err(SignatureError::Missing));
        assert_eq!(
            verify(&secrets, Some(b"sha1=abc"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&secrets, Some(b"sha256=zz"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(
                &secrets,
                Some(GITHUB_SIGNATURE.as_bytes()),
                b"Hello, World?"
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[], Some(GITHUB_SIGNATURE.as_bytes()), body),
            Err(SignatureError::Mismatch)
        );
    }
}
