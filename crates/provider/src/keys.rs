//! Signing keys: generated on first start, persisted, rotated without downtime.
//!
//! JWS compact serialisation (RFC 7515 §7.1) is done here over ring. We sign with parsed
//! key pairs held in memory; a JWT library that re-parses the PKCS#8 key on every
//! signature would double the cost of each token (see docs/decisions.md).

use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_registry::store::KeyStore;
use gatehouse_registry::SigningKeyRecord;
use openidconnect::core::{CoreJsonCurveType, CoreJsonWebKey, CoreJsonWebKeySet};
use openidconnect::JsonWebKeyId;
use ring::digest::{digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::ProtocolError;

/// The algorithms this server signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Alg {
    ES256,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::ES256),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct LoadedKey {
    kid: String,
    alg: Alg,
    pair: EcdsaKeyPair,
    retired: Option<OffsetDateTime>,
}

impl LoadedKey {
    fn from_record(r: &SigningKeyRecord) -> Result<Self, ProtocolError> {
        let alg =
            Alg::parse(&r.alg).ok_or_else(|| ProtocolError::server(format!("unknown key algorithm {}", r.alg)))?;
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &r.private_der, &SystemRandom::new())
                .map_err(|e| ProtocolError::server(format!("stored key {} is unreadable: {e}", r.kid)))?;
        Ok(Self { kid: r.kid.clone(), alg, pair, retired: r.retired })
    }

    /// The uncompressed P-256 point is 0x04 || X || Y.
    fn xy(&self) -> (&[u8], &[u8]) {
        let point = self.pair.public_key().as_ref();
        (&point[1..33], &point[33..65])
    }

    fn jwk(&self) -> CoreJsonWebKey {
        let (x, y) = self.xy();
        CoreJsonWebKey::new_ec(
            x.to_vec(),
            y.to_vec(),
            CoreJsonCurveType::P256,
            Some(JsonWebKeyId::new(self.kid.clone())),
        )
    }
}

/// RFC 7638 thumbprint of a P-256 public key, used as its `kid`.
fn thumbprint(x: &[u8], y: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(x),
        URL_SAFE_NO_PAD.encode(y)
    );
    URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()))
}

fn generate(alg: Alg, now: OffsetDateTime) -> Result<SigningKeyRecord, ProtocolError> {
    match alg {
        Alg::ES256 => {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|e| ProtocolError::server(format!("key generation failed: {e}")))?;
            let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .map_err(|e| ProtocolError::server(format!("key generation failed: {e}")))?;
            let point = pair.public_key().as_ref();
            Ok(SigningKeyRecord {
                kid: thumbprint(&point[1..33], &point[33..65]),
                alg: alg.as_str().into(),
                private_der: pkcs8.as_ref().to_vec(),
                created: now,
                retired: None,
            })
        }
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(Deserialize)]
struct ParsedHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

/// The keys in force: the newest of each algorithm signs, every published one verifies.
#[derive(Debug)]
pub struct KeyRing {
    keys: RwLock<Arc<Vec<LoadedKey>>>,
    /// How long a retired key stays published: the longest lifetime of what it signed.
    publish_after_retirement: Duration,
}

impl KeyRing {
    /// Loads the stored keys, generating and storing a first key if there is none.
    pub async fn load(
        store: &dyn KeyStore,
        now: OffsetDateTime,
        publish_after_retirement: Duration,
    ) -> Result<Self, ProtocolError> {
        let ring = Self { keys: RwLock::new(Arc::new(Vec::new())), publish_after_retirement };
        ring.reload(store).await?;
        if ring.current(Alg::ES256).is_err() {
            store.rotate_signing_key(generate(Alg::ES256, now)?, now).await?;
            ring.reload(store).await?;
        }
        Ok(ring)
    }

    /// Reads the keys again from the store (after a rotation, here or by another instance).
    pub async fn reload(&self, store: &dyn KeyStore) -> Result<(), ProtocolError> {
        let loaded = store.signing_keys().await?.iter().map(LoadedKey::from_record).collect::<Result<Vec<_>, _>>()?;
        *self.keys.write().map_err(|_| ProtocolError::server("key ring lock poisoned"))? = Arc::new(loaded);
        Ok(())
    }

    /// Makes a new key the signer; the old one keeps verifying until what it signed has
    /// expired, then is pruned. Returns the new key id.
    pub async fn rotate(&self, store: &dyn KeyStore, alg: Alg, now: OffsetDateTime) -> Result<String, ProtocolError> {
        let record = generate(alg, now)?;
        let kid = record.kid.clone();
        store.rotate_signing_key(record, now).await?;
        store.prune_signing_keys(now - self.publish_after_retirement).await?;
        self.reload(store).await?;
        Ok(kid)
    }

    fn snapshot(&self) -> Result<Arc<Vec<LoadedKey>>, ProtocolError> {
        self.keys.read().map(|k| Arc::clone(&k)).map_err(|_| ProtocolError::server("key ring lock poisoned"))
    }

    fn current(&self, alg: Alg) -> Result<String, ProtocolError> {
        self.snapshot()?
            .iter()
            .rev()
            .find(|k| k.alg == alg && k.retired.is_none())
            .map(|k| k.kid.clone())
            .ok_or_else(|| ProtocolError::server(format!("no signing key for {}", alg.as_str())))
    }

