//! The audit trail: who changed what, who signed in, out, or failed to, and which grants
//! were revoked. An event is written by the store method that makes its change, in that
//! change's transaction (the `audit` argument of the changing methods), so a change is never
//! kept without its event nor an event without its change. What changes nothing (a refused
//! request, a failed sign-in) is written on its own with [`AuditStore::record_event`].
//!
//! No secret ever goes into an event: targets and details are built here from ids, names and
//! descriptions, never from a secret's or a password's value.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{RegistryError, Result};
use crate::store::Page;

/// The longest target, detail and actor name kept, in characters (longer ones are cut).
pub const TARGET_MAX: usize = 200;
pub const DETAIL_MAX: usize = 500;
pub const ACTOR_MAX: usize = 256;
/// The longest source address kept (an IPv6 address is at most 45 characters).
pub const SOURCE_MAX: usize = 64;

/// What happened. The wire names ([`AuditAction::as_str`]) are stable: filters and
/// stored rows use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    ClientCreate,
    ClientUpdate,
    ClientDelete,
    /// A client-credentials client's role list replaced.
    ClientSetRoles,
    SecretCreate,
    SecretUpdate,
    SecretDelete,
    UserCreate,
    UserUpdate,
    UserDelete,
    UserSetPassword,
    RoleCreate,
    RoleUpdate,
    RoleDelete,
    /// A new signing key (one event per algorithm).
    KeysRotate,
    SignIn,
    /// A password check that failed (wrong password, or no such enabled user).
    SignInFailed,
    /// The first attempt the throttle refused for a user name in its window; later ones in
    /// the same window are not written.
    SignInThrottled,
    Logout,
    /// A grant family revoked: a replayed code or refresh token, `/revocation`, or every
    /// family of a user (password reset, user deleted).
    TokenFamilyRevoke,
}

impl AuditAction {
    pub const ALL: [AuditAction; 20] = [
        Self::ClientCreate,
        Self::ClientUpdate,
        Self::ClientDelete,
        Self::ClientSetRoles,
        Self::SecretCreate,
        Self::SecretUpdate,
        Self::SecretDelete,
        Self::UserCreate,
        Self::UserUpdate,
        Self::UserDelete,
        Self::UserSetPassword,
        Self::RoleCreate,
        Self::RoleUpdate,
        Self::RoleDelete,
        Self::KeysRotate,
        Self::SignIn,
        Self::SignInFailed,
        Self::SignInThrottled,
        Self::Logout,
        Self::TokenFamilyRevoke,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCreate => "Client.Create",
            Self::ClientUpdate => "Client.Update",
            Self::ClientDelete => "Client.Delete",
            Self::ClientSetRoles => "Client.SetRoles",
            Self::SecretCreate => "Secret.Create",
            Self::SecretUpdate => "Secret.Update",
            Self::SecretDelete => "Secret.Delete",
            Self::UserCreate => "User.Create",
            Self::UserUpdate => "User.Update",
            Self::UserDelete => "User.Delete",
            Self::UserSetPassword => "User.SetPassword",
            Self::RoleCreate => "Role.Create",
            Self::RoleUpdate => "Role.Update",
            Self::RoleDelete => "Role.Delete",
            Self::KeysRotate => "Keys.Rotate",
            Self::SignIn => "SignIn",
            Self::SignInFailed => "SignIn.Failed",
            Self::SignInThrottled => "SignIn.Throttled",
            Self::Logout => "Logout",
            Self::TokenFamilyRevoke => "TokenFamily.Revoke",
        }
    }

    /// The action of a wire name, ignoring ASCII case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(name))
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The change was made (written with it).
    Succeeded,
    /// The request was refused (403, 404, 409, a broken rule): nothing changed.
    Refused,
    /// A sign-in whose password check failed, or that the throttle refused.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "Succeeded",
            Self::Refused => "Refused",
            Self::Failed => "Failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Succeeded, Self::Refused, Self::Failed].into_iter().find(|o| o.as_str() == name)
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A user, by id (an admin API caller with a user's token, or a user signing in or out).
    User(Uuid),
    /// A client, by id (an admin API caller with a client-credentials token, or a client
    /// revoking its token).
    Client(Uuid),
    /// The user name typed at a failed sign-in (not a secret; cut to [`ACTOR_MAX`]).
    Name(String),
    /// The server itself, or a command (`gatehouse rotate-keys`).
    System(String),
}

impl Actor {
    /// The kind's wire name: `User`, `Client`, `Name`, `System`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => "User",
            Self::Client(_) => "Client",
            Self::Name(_) => "Name",
            Self::System(_) => "System",
        }
    }

    /// The id, name or command.
    pub fn value(&self) -> String {
        match self {
            Self::User(id) | Self::Client(id) => id.to_string(),
            Self::Name(s) | Self::System(s) => s.clone(),
        }
    }

    /// Reads back what [`Actor::kind`] and [`Actor::value`] wrote.
    pub fn from_parts(kind: &str, value: String) -> Result<Self> {
        let id = |v: &str| Uuid::parse_str(v).map_err(|e| RegistryError::Storage(format!("audit actor id: {e}")));
        Ok(match kind {
            "User" => Self::User(id(&value)?),
            "Client" => Self::Client(id(&value)?),
            "Name" => Self::Name(value),
            "System" => Self::System(value),
            other => return Err(RegistryError::Storage(format!("unknown audit actor kind {other}"))),
        })
    }
}

/// Where and as which request it happened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The client's address (behind trusted proxies, the one they name).
    pub source: Option<String>,
    /// The request's operation id (the admin API's `Operation-Id`).
    pub operation_id: Uuid,
}

impl Origin {
    pub fn new(source: Option<String>, operation_id: Uuid) -> Self {
        Self { source: source.map(|s| cut(s, SOURCE_MAX)), operation_id }
    }

