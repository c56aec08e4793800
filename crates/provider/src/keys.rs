//! Signing keys: generated on first start, persisted, rotated without downtime.
//!
//! JWS compact serialisation (RFC 7515 §7.1) is done here over ring. We sign with parsed
//! key pairs held in memory; a JWT library that re-parses the PKCS#8 key on every
//! signature would double the cost of each token (see docs/decisions.md).

use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_registry::store::KeyStore;
use gatehouse_registry::{IdTokenSigningAlg, SigningKeyRecord};
use openidconnect::core::{CoreJsonCurveType, CoreJsonWebKey, CoreJsonWebKeySet};
use openidconnect::JsonWebKeyId;
// Signatures use aws-lc-rs, ring's API on AWS-LC: an RSA-2048 signature costs 261 µs here
// against ring's 466 µs (decision 43); ES256 is alike in both.
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey};
use ring::digest::{digest, SHA256};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::ProtocolError;

/// The algorithms this server signs with: ES256 for access tokens; for ID tokens, RS256 by
/// default (OpenID Connect Core §15.1 requires it of every provider) or ES256, as each
/// client's `IdTokenSigningAlgorithm` says (decision 44).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Alg {
    ES256,
    RS256,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::ES256, Alg::RS256];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl From<IdTokenSigningAlg> for Alg {
    fn from(alg: IdTokenSigningAlg) -> Self {
        match alg {
            IdTokenSigningAlg::RS256 => Self::RS256,
            IdTokenSigningAlg::ES256 => Self::ES256,
        }
    }
}

#[derive(Debug)]
enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

#[derive(Debug)]
struct LoadedKey {
    kid: String,
    alg: Alg,
    pair: Pair,
    retired: Option<OffsetDateTime>,
    /// Its public JWK, built once.
    jwk: CoreJsonWebKey,
}

fn unreadable(kid: &str, e: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::server(format!("key {kid} is unreadable: {e}"))
}

impl LoadedKey {
    fn from_parts(kid: String, alg: Alg, der: &[u8], retired: Option<OffsetDateTime>) -> Result<Self, ProtocolError> {
        let pair = match alg {
            Alg::ES256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| unreadable(&kid, e))?,
            ),
            Alg::RS256 => Pair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|e| unreadable(&kid, e))?),
        };
        let jwk = public_jwk(&kid, alg, &pair)?;
        Ok(Self { kid, alg, pair, retired, jwk })
    }

    fn from_record(r: &SigningKeyRecord) -> Result<Self, ProtocolError> {
        let alg =
            Alg::parse(&r.alg).ok_or_else(|| ProtocolError::server(format!("unknown key algorithm {}", r.alg)))?;
        Self::from_parts(r.kid.clone(), alg, &r.private_der, r.retired)
    }

    /// RFC 7638 thumbprint, used as the `kid`.
    fn thumbprint(&self) -> String {
        let (a, b) = members(&self.pair);
        let (a, b) = (URL_SAFE_NO_PAD.encode(a), URL_SAFE_NO_PAD.encode(b));
        let canonical = match self.pair {
            Pair::Ec(_) => format!(r#"{{"crv":"P-256","kty":"EC","x":"{a}","y":"{b}"}}"#),
            Pair::Rsa(_) => format!(r#"{{"e":"{a}","kty":"RSA","n":"{b}"}}"#),
        };
        URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Ec(p) => p.sign(&rng, message).map(|s| s.as_ref().to_vec()).map_err(ProtocolError::server),
            Pair::Rsa(p) => {
                let mut sig = vec![0; p.public_modulus_len()];
                p.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig).map_err(ProtocolError::server)?;
                Ok(sig)
            }
        }
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.pair {
            Pair::Ec(p) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, p.public_key().as_ref())
                .verify(message, sig)
                .is_ok(),
            Pair::Rsa(p) => UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, p.public_key().as_ref())
                .verify(message, sig)
                .is_ok(),
        }
    }
}

/// The public key's two JOSE members, in RFC 7638's lexicographic order:
/// (x, y) for EC, (e, n) for RSA.
fn members(pair: &Pair) -> (Vec<u8>, Vec<u8>) {
    match pair {
        // The uncompressed P-256 point is 0x04 || X || Y.
        Pair::Ec(p) => {
            let point = p.public_key().as_ref();
            (point[1..33].to_vec(), point[33..65].to_vec())
        }
        Pair::Rsa(p) => {
            let c = PublicKeyComponents::<Vec<u8>>::from(p.public_key());
            (c.e, c.n)
        }
    }
}

