//! What the device authorization grant (RFC 8628) remembers: one record per device code,
//! found by the hash of the device code (the device polls with it) or by the hash of the
//! normalised user code (the person types it). Neither value is stored.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::grant::SecretHashKey;

/// RFC 8628 §3.5: "the interval MUST be increased by 5 seconds for this and all subsequent
/// requests" after a `slow_down`.
pub const SLOW_DOWN_STEP: u32 = 5;

/// Where a device code stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Issued; no one has decided yet.
    Pending,
    /// A person approved: the tokens will be theirs.
    Approved(Approval),
    /// A person denied.
    Denied,
    /// Approved and the tokens issued: spent.
    Redeemed,
}

/// Who approved a device code, as a code of the authorization code grant carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub user_id: Uuid,
    pub sid: String,
    pub auth_time: OffsetDateTime,
    /// The grant family the tokens will carry (revocation, refresh tokens).
    pub family: Uuid,
}

/// A device authorization request and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceCode {
    /// SHA-256 of the device code.
    pub handle: SecretHashKey,
    /// SHA-256 of the normalised user code (8 letters, upper case, no dash).
    pub user_code: SecretHashKey,
    pub client_id: Uuid,
    pub tenant_id: Uuid,
    pub scope: String,
    pub expires: OffsetDateTime,
    /// The least number of seconds between two polls (RFC 8628 §3.2 `interval`).
    pub interval: u32,
    /// The last poll, for `slow_down`.
    pub last_poll: Option<OffsetDateTime>,
    pub status: DeviceStatus,
}

impl DeviceCode {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires
    }
}

/// A person's answer on the verification page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceDecision {
    Approve(Approval),
    Deny,
}

/// The outcome of a device's poll (RFC 8628 §3.5).
#[derive(Debug, Clone, PartialEq)]
pub enum DevicePoll {
    /// Approved: the record is now `Redeemed`; issue the tokens of this approval.
    Approved(Box<DeviceCode>),
    /// `authorization_pending`: the poll time is recorded.
    Pending,
    /// `slow_down`: polled sooner than the interval, which is now `interval` seconds.
    SlowDown { interval: u32 },
    /// `access_denied`.
    Denied,
    /// `expired_token`.
    Expired,
    /// `invalid_grant`: unknown, another client's, or already redeemed.
    Invalid,
}

/// What a poll does to a stored record; every store applies this one rule inside one
/// transaction and writes `record` back when the answer says so.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceStep {
    /// Answer this, and store the record as it now is.
    Write(DevicePoll, Box<DeviceCode>),
    /// Answer this; nothing changes.
    Answer(DevicePoll),
}

/// Decides a poll by `client_id` at `now` of `record` (if any).
pub fn device_step(client_id: Uuid, record: Option<&DeviceCode>, now: OffsetDateTime) -> DeviceStep {
    // Another client's code is as good as unknown, and is left as it was.
    let Some(record) = record.filter(|r| r.client_id == client_id) else {
        return DeviceStep::Answer(DevicePoll::Invalid);
    };
    if record.status == DeviceStatus::Redeemed {
        return DeviceStep::Answer(DevicePoll::Invalid);
    }
    if !record.is_live(now) {
        return DeviceStep::Answer(DevicePoll::Expired);
    }
    let mut next = record.clone();
    match &record.status {
        DeviceStatus::Approved(_) => {
            next.status = DeviceStatus::Redeemed;
            DeviceStep::Write(DevicePoll::Approved(Box::new(record.clone())), Box::new(next))
        }
        DeviceStatus::Denied => DeviceStep::Answer(DevicePoll::Denied),
        DeviceStatus::Pending | DeviceStatus::Redeemed => {
            // Stores may keep whole seconds (SQLite does): both times are compared in whole
            // seconds, so a device that waits its interval is never told to slow down.
            let whole = |t: OffsetDateTime| t.replace_nanosecond(0).unwrap_or(t);
            next.last_poll = Some(now);
            let interval = Duration::seconds(i64::from(record.interval));
            let too_soon = record.last_poll.is_some_and(|at| whole(now) < whole(at) + interval);
            if too_soon {
                next.interval = record.interval.saturating_add(SLOW_DOWN_STEP);
                DeviceStep::Write(DevicePoll::SlowDown { interval: next.interval }, Box::new(next))
            } else {
                DeviceStep::Write(DevicePoll::Pending, Box::new(next))
            }
        }
    }
}

