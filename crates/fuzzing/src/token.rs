//! The token target: a token request as the server receives it. The bytes up to the first
//! newline are the `Authorization` header (none when that line is empty, or when there is
//! no newline at all: then the bytes are the body alone); the rest is the form body.
//!
//! The request goes to `Provider::token`, then `introspect`, `revoke` and
//! `device_authorization` (which read the same form and header), and each error through the
//! server's one mapping to HTTP. Before each input a code, a refresh token and device codes of
//! known values are stored afresh (see [`KNOWN`] and [`KNOWN_DEVICE`]), so that the grants'
//! checks behind the lookup are reached too.

use actix_web::http::header::HeaderValue;
use actix_web::ResponseError;
use gatehouse_provider::handles::key_of;
use gatehouse_provider::TokenRequest;
use gatehouse_registry::device::{Approval, DeviceCode, DeviceStatus};
use gatehouse_registry::grant::{AuthorizationCode, RefreshToken};
use gatehouse_registry::store::{DeviceCodeStore, GrantStore};
use gatehouse_server::http_error::OAuthError;
use time::Duration;
use uuid::Uuid;

use crate::world::{world, DEVICE, HYBRID, NOW, PUBLIC, REDIRECT, TENANT, USER};

/// The code and refresh token values stored for each client before each input: the
/// hybrid client's without a prefix, the public client's with `public-`.
pub const KNOWN: [&str; 2] = ["fuzz-code", "fuzz-refresh"];
/// The device client's device codes stored before each input: one a person approved, one
/// still pending.
pub const KNOWN_DEVICE: [&str; 2] = ["fuzz-device-approved", "fuzz-device-pending"];
/// The code challenge stored with the codes: S256 of the verifier of RFC 7636 Appendix B,
/// `dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk`.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub fn token(data: &[u8]) {
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    // The server reads the header with `HeaderValue::to_str` and refuses one that is not
    // visible ASCII before the provider sees it.
    let authorization = match header {
        [] => None,
        bytes => match HeaderValue::from_bytes(bytes).ok().and_then(|v| v.to_str().ok().map(str::to_owned)) {
            Some(value) => Some(value),
            None => return,
        },
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let request = TokenRequest { form, authorization, ..Default::default() };
    let world = world();
    world.block_on(async {
        if store_known_grants().await.is_err() {
            return;
        }
        match world.provider.token(request.clone()).await {
            Ok(response) => {
                std::hint::black_box(serde_json::to_vec(&response).ok());
            }
            Err(e) => {
                std::hint::black_box(OAuthError(e).error_response());
            }
        }
        if let Err(e) = world.provider.introspect(request.clone()).await {
            std::hint::black_box(OAuthError(e).error_response());
        }
        if let Err(e) = world.provider.revoke(request.clone()).await {
            std::hint::black_box(OAuthError(e).error_response());
        }
        match world.provider.device_authorization(request).await {
            Ok(answer) => {
                std::hint::black_box(answer);
            }
            Err(e) => {
                std::hint::black_box(OAuthError(e).error_response());
            }
        }
    });
}

/// A fresh code and refresh token of known value for both browser clients, in new grant
/// families, so that nothing a previous input did (a code spent, a family revoked) changes
/// how this one is answered.
async fn store_known_grants() -> Result<(), gatehouse_registry::RegistryError> {
    let world = world();
    let sid = world.session.record.sid.clone();
    for (client_id, prefix) in [(HYBRID, ""), (PUBLIC, "public-")] {
        let [code, refresh] = KNOWN.map(|k| format!("{prefix}{k}"));
        world
            .store
            .save_code(AuthorizationCode {
                handle: key_of(&code),
                client_id,
                tenant_id: TENANT,
                user_id: USER,
                redirect_uri: REDIRECT.into(),
                scope: "openid profile email offline_access".into(),
                nonce: Some("n-0S6_WzA2Mj".into()),
                code_challenge: Some(CHALLENGE.into()),
                sid: sid.clone(),
                auth_time: NOW,
                expires: NOW + Duration::minutes(5),
                family: Uuid::new_v4(),
            })
            .await?;
        world
            .store
            .save_refresh(RefreshToken {
                handle: key_of(&refresh),
                family: Uuid::new_v4(),
                client_id,
                tenant_id: TENANT,
                user_id: USER,
                scope: "openid profile offline_access".into(),
                sid: sid.clone(),
                auth_time: NOW,
                created: NOW,
                absolute_expiry: NOW + Duration::days(30),
                expires: NOW + Duration::days(15),
                consumed: None,
            })
            .await?;
    }
    // Those of the input before, spent or not, go first: a device code's handle is stored once.
    let expires = NOW + Duration::minutes(5);
    world.store.purge_device_codes(expires).await?;
    let approval = Approval { user_id: USER, sid, auth_time: NOW, family: Uuid::new_v4() };
    for (known, status) in KNOWN_DEVICE.into_iter().zip([DeviceStatus::Approved(approval), DeviceStatus::Pending]) {
        world
            .store
            .save_device_code(DeviceCode {
                handle: key_of(known),
                user_code: key_of(&format!("user-code-of-{known}")),
                client_id: DEVICE,
                tenant_id: TENANT,
                scope: "openid profile offline_access".into(),
                expires,
                interval: 5,
                last_poll: None,
                status,
            })
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use gatehouse_provider::TokenRequest;

    use super::*;

    /// The seeds reach the device grant behind its look-up: the approved code gets tokens,
    /// the pending one `authorization_pending`.
    #[test]
    fn the_known_device_codes_reach_the_grant() {
        let world = world();
        let poll = |code: &str| TokenRequest {
            form: [
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", "66666666-6666-4666-8666-666666666666"),
                ("device_code", code),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
            ..Default::default()
        };
        world.block_on(async {
            store_known_grants().await.expect("stored");
            let [approved, pending] = KNOWN_DEVICE;
            let tokens = world.provider.token(poll(approved)).await.expect("tokens");
            let tokens = serde_json::to_value(&tokens).expect("json");
            assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string(), "{tokens}");
            let pending = world.provider.token(poll(pending)).await.expect_err("pending");
            assert_eq!(pending.code.as_str(), "authorization_pending");
        });
    }
}