/// The public JWK of a key pair, with `use: sig` and its `alg` (RFC 7517 §4.2, §4.4), so that
/// a relying party given a token's `kid` knows which algorithm the key verifies.
/// openidconnect's constructors set `use` but leave `alg` out, and its fields are private:
/// `alg` goes in through its own deserialiser.
fn public_jwk(kid: &str, alg: Alg, pair: &Pair) -> Result<CoreJsonWebKey, ProtocolError> {
    let (a, b) = members(pair);
    let id = Some(JsonWebKeyId::new(kid.to_owned()));
    let jwk = match pair {
        Pair::Ec(_) => CoreJsonWebKey::new_ec(a, b, CoreJsonCurveType::P256, id),
        Pair::Rsa(_) => CoreJsonWebKey::new_rsa(b, a, id),
    };
    let mut value = serde_json::to_value(jwk).map_err(ProtocolError::server)?;
    if let Some(members) = value.as_object_mut() {
        members.insert("alg".into(), alg.as_str().into());
    }
    serde_json::from_value(value).map_err(ProtocolError::server)
}

/// A new private key as PKCS#8 DER. ring cannot generate RSA keys, so the `rsa` crate does
/// that, and only that: ring signs.
fn generate(alg: Alg, now: OffsetDateTime) -> Result<SigningKeyRecord, ProtocolError> {
    let failed = |e: &dyn std::fmt::Display| ProtocolError::server(format!("key generation failed: {e}"));
    let der = match alg {
        Alg::ES256 => EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|e| failed(&e))?
            .as_ref()
            .to_vec(),
        Alg::RS256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).map_err(|e| failed(&e))?;
            key.to_pkcs8_der().map_err(|e| failed(&e))?.as_bytes().to_vec()
        }
    };
    let loaded = LoadedKey::from_parts(String::new(), alg, &der, None)?;
    Ok(SigningKeyRecord {
        kid: loaded.thumbprint(),
        alg: alg.as_str().into(),
        private_der: der,
        created: now,
        retired: None,
    })
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

/// How long a new key is published before it signs, so that relying parties that cached
/// the JWKS (we allow 60 s) and other instances (they look every second) know it first.
pub const PUBLISH_AHEAD: Duration = Duration::minutes(5);

/// The keys in force. Of each algorithm, the oldest key not yet retired signs; a rotation
/// adds a key and schedules the old one's retirement [`PUBLISH_AHEAD`] later, so the new
/// key is published before it signs. Every published key verifies.
#[derive(Debug)]
pub struct KeyRing {
    keys: RwLock<Arc<Vec<LoadedKey>>>,
    /// How long a retired key stays published: the longest lifetime of what it signed.
    publish_after_retirement: Duration,
}

impl LoadedKey {
    fn signs_at(&self, alg: Alg, now: OffsetDateTime) -> bool {
        self.alg == alg && self.retired.is_none_or(|r| now < r)
    }
}

impl KeyRing {
    /// Loads the stored keys, generating and storing a first key of each algorithm that
    /// has none.
    pub async fn load(
        store: &dyn KeyStore,
        now: OffsetDateTime,
        publish_after_retirement: Duration,
    ) -> Result<Self, ProtocolError> {
        let ring = Self { keys: RwLock::new(Arc::new(Vec::new())), publish_after_retirement };
        ring.reload(store).await?;
        for alg in Alg::ALL {
            // Of instances starting at once on an empty store, one key per algorithm is kept;
            // the others read it.
            if ring.signer(alg, now).is_err() {
                store.add_first_signing_key(generate(alg, now)?).await?;
                ring.reload(store).await?;
            }
        }
        Ok(ring)
    }

