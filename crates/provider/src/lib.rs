//! The Gatehouse provider: what the protocol says. Grants, tokens, keys and the rules of
//! `shared/spec/protocol.md`, with no HTTP framework and no SQL. Time is injected.

use std::fmt;
use std::sync::Arc;

use gatehouse_registry::audit::{Actor, AuditAction, AuditEvent, AuditStore, Origin};
use gatehouse_registry::store::{ClientStore, DeviceCodeStore, GrantStore, KeyStore, ThrottleStore, UserStore};
use gatehouse_registry::{Client, ClientKind, SecretValue, Store};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub mod admin;
pub mod authorize;
pub mod client_auth;
pub mod clock;
pub mod device;
pub mod discovery;
pub mod endpoints;
pub mod error;
pub mod grants;
pub mod handles;
pub mod id_token;
pub mod keys;
pub mod params;
pub mod resume;
pub mod session;
pub mod tokens;

#[cfg(test)]
mod flow_tests;

pub use admin::Caller;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{ErrorCode, ProtocolError};
pub use grants::TokenRequest;
pub use keys::{Alg, KeyRing};
pub use tokens::{AccessTokenClaims, TokenResponse};

/// The longest an access token lives (admin-api.md: AccessTokenLifetime at most 3600 s):
/// a retired key stays published at least this long.
const LONGEST_TOKEN: Duration = Duration::seconds(gatehouse_registry::client::LIFETIME_MAX as i64);

/// What the provider needs to know of its deployment. Every lifetime is documented in
/// docs/configuration.md.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `{public base URL}/identity`, exactly as configured.
    pub issuer: String,
    /// How long an authorization code may be exchanged (protocol.md: 300 s).
    pub code_lifetime: Duration,
    pub id_token_lifetime: Duration,
    /// How long a browser stays signed in.
    pub session_lifetime: Duration,
    /// A refresh-token family's absolute end (protocol.md: 30 days).
    pub refresh_absolute: Duration,
    /// A refresh token's own life, renewed by each rotation (protocol.md: 15 days).
    pub refresh_sliding: Duration,
    /// How long a consumed refresh token still answers its successor (a retried request).
    pub refresh_grace: Duration,
}

impl Settings {
    /// The defaults of protocol.md for `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            code_lifetime: Duration::seconds(300),
            id_token_lifetime: Duration::seconds(300),
            session_lifetime: Duration::hours(8),
            refresh_absolute: Duration::days(30),
            refresh_sliding: Duration::days(15),
            refresh_grace: Duration::seconds(5),
        }
    }
}

/// The stores the provider uses, each as the one trait it needs: clients and users are read
/// live on every request; grants (sessions, codes, refresh families) and keys are the
/// protocol's own state.
#[derive(Clone)]
pub struct Stores {
    pub clients: Arc<dyn ClientStore>,
    pub users: Arc<dyn UserStore>,
    pub grants: Arc<dyn GrantStore>,
    pub keys: Arc<dyn KeyStore>,
    /// The sign-in throttle's counters, shared by every instance.
    pub throttle: Arc<dyn ThrottleStore>,
    /// Device codes (RFC 8628).
    pub devices: Arc<dyn DeviceCodeStore>,
    /// The audit trail, for what is written on its own (a failed or throttled sign-in).
    pub audit: Arc<dyn AuditStore>,
}

