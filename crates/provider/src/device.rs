//! The device authorization grant (RFC 8628), the person's side: the device authorization
//! endpoint (§3.1, §3.2), user codes (§6.1), and the verification page's look-up and
//! decision (§3.3), throttled against guessing (§5.1). The device's side, polling the token
//! endpoint, is `grants/device_code.rs`.

use std::net::IpAddr;

use gatehouse_registry::device::{Approval, DeviceCode, DeviceDecision, DeviceStatus};
use gatehouse_registry::grant::{SecretHashKey, Session};
use gatehouse_registry::{ClientKind, RegistryError};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use uuid::Uuid;

use crate::authorize::SCOPES;
use crate::client_auth;
use crate::error::{ErrorCode, ProtocolError};
use crate::handles::{key_of, new_handle};
use crate::params::{scopes, Params};
use crate::session::{address_key, THROTTLE_WINDOW};
use crate::{Provider, TokenRequest};

/// Under the issuer: the device authorization endpoint (the product's identity server's path).
pub const DEVICE_AUTHORIZATION_PATH: &str = "/connect/deviceauthorization";
/// Under the issuer: the verification page, `verification_uri`.
pub const VERIFICATION_PATH: &str = "/device";
/// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
pub const DEFAULT_INTERVAL: u32 = 5;
/// RFC 8628 §6.1: base-20 letters without vowels (no words) and without look-alikes.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// 20^8 ≈ 2^34.5 codes (RFC 8628 §6.1's example), shown `XXXX-XXXX`.
pub const USER_CODE_LENGTH: usize = 8;
/// User codes looked up within [`THROTTLE_WINDOW`] per browser session and per client
/// address (RFC 8628 §5.1). Every look-up is counted before it is checked; one that finds a
/// code is taken back, so a person entering codes of their own is never held up.
pub const MAX_USER_CODE_ATTEMPTS_PER_SESSION: u32 = 10;
pub const MAX_USER_CODE_ATTEMPTS_PER_ADDRESS: u32 = 30;
/// How long an expired device code is kept before the purge deletes it: its device, still
/// polling, is told `expired_token` (RFC 8628 §3.5) rather than `invalid_grant`.
pub const EXPIRED_KEPT: time::Duration = time::Duration::minutes(10);
/// How many user codes are drawn before giving up when each is taken (20^8 codes: never).
const DRAWS: usize = 5;

/// A new user code: [`USER_CODE_LENGTH`] letters of [`USER_CODE_ALPHABET`], uniformly drawn
/// (bytes of 240 and above are drawn again, so that `% 20` has no bias).
pub fn new_user_code() -> Result<String, ProtocolError> {
    let rng = SystemRandom::new();
    let mut code = String::with_capacity(USER_CODE_LENGTH);
    let mut buf = [0u8; 16];
    while code.len() < USER_CODE_LENGTH {
        rng.fill(&mut buf).map_err(|_| ProtocolError::server("no randomness for a user code"))?;
        for b in buf.iter().filter(|b| **b < 240) {
            if code.len() < USER_CODE_LENGTH {
                code.push(char::from(USER_CODE_ALPHABET[usize::from(*b % 20)]));
            }
        }
    }
    Ok(code)
}

/// A typed user code in its stored form: letters upper-cased, dashes and spaces left out
/// (RFC 8628 §6.1: "compare the user input in a case-insensitive way ... and ignore
/// punctuation"). `None` when it cannot be a code of ours.
pub fn normalise_user_code(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    (code.len() == USER_CODE_LENGTH && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b))).then_some(code)
}

/// `XXXX-XXXX`, as the device shows it and the page repeats it.
pub fn display_user_code(normalised: &str) -> String {
    let (a, b) = normalised.split_at(normalised.len().min(USER_CODE_LENGTH / 2));
    format!("{a}-{b}")
}

fn user_code_key(normalised: &str) -> SecretHashKey {
    key_of(normalised)
}

/// The answer of the device authorization endpoint (RFC 8628 §3.2).
#[derive(Clone, Serialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u32,
    pub interval: u32,
}

/// Never the codes.
impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// A pending device request, as the verification page shows it to the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDevice {
    /// `XXXX-XXXX`, for the person to compare with the device's screen (RFC 8628 §5.4).
    pub user_code: String,
    pub tenant_id: Uuid,
    pub client_name: String,
    pub client_uri: Option<String>,
    pub scopes: Vec<String>,
}