    /// Reads the keys again from the store (after a rotation, here or by another instance).
    /// Keys are parsed again only when the stored set differs (ids and retirements), so a
    /// server can afford to look every second.
    pub async fn reload(&self, store: &dyn KeyStore) -> Result<(), ProtocolError> {
        let records = store.signing_keys().await?;
        let unchanged = {
            let current = self.keys.read().map_err(|_| ProtocolError::server("key ring lock poisoned"))?;
            current.len() == records.len()
                && current.iter().zip(&records).all(|(k, r)| k.kid == r.kid && k.retired == r.retired)
        };
        if unchanged {
            return Ok(());
        }
        let loaded = records.iter().map(LoadedKey::from_record).collect::<Result<Vec<_>, _>>()?;
        *self.keys.write().map_err(|_| ProtocolError::server("key ring lock poisoned"))? = Arc::new(loaded);
        Ok(())
    }

    /// Adds a new key of each algorithm, which signs from [`PUBLISH_AHEAD`] on; old ones
    /// keep verifying until what they signed has expired, then are pruned. Returns the new
    /// key ids.
    /// `audit` makes each new key's event from its kid and algorithm.
    pub async fn rotate(
        &self,
        store: &dyn KeyStore,
        now: OffsetDateTime,
        audit: &dyn Fn(&str, &str) -> gatehouse_registry::audit::AuditEvent,
    ) -> Result<Vec<String>, ProtocolError> {
        let mut kids = Vec::new();
        for alg in Alg::ALL {
            let record = generate(alg, now)?;
            kids.push(record.kid.clone());
            let event = audit(&record.kid, alg.as_str());
            store.rotate_signing_key(record, now + PUBLISH_AHEAD, Some(&event)).await?;
        }
        store.prune_signing_keys(now - self.publish_after_retirement).await?;
        self.reload(store).await?;
        Ok(kids)
    }

    fn snapshot(&self) -> Result<Arc<Vec<LoadedKey>>, ProtocolError> {
        self.keys.read().map(|k| Arc::clone(&k)).map_err(|_| ProtocolError::server("key ring lock poisoned"))
    }

    /// The id of the key of `alg` that signs at `now`: the oldest not yet retired.
    fn signer(&self, alg: Alg, now: OffsetDateTime) -> Result<String, ProtocolError> {
        self.snapshot()?
            .iter()
            .find(|k| k.signs_at(alg, now))
            .map(|k| k.kid.clone())
            .ok_or_else(|| ProtocolError::server(format!("no signing key for {}", alg.as_str())))
    }

    /// Signs `claims` as a compact JWS with the key of `alg` that signs at `now`.
    pub fn sign<C: Serialize>(
        &self,
        alg: Alg,
        typ: &str,
        claims: &C,
        now: OffsetDateTime,
    ) -> Result<String, ProtocolError> {
        let payload = serde_json::to_vec(claims).map_err(ProtocolError::server)?;
        self.sign_payload(alg, typ, &payload, now)
    }

    /// Signs `payload`, byte for byte, as a compact JWS with the key of `alg` that signs at
    /// `now`. [`sign`](Self::sign) serialises claims into it; the fuzz targets
    /// (crates/fuzzing) sign payloads of their own, so that the claim checks behind the
    /// signature are reached too.
    pub fn sign_payload(
        &self,
        alg: Alg,
        typ: &str,
        payload: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, ProtocolError> {
        let keys = self.snapshot()?;
        let key = keys
            .iter()
            .find(|k| k.signs_at(alg, now))
            .ok_or_else(|| ProtocolError::server(format!("no signing key for {}", alg.as_str())))?;
        let header =
            serde_json::to_vec(&Header { alg: alg.as_str(), typ, kid: &key.kid }).map_err(ProtocolError::server)?;
        let mut jws = URL_SAFE_NO_PAD.encode(header);
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let sig = key.sign(jws.as_bytes())?;
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(sig));
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
        if !key.verify(signing_input.as_bytes(), &sig) {
            return Err(VerifyError::BadSignature);
        }
        URL_SAFE_NO_PAD.decode(p).map_err(|_| VerifyError::Malformed)
    }

