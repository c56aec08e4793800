//! Browser sessions: started by a sign-in, found by their cookie, ended by sign-out or
//! logout. Password checks are the server's (they run on its blocking pool).

use std::net::IpAddr;

use gatehouse_registry::audit::{Actor, AuditAction, AuditEvent, Origin, Outcome};
use gatehouse_registry::grant::{Session, WithUser};
use gatehouse_registry::user::USER_NAME_MAX;
use gatehouse_registry::{SecretValue, User};
use time::Duration;
use uuid::Uuid;

use crate::error::ProtocolError;
use crate::handles::{key_of, new_handle};
use crate::Provider;

/// Sign-in attempts allowed within [`THROTTLE_WINDOW`] per user name in a tenant (against
/// guessing one password) and per client address (against spraying one password over many
/// names; higher, because many users may share an address behind a proxy).
pub const MAX_ATTEMPTS_PER_USER: u32 = 5;
pub const MAX_ATTEMPTS_PER_ADDRESS: u32 = 50;
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);

/// What may happen to a sign-in attempt before its password is checked.
#[derive(Debug, Clone)]
pub enum Admission {
    /// Counted; its password may be checked.
    Admitted(Attempt),
    /// The user name or the address has had its share within the window, counting the
    /// attempts still being checked. Withdraw it ([`Provider::withdraw_attempt`]) before
    /// asking again, or give up.
    Throttled(Attempt),
    /// No user can have this name (too long): refused before anything is counted or stored.
    Refused,
}

/// A sign-in attempt that was counted, and what to clear if its password is right.
#[derive(Debug, Clone)]
pub struct Attempt {
    user_key: String,
    address_key: String,
    /// The user name's and the address's counts, this attempt included.
    counts: (u32, u32),
}

impl Attempt {
    /// Whether this is the first attempt the throttle refuses in its window, for its user
    /// name or its address: the one a throttled flood writes to the audit trail.
    pub fn first_refused(&self) -> bool {
        self.counts.0 == MAX_ATTEMPTS_PER_USER + 1 || self.counts.1 == MAX_ATTEMPTS_PER_ADDRESS + 1
    }
}

/// The audit target of a user.
pub fn user_target(user_id: Uuid) -> String {
    format!("Users/{user_id}")
}

