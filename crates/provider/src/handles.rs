//! Opaque handles (codes, refresh tokens, session cookies): 256 random bits, given to their
//! holder, stored only as a hash.

use gatehouse_registry::grant::SecretHashKey;
use gatehouse_registry::SecretValue;
use ring::hmac;

use crate::error::ProtocolError;

/// A new handle and the key it is stored under.
pub fn new_handle() -> Result<(SecretValue, SecretHashKey), ProtocolError> {
    let value = SecretValue::generate().map_err(ProtocolError::server)?;
    let key = value.hash().into();
    Ok((value, key))
}

/// The key a presented handle is looked up by.
pub fn key_of(value: &str) -> SecretHashKey {
    SecretValue::new(value).hash().into()
}

/// The successor of a refresh token: HMAC of the token under a server-only key. A retry
/// within the grace window derives the same successor without the server ever storing a
/// live token; without the key, holding an old token does not reveal its successor.
pub fn successor(key: &hmac::Key, token: &str) -> SecretValue {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    SecretValue::new(URL_SAFE_NO_PAD.encode(hmac::sign(key, token.as_bytes())))
}

/// `at_hash` / `c_hash` (OIDC Core §3.1.3.6, §3.3.2.11): the left half of the SHA-256 of the
/// value, base64url. Both our algorithms (ES256, RS256) hash with SHA-256.
pub fn half_hash(value: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let d = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors_are_stable_and_keyed() {
        let a = hmac::Key::new(hmac::HMAC_SHA256, b"key a");
        let b = hmac::Key::new(hmac::HMAC_SHA256, b"key b");
        assert_eq!(successor(&a, "t").expose(), successor(&a, "t").expose());
        assert_ne!(successor(&a, "t").expose(), successor(&b, "t").expose());
    }

    #[test]
    fn half_hash_agrees_with_openidconnect() {
        use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
        use openidconnect::{AccessToken, AccessTokenHash};
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnzrhLNZ2E9dI7dWT4Ng";
        let key = CoreJsonWebKey::new_rsa(vec![1], vec![1], None);
        let theirs = AccessTokenHash::from_token(
            &AccessToken::new(token.into()),
            &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            &key,
        )
        .expect("hash");
        assert_eq!(half_hash(token), theirs.to_string());
    }
}