impl Stores {
    /// Every part from one store that keeps them all.
    pub fn of(store: Arc<dyn Store>) -> Self {
        Self {
            clients: store.clone(),
            users: store.clone(),
            grants: store.clone(),
            keys: store.clone(),
            throttle: store.clone(),
            devices: store.clone(),
            audit: store,
        }
    }
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

/// The protocol engine. One per server, shared by every request.
pub struct Provider {
    stores: Stores,
    clock: Arc<dyn Clock>,
    keys: KeyRing,
    settings: Settings,
    /// Derives refresh-token successors (see `handles::successor`).
    refresh_key: ring::hmac::Key,
    /// Signs the way back from a sign-in (see `resume`).
    resume: resume::Resume,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Provider {
    /// Loads (or on first start, creates) the signing keys.
    pub async fn new(stores: Stores, clock: Arc<dyn Clock>, settings: Settings) -> Result<Self, ProtocolError> {
        let keys = KeyRing::load(stores.keys.as_ref(), clock.now(), LONGEST_TOKEN).await?;
        let candidate = SecretValue::generate().map_err(ProtocolError::server)?;
        let secret = stores.keys.server_secret("refresh-successor", candidate.expose().as_bytes().to_vec()).await?;
        let refresh_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
        let candidate = SecretValue::generate().map_err(ProtocolError::server)?;
        let secret = stores.keys.server_secret("authorize-resume", candidate.expose().as_bytes().to_vec()).await?;
        let resume = resume::Resume::new(&secret);
        Ok(Self { stores, clock, keys, settings, refresh_key, resume })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The published signing keys.
    pub fn jwks(&self) -> Result<openidconnect::core::CoreJsonWebKeySet, ProtocolError> {
        self.keys.jwks(self.clock.now())
    }

    /// Reads the signing keys again (another instance, or the `rotate-keys` command, may
    /// have rotated them).
    pub async fn reload_keys(&self) -> Result<(), ProtocolError> {
        self.keys.reload(self.stores.keys.as_ref()).await
    }

    /// Deletes the sessions, codes, device codes and refresh tokens that can no longer be
    /// used now, and the sign-in counters whose window has passed. Answers how many went.
    pub async fn purge_expired(&self) -> Result<u64, ProtocolError> {
        let now = self.clock.now();
        // An expired device code is kept a while, so that its device hears `expired_token`.
        let devices = self.stores.devices.purge_device_codes(now - device::EXPIRED_KEPT).await?;
        let grants = self.stores.grants.purge_expired(now).await? + devices;
        Ok(grants + self.stores.throttle.purge_attempts(now - session::THROTTLE_WINDOW).await?)
    }

    /// Makes new keys the signers; the old ones stay published while they may still
    /// verify a live token. Each new key is audited (`Keys.Rotate`, of no tenant) as the
    /// act of `actor`. Returns the new key ids.
    pub async fn rotate_keys(&self, actor: Actor, origin: &Origin) -> Result<Vec<String>, ProtocolError> {
        let now = self.clock.now();
        let audit = |kid: &str, alg: &str| {
            AuditEvent::new(None, now, actor.clone(), AuditAction::KeysRotate, format!("SigningKeys/{kid}"), origin)
                .with_detail(alg)
        };
        self.keys.rotate(self.stores.keys.as_ref(), now, &audit).await
    }

    /// Signs an access token for `client`; its lifetime is the client's
    /// `AccessTokenLifetime` as read on this request (protocol.md, Token). Tokens issued
    /// from a grant carry its refresh family in their `jti` (`{family}.{random}`), so that
    /// revoking the family revokes them. Answers the token and its `jti`.
    pub(crate) fn issue_access_token(
        &self,
        client: &Client,
        subject: String,
        scope: &str,
        family: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<(String, String), ProtocolError> {
        let iat = now.unix_timestamp();
        let jti = match family {
            Some(f) => format!("{f}.{}", Uuid::new_v4().simple()),
            None => Uuid::new_v4().to_string(),
        };
        let claims = AccessTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: subject,
            aud: tokens::API_AUDIENCE.into(),
            client_id: client.id.to_string(),
            scope: scope.into(),
            iat,
            nbf: iat,
            exp: iat + i64::from(client.access_token_lifetime),
            jti: jti.clone(),
            tid: client.tenant_id,
            roles: if client.kind == ClientKind::ClientCredential { client.role_ids.clone() } else { Vec::new() },
        };
        Ok((self.keys.sign(Alg::ES256, "at+jwt", &claims, now)?, jti))
    }
}
