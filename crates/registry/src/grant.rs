//! What the protocol remembers between requests: browser sessions, authorization codes,
//! refresh-token families and revoked access tokens. Only hashes of the handles are kept;
//! the values live with their holders.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::secret::SecretHash;
use crate::user::User;

/// How long a revoked grant family is remembered once nothing of it is stored: longer than
/// an access token it issued can live (3,600 s at most, `AccessTokenLifetime`), counted
/// from the revocation, plus the life of a code of the family exchanged just before it.
pub const REVOCATION_KEPT: time::Duration = time::Duration::hours(2);

/// A stored record with its user as stored when it was read, in the same transaction
/// (`None`: the user was deleted), so that a grant is one trip to the store (issue 10).
/// The store answers facts; whether the user may still hold the record is the provider's
/// rule (`User::may_hold`).
#[derive(Debug, Clone, PartialEq)]
pub struct WithUser<T> {
    pub record: T,
    pub user: Option<User>,
}

/// A signed-in browser. The cookie holds the handle; the store holds its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub handle: SecretHashKey,
    /// The public session id (`sid` in ID tokens, OIDC Front-Channel/Back-Channel Logout).
    pub sid: String,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub auth_time: OffsetDateTime,
    pub expires: OffsetDateTime,
}

/// A hash used as a lookup key. Comparing it is a database index lookup, not a secret
/// comparison: the handle has 256 random bits, so its hash reveals nothing useful.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretHashKey(pub Vec<u8>);

impl From<SecretHash> for SecretHashKey {
    fn from(h: SecretHash) -> Self {
        Self(h.as_bytes().to_vec())
    }
}

/// An authorization code, bound to everything the token request must repeat
/// (RFC 6749 §4.1.3, RFC 7636 §4.6).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationCode {
    pub handle: SecretHashKey,
    pub client_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub sid: String,
    pub auth_time: OffsetDateTime,
    pub expires: OffsetDateTime,
    /// The refresh-token family and access token this code was exchanged for, so that a
    /// replay can revoke them (RFC 6749 §4.1.2).
    pub family: Uuid,
}

/// The outcome of presenting a code.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeUse {
    /// First use: the code is now spent.
    Fresh(Box<WithUser<AuthorizationCode>>),
    /// Already spent: a replay. The caller revokes what it issued.
    Replayed(Box<AuthorizationCode>),
    Unknown,
}

/// One refresh token of a family. Each use consumes it and issues its successor.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub handle: SecretHashKey,
    pub family: Uuid,
    pub client_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub scope: String,
    pub sid: String,
    pub auth_time: OffsetDateTime,
    pub created: OffsetDateTime,
    /// The family's absolute end: no successor lives past it.
    pub absolute_expiry: OffsetDateTime,
    /// This token's own end, renewed with each rotation (sliding lifetime).
    pub expires: OffsetDateTime,
    pub consumed: Option<OffsetDateTime>,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshUse {
    /// Live and unused: it is now consumed and `successor` stored.
    Rotated(Box<WithUser<RefreshToken>>),
    /// Consumed, but within the grace window: the same successor is answered again.
    Retried(Box<WithUser<RefreshToken>>),
    /// Consumed and past the grace window: reuse. The whole family is now revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

impl RefreshToken {
    /// The token that replaces this one: same family and grant, a fresh sliding lifetime
    /// that never passes the family's absolute end.
    pub fn successor(&self, handle: SecretHashKey, now: OffsetDateTime, sliding: time::Duration) -> RefreshToken {
        RefreshToken {
            handle,
            created: now,
            expires: (now + sliding).min(self.absolute_expiry),
            consumed: None,
            ..self.clone()
        }
    }

    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires && now < self.absolute_expiry
    }
}

/// What to do with a presented refresh token; every store follows this one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshStep {
    Rotate,
    Retry,
    Reuse,
    Invalid,
}

/// Decides [`RefreshStep`] for `client_id` presenting the token, from the token, its successor (if it was rotated) and whether
/// its family is revoked.
///
/// The PostgreSQL store also writes the `Rotate` case as the condition of one statement
/// (`rotate_at_once` in `crates/store-postgres/src/grants.rs`): a change here is a change there,
/// and the store suite (`refresh_tokens_rotate_retry_and_detect_reuse`) runs on both.
pub fn refresh_step(
    client_id: Uuid,
    token: Option<&RefreshToken>,
    successor: Option<&RefreshToken>,
    family_revoked: bool,
    now: OffsetDateTime,
    grace: time::Duration,
) -> RefreshStep {
    // Another client's token is as good as unknown, and is left as it was.
    let Some(token) = token.filter(|t| !family_revoked && t.client_id == client_id) else {
        return RefreshStep::Invalid;
    };
    // Stores may keep whole seconds (SQLite does): `consumed` is then rounded down, so `now` is
    // too, and the window is never shorter than `grace` (at most a second longer).
    let whole_now = now.replace_nanosecond(0).unwrap_or(now);
    match token.consumed {
        None if token.is_live(now) => RefreshStep::Rotate,
        None => RefreshStep::Invalid,
        // A zero grace is none at all (public clients), not "within the same second".
        Some(at)
            if grace.is_positive()
                && whole_now <= at + grace
                && successor.is_some_and(|s| s.consumed.is_none() && s.is_live(now)) =>
        {
            RefreshStep::Retry
        }
        Some(_) => RefreshStep::Reuse,
    }
}