/// The record after a person's decision, if it can still be decided: pending and live.
pub fn decided(record: &DeviceCode, decision: DeviceDecision, now: OffsetDateTime) -> Option<DeviceCode> {
    if record.status != DeviceStatus::Pending || !record.is_live(now) {
        return None;
    }
    let status = match decision {
        DeviceDecision::Approve(a) => DeviceStatus::Approved(a),
        DeviceDecision::Deny => DeviceStatus::Denied,
    };
    Some(DeviceCode { status, ..record.clone() })
}

/// The stored form of a status: its name and, when approved, the approval.
pub fn status_parts(status: &DeviceStatus) -> (&'static str, Option<&Approval>) {
    match status {
        DeviceStatus::Pending => ("pending", None),
        DeviceStatus::Approved(a) => ("approved", Some(a)),
        DeviceStatus::Denied => ("denied", None),
        DeviceStatus::Redeemed => ("redeemed", None),
    }
}

/// A status from its stored parts; `None` for an unknown name or an approval without its
/// parts.
pub fn status_from(name: &str, approval: Option<Approval>) -> Option<DeviceStatus> {
    Some(match name {
        "pending" => DeviceStatus::Pending,
        "approved" => DeviceStatus::Approved(approval?),
        "denied" => DeviceStatus::Denied,
        "redeemed" => DeviceStatus::Redeemed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn record(client_id: Uuid) -> DeviceCode {
        DeviceCode {
            handle: SecretHashKey(vec![1]),
            user_code: SecretHashKey(vec![2]),
            client_id,
            tenant_id: Uuid::nil(),
            scope: "openid".into(),
            expires: NOW + Duration::seconds(300),
            interval: 5,
            last_poll: None,
            status: DeviceStatus::Pending,
        }
    }

    #[test]
    fn polls_follow_rfc_8628() {
        let client = Uuid::new_v4();
        let r = record(client);
        assert_eq!(device_step(Uuid::new_v4(), Some(&r), NOW), DeviceStep::Answer(DevicePoll::Invalid));
        let DeviceStep::Write(DevicePoll::Pending, r) = device_step(client, Some(&r), NOW) else { panic!("pending") };
        let soon = NOW + Duration::seconds(4);
        let DeviceStep::Write(DevicePoll::SlowDown { interval: 10 }, r) = device_step(client, Some(&*r), soon) else {
            panic!("slow down")
        };
        // The grown interval counts from the last poll.
        let step = device_step(client, Some(&*r), soon + Duration::seconds(9));
        assert!(matches!(step, DeviceStep::Write(DevicePoll::SlowDown { interval: 15 }, _)));
        let step = device_step(client, Some(&*r), soon + Duration::seconds(10));
        assert!(matches!(step, DeviceStep::Write(DevicePoll::Pending, _)));
        let late = NOW + Duration::seconds(300);
        assert_eq!(device_step(client, Some(&*r), late), DeviceStep::Answer(DevicePoll::Expired));
    }

    #[test]
    fn an_approval_is_redeemed_once_and_a_denial_stays() {
        let client = Uuid::new_v4();
        let approval = Approval { user_id: Uuid::new_v4(), sid: "s".into(), auth_time: NOW, family: Uuid::new_v4() };
        let approved = decided(&record(client), DeviceDecision::Approve(approval), NOW).expect("pending");
        assert!(decided(&approved, DeviceDecision::Deny, NOW).is_none(), "decided once");
        let DeviceStep::Write(DevicePoll::Approved(_), spent) = device_step(client, Some(&approved), NOW) else {
            panic!("approved")
        };
        assert_eq!(device_step(client, Some(&*spent), NOW), DeviceStep::Answer(DevicePoll::Invalid));
        let denied = decided(&record(client), DeviceDecision::Deny, NOW).expect("pending");
        assert_eq!(device_step(client, Some(&denied), NOW), DeviceStep::Answer(DevicePoll::Denied));
        let late = NOW + Duration::seconds(300);
        assert!(decided(&record(client), DeviceDecision::Deny, late).is_none(), "expired");
    }
}
