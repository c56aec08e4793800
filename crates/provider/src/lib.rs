//! The Gatehouse provider: what the protocol says. Grants, tokens, keys and the rules of
//! `shared/spec/protocol.md`, with no HTTP framework and no SQL. Time is injected.

use std::fmt;
use std::sync::Arc;

use gatehouse_registry::{Client, Store};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub mod admin;
pub mod client_auth;
pub mod clock;
pub mod error;
pub mod grants;
pub mod keys;
pub mod params;
pub mod tokens;

pub use admin::Caller;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{ErrorCode, ProtocolError};
pub use grants::TokenRequest;
pub use keys::{Alg, KeyRing};
pub use tokens::{AccessTokenClaims, TokenResponse};

/// The longest an access token lives (admin-api.md: AccessTokenLifetime at most 3600 s):
/// a retired key stays published at least this long.
const LONGEST_TOKEN: Duration = Duration::seconds(gatehouse_registry::client::LIFETIME_MAX as i64);

/// What the provider needs to know of its deployment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `{public base URL}/identity`, exactly as configured.
    pub issuer: String,
}

/// The protocol engine. One per server, shared by every request.
pub struct Provider {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    keys: KeyRing,
    settings: Settings,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Provider {
    /// Loads (or on first start, creates) the signing keys.
    pub async fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Settings) -> Result<Self, ProtocolError> {
        let keys = KeyRing::load(store.as_ref(), clock.now(), LONGEST_TOKEN).await?;
        Ok(Self { store, clock, keys, settings })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The published signing keys.
    pub fn jwks(&self) -> Result<openidconnect::core::CoreJsonWebKeySet, ProtocolError> {
        self.keys.jwks(self.clock.now())
    }

    /// Makes new keys the signers; the old ones stay published while they may still
    /// verify a live token. Returns the new key ids.
    pub async fn rotate_keys(&self) -> Result<Vec<String>, ProtocolError> {
        self.keys.rotate(self.store.as_ref(), self.clock.now()).await
    }

    /// Signs an access token for `client`; its lifetime is the client's
    /// `AccessTokenLifetime` as read on this request (protocol.md, Token).
    pub(crate) fn issue_access_token(
        &self,
        client: &Client,
        subject: String,
        scope: &str,
        audience: &str,
        now: OffsetDateTime,
    ) -> Result<String, ProtocolError> {
        let iat = now.unix_timestamp();
        let claims = AccessTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: subject,
            aud: audience.into(),
            client_id: client.id.to_string(),
            scope: scope.into(),
            iat,
            nbf: iat,
            exp: iat + i64::from(client.access_token_lifetime),
            jti: Uuid::new_v4().to_string(),
            tid: client.tenant_id,
            roles: client.role_ids.clone(),
        };
        self.keys.sign(Alg::ES256, "at+jwt", &claims)
    }
}