/// What a look-up of a typed user code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCodeLookup {
    Found(PendingDevice),
    /// Unknown, malformed, expired, decided, or its client gone or disabled.
    NotFound,
    /// Too many look-ups from this session or address: nothing was checked.
    Throttled,
}

/// What a person's decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceDecided {
    Approved(PendingDevice),
    Denied(PendingDevice),
    NotFound,
    Throttled,
}

impl Provider {
    /// `POST /identity/connect/deviceauthorization` (RFC 8628 §3.1): a device client (public:
    /// `client_id`, no secret) asks for a device code and a user code.
    pub async fn device_authorization(&self, request: TokenRequest) -> Result<DeviceAuthorization, ProtocolError> {
        let params = Params::new(request.form);
        let now = self.clock.now();
        let authenticated =
            client_auth::authenticate(self.stores.clients.as_ref(), &params, request.authorization.as_deref(), now)
                .await?;
        let client = authenticated.client;
        if client.kind != ClientKind::DeviceCode {
            return Err(ProtocolError::new(
                ErrorCode::UnauthorizedClient,
                "only device code clients may use the device authorization endpoint",
            ));
        }
        let requested = scopes(params.get("scope")?);
        if let Some(bad) = requested.iter().find(|s| !SCOPES.contains(s)) {
            return Err(ProtocolError::new(ErrorCode::InvalidScope, format!("the scope {bad} is unknown")));
        }
        if requested.contains(&"offline_access") && !client.allow_offline_access {
            return Err(ProtocolError::new(
                ErrorCode::InvalidScope,
                "this client may not ask for offline_access (refresh tokens)",
            ));
        }
        if let Some(acr) = params.get("acr_values")? {
            let tenant = acr.split(' ').find_map(|v| v.strip_prefix("tenant:"));
            if tenant.is_some_and(|t| Uuid::parse_str(t).ok() != Some(client.tenant_id)) {
                return Err(ProtocolError::invalid_request("the client does not belong to the tenant in acr_values"));
            }
        }
        let (device_code, handle) = new_handle()?;
        let lifetime = client.device_code_lifetime;
        for _ in 0..DRAWS {
            let user_code = new_user_code()?;
            let record = DeviceCode {
                handle: handle.clone(),
                user_code: user_code_key(&user_code),
                client_id: client.id,
                tenant_id: client.tenant_id,
                scope: requested.join(" "),
                expires: now + time::Duration::seconds(i64::from(lifetime)),
                interval: DEFAULT_INTERVAL,
                last_poll: None,
                status: DeviceStatus::Pending,
            };
            match self.stores.devices.save_device_code(record).await {
                Ok(()) => {
                    let verification_uri = format!("{}{VERIFICATION_PATH}", self.settings.issuer);
                    let shown = display_user_code(&user_code);
                    return Ok(DeviceAuthorization {
                        device_code: device_code.expose().to_owned(),
                        verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
                        verification_uri,
                        user_code: shown,
                        expires_in: lifetime,
                        interval: DEFAULT_INTERVAL,
                    });
                }
                Err(RegistryError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ProtocolError::server("no free user code"))
    }

    /// Counts a look-up of a user code against the session (if any) and the address, in the
    /// store every instance shares, before anything is checked. `None` when over a limit.
    async fn count_user_code_attempt(
        &self,
        session: Option<&Session>,
        address: Option<IpAddr>,
    ) -> Result<Option<Vec<String>>, ProtocolError> {
        let mut keys = vec![format!("device/{}", address_key(address))];
        if let Some(s) = session {
            keys.push(format!("device/session/{}", s.sid));
        }
        let counts = self.stores.throttle.count_attempt(&keys, self.clock.now(), THROTTLE_WINDOW).await?;
        let within = counts.first().is_some_and(|n| *n <= MAX_USER_CODE_ATTEMPTS_PER_ADDRESS)
            && counts.get(1).is_none_or(|n| *n <= MAX_USER_CODE_ATTEMPTS_PER_SESSION);
        Ok(within.then_some(keys))
    }

    /// The pending request a typed user code names, with its client as stored now.
    async fn pending(&self, typed: &str) -> Result<Option<(DeviceCode, PendingDevice)>, ProtocolError> {
        let Some(code) = normalise_user_code(typed) else { return Ok(None) };
        let Some(record) = self.stores.devices.find_user_code(&user_code_key(&code), self.clock.now()).await? else {
            return Ok(None);
        };
        let client = self.stores.clients.find_client(record.client_id).await?.map(|(c, _)| c);
        let Some(client) = client.filter(|c| c.enabled && c.kind == ClientKind::DeviceCode) else {
            return Ok(None);
        };
        let shown = PendingDevice {
            user_code: display_user_code(&code),
            tenant_id: record.tenant_id,
            client_name: client.name,
            client_uri: client.client_uri,
            scopes: scopes(Some(&record.scope)).into_iter().map(str::to_owned).collect(),
        };
        Ok(Some((record, shown)))
    }

    /// The verification page looks up what the person typed (or what
    /// `verification_uri_complete` carried), counted first (RFC 8628 §5.1).
    pub async fn look_up_user_code(
        &self,
        typed: &str,
        session: Option<&Session>,
        address: Option<IpAddr>,
    ) -> Result<UserCodeLookup, ProtocolError> {
        let Some(keys) = self.count_user_code_attempt(session, address).await? else {
            return Ok(UserCodeLookup::Throttled);
        };
        Ok(match self.pending(typed).await? {
            Some((_, shown)) => {
                self.forgive(&keys).await?;
                UserCodeLookup::Found(shown)
            }
            None => UserCodeLookup::NotFound,
        })
    }

    /// The signed-in person approves or denies the request a user code names. The session
    /// must be of the client's tenant and its user enabled; the decision is recorded once,
    /// atomically, while the code is pending and live.
    pub async fn decide_device(
        &self,
        typed: &str,
        approve: bool,
        session: &Session,
        address: Option<IpAddr>,
    ) -> Result<DeviceDecided, ProtocolError> {
        let Some(keys) = self.count_user_code_attempt(Some(session), address).await? else {
            return Ok(DeviceDecided::Throttled);
        };
        let Some((record, shown)) = self.pending(typed).await? else { return Ok(DeviceDecided::NotFound) };
        self.forgive(&keys).await?;
        let user = self.stores.users.get_user(session.tenant_id, session.user_id).await;
        if record.tenant_id != session.tenant_id || !user.is_ok_and(|u| u.enabled) {
            return Ok(DeviceDecided::NotFound);
        }
        let decision = if approve {
            DeviceDecision::Approve(Approval {
                user_id: session.user_id,
                sid: session.sid.clone(),
                auth_time: session.auth_time,
                family: Uuid::new_v4(),
            })
        } else {
            DeviceDecision::Deny
        };
        let decided = self.stores.devices.decide_device_code(&record.user_code, decision, self.clock.now()).await?;
        Ok(match decided {
            Some(_) if approve => DeviceDecided::Approved(shown),
            Some(_) => DeviceDecided::Denied(shown),
            None => DeviceDecided::NotFound,
        })
    }

    async fn forgive(&self, keys: &[String]) -> Result<(), ProtocolError> {
        for key in keys {
            self.stores.throttle.forgive_attempt(key).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_letters_of_the_alphabet() {
        for _ in 0..200 {
            let code = new_user_code().expect("code");
            assert_eq!(code.len(), USER_CODE_LENGTH);
            assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{code}");
        }
        assert_ne!(new_user_code().expect("code"), new_user_code().expect("code"));
    }

    #[test]
    fn typed_codes_ignore_case_dashes_and_spaces() {
        assert_eq!(normalise_user_code("wdjb-mjht").as_deref(), Some("WDJBMJHT"));
        assert_eq!(normalise_user_code(" WDJB MJHT ").as_deref(), Some("WDJBMJHT"));
        assert_eq!(normalise_user_code("W-D-J-B-M-J-H-T").as_deref(), Some("WDJBMJHT"));
        assert_eq!(normalise_user_code("WDJB-MJH"), None, "too short");
        assert_eq!(normalise_user_code("WDJA-MJHT"), None, "a vowel is never in a code");
        assert_eq!(normalise_user_code("WDJB-MJHTX"), None, "too long");
        assert_eq!(display_user_code("WDJBMJHT"), "WDJB-MJHT");
    }
}
