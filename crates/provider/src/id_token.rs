//! ID tokens (OpenID Connect Core §2), with openidconnect's claim types, signed RS256 or ES256
//! as each client asks (`IdTokenSigningAlgorithm`, decision 44).

use chrono::{DateTime, Utc};
use gatehouse_registry::{Client, User};
use openidconnect::core::CoreGenderClaim;
use openidconnect::{
    AccessTokenHash, AdditionalClaims, Audience, AuthorizationCodeHash, EndUserEmail, EndUserFamilyName,
    EndUserGivenName, EndUserName, EndUserUsername, IdTokenClaims, IssuerUrl, Nonce, StandardClaims, SubjectIdentifier,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ProtocolError;
use crate::handles::half_hash;
use crate::keys::Alg;
use crate::Provider;

/// Our claims beyond the standard ones: the session id and the tenant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GatehouseClaims {
    pub sid: String,
    pub tid: Uuid,
}

impl AdditionalClaims for GatehouseClaims {}

pub type Claims = IdTokenClaims<GatehouseClaims, CoreGenderClaim>;

/// What an ID token says besides the user and client.
#[derive(Debug, Clone, Default)]
pub struct IdTokenParts<'a> {
    pub nonce: Option<&'a str>,
    pub access_token: Option<&'a str>,
    pub code: Option<&'a str>,
    pub sid: &'a str,
    pub auth_time: Option<OffsetDateTime>,
    pub scopes: &'a [&'a str],
}

fn chrono(t: OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), 0).unwrap_or_default()
}

/// The profile and email claims a user releases for the granted scopes.
pub fn standard_claims(user: &User, scopes: &[&str]) -> StandardClaims<CoreGenderClaim> {
    let mut claims = StandardClaims::new(SubjectIdentifier::new(user.id.to_string()));
    if scopes.contains(&"profile") {
        let full = format!("{} {}", user.given_name, user.surname).trim().to_owned();
        claims = claims
            .set_preferred_username(Some(EndUserUsername::new(user.user_name.clone())))
            .set_given_name(non_empty(&user.given_name).map(|n| EndUserGivenName::new(n).into()))
            .set_family_name(non_empty(&user.surname).map(|n| EndUserFamilyName::new(n).into()))
            .set_name(non_empty(&full).map(|n| EndUserName::new(n).into()));
    }
    if scopes.contains(&"email") && !user.email.is_empty() {
        claims = claims.set_email(Some(EndUserEmail::new(user.email.clone())));
    }
    claims
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl Provider {
    /// Signs an ID token for `user` at `client` with the algorithm the client has now: RS256
    /// unless it asked for ES256 (OIDC Core §15.1 makes RS256 the default every RP can
    /// verify). `at_hash` and `c_hash` take SHA-256 for both (§3.3.2.11).
    pub(crate) fn issue_id_token(
        &self,
        client: &Client,
        user: &User,
        parts: IdTokenParts<'_>,
        now: OffsetDateTime,
    ) -> Result<String, ProtocolError> {
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(ProtocolError::server)?;
        let mut claims = Claims::new(
            issuer,
            vec![Audience::new(client.id.to_string())],
            chrono(now + self.settings.id_token_lifetime),
            chrono(now),
            standard_claims(user, parts.scopes),
            GatehouseClaims { sid: parts.sid.to_owned(), tid: client.tenant_id },
        )
        .set_auth_time(parts.auth_time.map(chrono))
        .set_nonce(parts.nonce.map(|n| Nonce::new(n.to_owned())));
        if let Some(at) = parts.access_token {
            claims = claims.set_access_token_hash(Some(AccessTokenHash::new(half_hash(at))));
        }
        if let Some(code) = parts.code {
            claims = claims.set_code_hash(Some(AuthorizationCodeHash::new(half_hash(code))));
        }
        self.keys.sign(Alg::from(client.id_token_signing_alg), "JWT", &claims, now)
    }

    /// Reads an ID token we signed, whatever its age (RP-Initiated Logout §2 accepts an
    /// expired `id_token_hint`) and whichever of our algorithms signed it (the client's, then
    /// or now). `None` when it is not ours or was tampered with.
    pub fn read_id_token_hint(&self, token: &str) -> Option<Claims> {
        let payload = self.keys.verify(token, "JWT").ok()?;
        let claims: Claims = serde_json::from_slice(&payload).ok()?;
        (claims.issuer().as_str() == self.settings.issuer).then_some(claims)
    }
}