    /// The JWKS: every key that may still verify a live token.
    pub fn jwks(&self, now: OffsetDateTime) -> Result<CoreJsonWebKeySet, ProtocolError> {
        let keys = self.snapshot()?;
        Ok(CoreJsonWebKeySet::new(
            keys.iter()
                .filter(|k| k.retired.is_none_or(|r| now < r + self.publish_after_retirement))
                .map(|k| k.jwk.clone())
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

    fn test_event(kid: &str, alg: &str) -> gatehouse_registry::audit::AuditEvent {
        use gatehouse_registry::audit::{Actor, AuditAction, AuditEvent, Origin};
        AuditEvent::new(None, NOW, Actor::System("test".into()), AuditAction::KeysRotate, kid, &Origin::command())
            .with_detail(alg)
    }

    #[tokio::test]
    async fn first_load_generates_one_key_and_restarts_keep_it() {
        let store = MemoryStore::new();
        let ring = KeyRing::load(&store, NOW, Duration::hours(1)).await.expect("load");
        let again = KeyRing::load(&store, NOW, Duration::hours(1)).await.expect("load");
        assert_eq!(store.signing_keys().await.expect("keys").len(), 2, "one ES256 and one RS256");
        let token = ring.sign(Alg::ES256, "at+jwt", &serde_json::json!({"a": 1}), NOW).expect("sign");
        assert_eq!(again.verify(&token, "at+jwt").expect("verify"), br#"{"a":1}"#);
    }

    #[tokio::test]
    async fn rs256_signs_and_verifies() {
        let store = MemoryStore::new();
        let ring = KeyRing::load(&store, NOW, Duration::hours(1)).await.expect("load");
        let token = ring.sign(Alg::RS256, "JWT", &serde_json::json!({"sub": "a"}), NOW).expect("sign");
        assert_eq!(ring.verify(&token, "JWT").expect("verify"), br#"{"sub":"a"}"#);
        let jwks = serde_json::to_value(ring.jwks(NOW).expect("jwks")).expect("json");
        assert!(jwks["keys"].as_array().expect("keys").iter().any(|k| k["kty"] == "RSA" && k["e"] == "AQAB"));
    }

    /// Each published key says what it is for: `use: sig` and its `alg`, so that an RP picks
    /// it by `kid` for either ID token algorithm.
    #[tokio::test]
    async fn published_keys_carry_use_and_alg() {
        let store = MemoryStore::new();
        let ring = KeyRing::load(&store, NOW, Duration::hours(1)).await.expect("load");
        let jwks = serde_json::to_value(ring.jwks(NOW).expect("jwks")).expect("json");
        let mut seen: Vec<(String, String, String)> = jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| {
                let s = |m: &str| k[m].as_str().expect(m).to_owned();
                (s("kty"), s("use"), s("alg"))
            })
            .collect();
        seen.sort();
        let expected =
            [("EC", "sig", "ES256"), ("RSA", "sig", "RS256")].map(|(a, b, c)| (a.into(), b.into(), c.into()));
        assert_eq!(seen, expected);
        for alg in Alg::ALL {
            let token = ring.sign(alg, "JWT", &serde_json::json!({"sub": "a"}), NOW).expect("sign");
            assert!(ring.verify(&token, "JWT").is_ok(), "{alg:?}");
        }
    }

    #[tokio::test]
    async fn tampering_and_wrong_type_fail() {
        let store = MemoryStore::new();
        let ring = KeyRing::load(&store, NOW, Duration::hours(1)).await.expect("load");
        let token = ring.sign(Alg::ES256, "at+jwt", &serde_json::json!({"sub": "a"}), NOW).expect("sign");
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
        let old = ring.sign(Alg::ES256, "at+jwt", &serde_json::json!({}), NOW).expect("sign");
        let kids = ring.rotate(&store, NOW, &test_event).await.expect("rotate");
        let header = |kid: &str| URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#));
        // Published at once, signing only after PUBLISH_AHEAD.
        assert_eq!(ring.jwks(NOW).expect("jwks").keys().len(), 4);
        let still_old =
            ring.sign(Alg::ES256, "at+jwt", &serde_json::json!({}), NOW + Duration::minutes(4)).expect("sign");
        assert!(!still_old.starts_with(&header(&kids[0])));
        let switched = NOW + PUBLISH_AHEAD;
        let new = ring.sign(Alg::ES256, "at+jwt", &serde_json::json!({}), switched).expect("sign");
        assert!(new.starts_with(&header(&kids[0])));
        assert!(ring.verify(&old, "at+jwt").is_ok());
        assert_eq!(ring.jwks(switched + Duration::hours(2)).expect("jwks").keys().len(), 2);
        ring.rotate(&store, NOW + Duration::hours(3), &test_event).await.expect("rotate");
        assert_eq!(ring.verify(&old, "at+jwt"), Err(VerifyError::UnknownKey));
    }
}