    /// Signs `claims` as a compact JWS with the current key of `alg`.
    pub fn sign<C: Serialize>(&self, alg: Alg, typ: &str, claims: &C) -> Result<String, ProtocolError> {
        let keys = self.snapshot()?;
        let key = keys
            .iter()
            .rev()
            .find(|k| k.alg == alg && k.retired.is_none())
            .ok_or_else(|| ProtocolError::server(format!("no signing key for {}", alg.as_str())))?;
        let header =
            serde_json::to_vec(&Header { alg: alg.as_str(), typ, kid: &key.kid }).map_err(ProtocolError::server)?;
        let payload = serde_json::to_vec(claims).map_err(ProtocolError::server)?;
        let mut jws = URL_SAFE_NO_PAD.encode(header);
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let sig = key.pair.sign(&SystemRandom::new(), jws.as_bytes()).map_err(ProtocolError::server)?;
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(sig.as_ref()));
        Ok(jws)
    }

    /// Verifies a compact JWS signed by one of our published keys and of type `typ`;
    /// returns its payload. Says nothing of expiry: the caller checks claims.
    pub fn verify(&self, token: &str, typ: &str) -> Result<Vec<u8>, VerifyError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(VerifyError::Malformed);
        };
        let header: ParsedHeader = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(VerifyError::Malformed)?;
        if header.typ.as_deref() != Some(typ) {
            return Err(VerifyError::WrongType);
        }
        let keys = self.snapshot().map_err(|_| VerifyError::UnknownKey)?;
        let key = keys
            .iter()
            .find(|k| Some(k.kid.as_str()) == header.kid.as_deref() && k.alg.as_str() == header.alg)
            .ok_or(VerifyError::UnknownKey)?;
        let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| VerifyError::Malformed)?;
        let signing_input = &token[..h.len() + 1 + p.len()];
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, key.pair.public_key().as_ref())
            .verify(signing_input.as_bytes(), &sig)
            .map_err(|_| VerifyError::BadSignature)?;
        URL_SAFE_NO_PAD.decode(p).map_err(|_| VerifyError::Malformed)
    }

    /// The JWKS: every key that may still verify a live token.
    pub fn jwks(&self, now: OffsetDateTime) -> Result<CoreJsonWebKeySet, ProtocolError> {
        let keys = self.snapshot()?;
        Ok(CoreJsonWebKeySet::new(
            keys.iter()
                .filter(|k| k.retired.is_none_or(|r| now < r + self.publish_after_retirement))
                .map(LoadedKey::jwk)
                .collect(),
        ))
    }
}

/// Why a token did not verify. Never shown to a client beyond "invalid token".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    Malformed,
    WrongType,
    UnknownKey,
    BadSignature,
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_registry::store::memory::MemoryStore;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    #[tokio::test]
    async fn first_load_generates_one_key_and_restarts_keep_it() {
        let store = MemoryStore::new();
        let ring = KeyRing::load(&store, NOW, Duration::hours(1)).await.expect("load");
        let again = KeyRing::load(&store, NOW, Duration::hours(1)).await.expect("load");
        assert_eq!(store.signing_keys().await.expect("keys").len(), 1);
        let token = ring.sign(Alg::ES256, "at+jwt", &serde_json::json!({"a": 1})).expect("sign");
        assert_eq!(again.verify(&token, "at+jwt").expect("verify"), br#"{"a":1}"#);
    }

    #[tokio::test]
    async fn tampering_and_wrong_type_fail() {
        let store = MemoryStore::new();
        let ring = KeyRing::load(&store, NOW, Duration::hours(1)).await.expect("load");
        let token = ring.sign(Alg::ES256, "at+jwt", &serde_json::json!({"sub": "a"})).expect("sign");
        assert_eq!(ring.verify(&token, "JWT"), Err(VerifyError::WrongType));
        let (head, rest) = token.split_once('.').expect("dot");
        let (_, sig) = rest.split_once('.').expect("dot");
        let forged = format!("{head}.{}.{sig}", URL_SAFE_NO_PAD.encode(br#"{"sub":"b"}"#));
        assert_eq!(ring.verify(&forged, "at+jwt"), Err(VerifyError::BadSignature));
        assert_eq!(ring.verify("a.b", "at+jwt"), Err(VerifyError::Malformed));
    }

    #[tokio::test]
    async fn rotation_keeps_old_tokens_valid_until_their_keys_age_out() {
        let store = MemoryStore::new();
        let ring = KeyRing::load(&store, NOW, Duration::hours(1)).await.expect("load");
        let old = ring.sign(Alg::ES256, "at+jwt", &serde_json::json!({})).expect("sign");
        let kid = ring.rotate(&store, Alg::ES256, NOW).await.expect("rotate");
        let new = ring.sign(Alg::ES256, "at+jwt", &serde_json::json!({})).expect("sign");
        assert!(new.starts_with(&URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#))));
        assert!(ring.verify(&old, "at+jwt").is_ok());
        assert_eq!(ring.jwks(NOW).expect("jwks").keys().len(), 2);
        assert_eq!(ring.jwks(NOW + Duration::hours(2)).expect("jwks").keys().len(), 1);
        ring.rotate(&store, Alg::ES256, NOW + Duration::hours(2)).await.expect("rotate");
        assert_eq!(ring.verify(&old, "at+jwt"), Err(VerifyError::UnknownKey));
    }
}