    /// A command run on the server's machine: no address, a new operation id.
    pub fn command() -> Self {
        Self { source: None, operation_id: Uuid::new_v4() }
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Uuid,
    /// `None` for what concerns every tenant (the signing keys are the server's).
    pub tenant_id: Option<Uuid>,
    /// Kept to the millisecond on every store.
    pub time: OffsetDateTime,
    pub actor: Actor,
    pub action: AuditAction,
    /// What it was done to, as a path under the tenant (`HybridClients/{id}`,
    /// `Users/{id}`, `TokenFamilies/{id}`, `SigningKeys/{kid}`).
    pub target: String,
    pub outcome: Outcome,
    pub source: Option<String>,
    pub operation_id: Uuid,
    /// A short note (why it was refused, what was revoked); never a secret.
    pub detail: Option<String>,
}

/// `s`, at most `max` characters.
fn cut(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => s[..at].to_owned(),
        None => s,
    }
}

impl AuditEvent {
    /// An event of a change that is about to be made (outcome `Succeeded`: the store writes
    /// it only if the change is made).
    pub fn new(
        tenant_id: Option<Uuid>,
        time: OffsetDateTime,
        actor: Actor,
        action: AuditAction,
        target: impl Into<String>,
        origin: &Origin,
    ) -> Self {
        let actor = match actor {
            Actor::Name(n) => Actor::Name(cut(n, ACTOR_MAX)),
            Actor::System(n) => Actor::System(cut(n, ACTOR_MAX)),
            other => other,
        };
        let millis = time.millisecond();
        Self {
            id: Uuid::new_v4(),
            tenant_id,
            time: time.replace_nanosecond(u32::from(millis) * 1_000_000).unwrap_or(time),
            actor,
            action,
            target: cut(target.into(), TARGET_MAX),
            outcome: Outcome::Succeeded,
            source: origin.source.clone(),
            operation_id: origin.operation_id,
            detail: None,
        }
    }

    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = cut(target.into(), TARGET_MAX);
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(cut(detail.into(), DETAIL_MAX));
        self
    }

    /// The same event about a grant family (the stores use it for a refresh token's reuse,
    /// whose family only they know).
    pub fn on_family(&self, family: Uuid) -> Self {
        self.clone().with_target(family_target(family))
    }

    /// The same event about secret `id` of the client it names.
    pub fn on_secret(&self, id: u32) -> Self {
        self.clone().with_target(format!("{}/{id}", self.target))
    }

    /// The same event refused for `reason` (a new id: it is another row).
    pub fn refused(&self, reason: impl Into<String>) -> Self {
        Self { id: Uuid::new_v4(), ..self.clone() }.with_outcome(Outcome::Refused).with_detail(reason)
    }
}

/// The target naming a grant family.
pub fn family_target(family: Uuid) -> String {
    format!("TokenFamilies/{family}")
}

/// Which events a list wants: newest first, paged by `skip` and `count`; each filter, when
/// given, keeps only events that match it. `from` is inclusive, `to` exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub skip: u64,
    pub count: u64,
    pub action: Option<AuditAction>,
    /// The actor's id, name or command, exactly.
    pub actor: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self { skip: 0, count: 100, action: None, actor: None, from: None, to: None }
    }
}

impl AuditQuery {
    /// Whether `event` passes the filters (paging aside): the memory store's rule, which the
    /// SQL stores say in SQL.
    pub fn matches(&self, tenant_id: Uuid, event: &AuditEvent) -> bool {
        event.tenant_id.is_none_or(|t| t == tenant_id)
            && self.action.is_none_or(|a| a == event.action)
            && self.actor.as_ref().is_none_or(|a| *a == event.actor.value())
            && self.from.is_none_or(|f| event.time >= f)
            && self.to.is_none_or(|t| event.time < t)
    }
}

/// The audit trail as a whole: what is not written beside a change, reading, and forgetting.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Writes one event on its own, for what changes nothing: a refused request, a failed or
    /// throttled sign-in. (An event of a change goes to the changing method instead.)
    async fn record_event(&self, event: &AuditEvent) -> Result<()>;
    /// The events of `tenant_id`, and those of no tenant (the signing keys), that pass the
    /// query's filters, newest first (by time, then by the order written), one page of them,
    /// with the number that pass in all, read in one snapshot.
    async fn list_events(&self, tenant_id: Uuid, query: &AuditQuery) -> Result<Page<AuditEvent>>;
    /// Deletes the events older than `before` (retention). Answers how many went.
    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_have_one_wire_name_each() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            assert_eq!(AuditAction::parse(&a.as_str().to_ascii_lowercase()), Some(a));
        }
        assert_eq!(AuditAction::parse("Client"), None);
    }

    #[test]
    fn long_fields_are_cut_and_time_kept_to_the_millisecond() {
        let t = time::macros::datetime!(2025-01-02 03:04:05.123456789 UTC);
        let e = AuditEvent::new(
            None,
            t,
            Actor::Name("é".repeat(ACTOR_MAX + 5)),
            AuditAction::SignInFailed,
            "x".repeat(TARGET_MAX * 2),
            &Origin::new(Some("a".repeat(100)), Uuid::nil()),
        )
        .with_detail("d".repeat(DETAIL_MAX + 1));
        assert_eq!(e.time, time::macros::datetime!(2025-01-02 03:04:05.123 UTC));
        assert_eq!(e.actor.value().chars().count(), ACTOR_MAX);
        assert_eq!(e.target.len(), TARGET_MAX);
        assert_eq!(e.detail.map(|d| d.len()), Some(DETAIL_MAX));
        assert_eq!(e.source.map(|s| s.len()), Some(SOURCE_MAX));
    }
}
