//! Session tokens: `<player>.<expires-at>.<signature>`.
//!
//! The signature is a keyed FNV-1a hash. It stops accidental tampering in
//! this demo platform; it is NOT a cryptographic MAC.

use std::fmt;

/// What a valid token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub player: String,
    pub expires_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "malformed token",
            TokenError::BadSignature => "bad token signature",
            TokenError::Expired => "token expired",
        })
    }
}

impl std::error::Error for TokenError {}

fn signature(secret: &str, player: &str, expires_at: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let message = format!("{secret}\u{0}{player}\u{0}{expires_at}");
    for byte in message.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Issues a token for `player` valid until `expires_at` (unix seconds).
///
/// ```
/// let token = auth_service::issue("secret", "alice", 2_000);
/// assert!(token.starts_with("alice.2000."));
/// assert_eq!(auth_service::validate("secret", &token, 1_000).unwrap().player, "alice");
/// ```
pub fn issue(secret: &str, player: &str, expires_at: u64) -> String {
    format!(
        "{player}.{expires_at}.{:016x}",
        signature(secret, player, expires_at)
    )
}

/// Checks a token's shape, signature and expiry against `now`.
pub fn validate(secret: &str, token: &str, now: u64) -> Result<Claims, TokenError> {
    let mut parts = token.rsplitn(3, '.');
    let (sig, expires_at, player) = match (parts.next(), parts.next(), parts.next()) {
        (Some(sig), Some(exp), Some(player)) if !player.is_empty() => (sig, exp, player),
        _ => return Err(TokenError::Malformed),
    };
    let expires_at: u64 = expires_at.parse().map_err(|_| TokenError::Malformed)?;
    let sig = u64::from_str_radix(sig, 16).map_err(|_| TokenError::Malformed)?;
    if sig != signature(secret, player, expires_at) {
        return Err(TokenError::BadSignature);
    }
    if expires_at <= now {
        return Err(TokenError::Expired);
    }
    Ok(Claims {
        player: player.to_owned(),
        expires_at,
    })
}

/// Current unix time in seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The signing secret, from `AUTH_SECRET` (a fixed dev value otherwise).
pub fn secret_from_env() -> String {
    std::env::var("AUTH_SECRET").unwrap_or_else(|_| "dev-only-secret".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_validate() {
        let token = issue("s3cret", "alice.smith", 1_000);
        let claims = validate("s3cret", &token, 999).unwrap();
        assert_eq!(claims.player, "alice.smith");
        assert_eq!(claims.expires_at, 1_000);
    }

    #[test]
    fn rejects_bad_tokens() {
        let token = issue("s3cret", "bob", 1_000);
        assert_eq!(validate("other", &token, 0), Err(TokenError::BadSignature));
        assert_eq!(validate("s3cret", &token, 1_000), Err(TokenError::Expired));
        assert_eq!(validate("s3cret", "bob", 0), Err(TokenError::Malformed));
        assert_eq!(
            validate("s3cret", "bob.soon.abc", 0),
            Err(TokenError::Malformed)
        );
        let forged = token.replace("bob", "eve");
        assert_eq!(
            validate("s3cret", &forged, 0),
            Err(TokenError::BadSignature)
        );
    }
}