/// The throttle key of a client address: IPv4 as it is, IPv6 by its /64 (one host usually
/// holds a whole /64, so a key per address would let it rotate addresses).
pub(crate) fn address_key(address: Option<IpAddr>) -> String {
    match address.map(|a| a.to_canonical()) {
        Some(IpAddr::V4(v4)) => format!("addr/{v4}"),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("addr/{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "addr/unknown".to_owned(),
    }
}

impl Provider {
    /// Counts a sign-in attempt before its password is checked, atomically in the store that
    /// every instance shares, so that no number of attempts at once gets more checks than
    /// the limits allow. A throttled attempt waits even with the right password.
    pub async fn admit_sign_in(
        &self,
        tenant_id: Uuid,
        user_name: &str,
        address: Option<IpAddr>,
    ) -> Result<Admission, ProtocolError> {
        if user_name.chars().count() > USER_NAME_MAX {
            return Ok(Admission::Refused);
        }
        let mut attempt = Attempt {
            user_key: format!("user/{tenant_id}/{}", user_name.trim().to_lowercase()),
            address_key: address_key(address),
            counts: (0, 0),
        };
        let keys = [attempt.user_key.clone(), attempt.address_key.clone()];
        let counts = self.stores.throttle.count_attempt(&keys, self.clock.now(), THROTTLE_WINDOW).await?;
        attempt.counts = (counts.first().copied().unwrap_or(u32::MAX), counts.get(1).copied().unwrap_or(u32::MAX));
        let within = attempt.counts.0 <= MAX_ATTEMPTS_PER_USER && attempt.counts.1 <= MAX_ATTEMPTS_PER_ADDRESS;
        Ok(if within { Admission::Admitted(attempt) } else { Admission::Throttled(attempt) })
    }

    /// Takes back a throttled attempt: it was not checked, so it counts for nothing.
    pub async fn withdraw_attempt(&self, attempt: &Attempt) -> Result<(), ProtocolError> {
        self.stores.throttle.forgive_attempt(&attempt.user_key).await?;
        Ok(self.stores.throttle.forgive_attempt(&attempt.address_key).await?)
    }

    /// The attempt's password was right: its user name starts afresh, and it does not count
    /// against its address.
    pub async fn sign_in_succeeded(&self, attempt: &Attempt) -> Result<(), ProtocolError> {
        self.stores.throttle.clear_attempts(&attempt.user_key).await?;
        Ok(self.stores.throttle.forgive_attempt(&attempt.address_key).await?)
    }

    /// The live session behind a cookie value, with its user as stored now.
    pub async fn session(&self, cookie: &str) -> Result<Option<WithUser<Session>>, ProtocolError> {
        Ok(self.stores.grants.find_session(&key_of(cookie), self.clock.now()).await?)
    }

    /// An enabled user of the tenant by user name, for the sign-in form.
    pub async fn user_for_sign_in(&self, tenant_id: Uuid, user_name: &str) -> Result<Option<User>, ProtocolError> {
        Ok(self.stores.users.find_user_by_name(tenant_id, user_name).await?.filter(|u| u.enabled))
    }

    /// A sign-in whose password check failed (`user`: the enabled user of that name, if
    /// any), written to the audit trail on its own: it changes nothing. The actor is the
    /// name typed (cut to its longest), never the password.
    pub async fn sign_in_failed(
        &self,
        tenant_id: Uuid,
        user_name: &str,
        user: Option<&User>,
        origin: &Origin,
    ) -> Result<(), ProtocolError> {
        let (target, why) = match user {
            Some(u) => (user_target(u.id), "the password is wrong"),
            None => ("Users".to_owned(), "no enabled user has this name"),
        };
        let actor = Actor::Name(user_name.to_owned());
        let event =
            AuditEvent::new(Some(tenant_id), self.clock.now(), actor, AuditAction::SignInFailed, target, origin)
                .with_outcome(Outcome::Failed)
                .with_detail(why);
        Ok(self.stores.audit.record_event(&event).await?)
    }

    /// An attempt the throttle refused: written only when it is the first refused in its
    /// window ([`Attempt::first_refused`]), so a flood writes one event per name or address
    /// and window, not one per attempt.
    pub async fn sign_in_throttled(
        &self,
        tenant_id: Uuid,
        user_name: &str,
        attempt: &Attempt,
        origin: &Origin,
    ) -> Result<(), ProtocolError> {
        if !attempt.first_refused() {
            return Ok(());
        }
        let actor = Actor::Name(user_name.to_owned());
        let why = "too many attempts; further ones in this window are not recorded";
        let event =
            AuditEvent::new(Some(tenant_id), self.clock.now(), actor, AuditAction::SignInThrottled, "Users", origin)
                .with_outcome(Outcome::Failed)
                .with_detail(why);
        Ok(self.stores.audit.record_event(&event).await?)
    }

    /// Starts a session for a user whose password the server has checked, with its
    /// `SignIn` audit event in the same write. Answers the cookie value (shown only to the
    /// browser) and the session.
    pub async fn start_session(&self, user: &User, origin: &Origin) -> Result<(SecretValue, Session), ProtocolError> {
        let now = self.clock.now();
        let (cookie, handle) = new_handle()?;
        let session = Session {
            handle,
            sid: Uuid::new_v4().simple().to_string(),
            tenant_id: user.tenant_id,
            user_id: user.id,
            auth_time: now,
            expires: now + self.settings.session_lifetime,
        };
        let actor = Actor::User(user.id);
        let event =
            AuditEvent::new(Some(user.tenant_id), now, actor, AuditAction::SignIn, user_target(user.id), origin);
        self.stores.grants.create_session(session.clone(), Some(&event)).await?;
        Ok((cookie, session))
    }

    /// Ends the session behind a cookie; a session that was live is audited as a `Logout`
    /// of its user, in the same write.
    pub async fn end_session_cookie(&self, cookie: &str, origin: &Origin) -> Result<(), ProtocolError> {
        let handle = key_of(cookie);
        let now = self.clock.now();
        let event = self.stores.grants.find_session(&handle, now).await?.map(|s| {
            let (tenant_id, user_id) = (s.record.tenant_id, s.record.user_id);
            AuditEvent::new(
                Some(tenant_id),
                now,
                Actor::User(user_id),
                AuditAction::Logout,
                user_target(user_id),
                origin,
            )
        });
        Ok(self.stores.grants.delete_session(&handle, event.as_ref()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn ipv6_addresses_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let key = |a: &str| address_key(Some(a.parse().expect("address")));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:1:2:3"));
        assert_eq!(key("2001:db8:1:2::1"), "addr/2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_eq!(key("192.0.2.7"), "addr/192.0.2.7");
        assert_eq!(address_key(None), "addr/unknown");
    }
}
