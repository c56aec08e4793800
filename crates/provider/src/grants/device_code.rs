//! The device code grant (RFC 8628 §3.4, §3.5): a device client polls with its device code
//! until the person decides. Device code clients only; each approval is redeemed once (the
//! store decides, atomically); the tokens are those of any user grant, for the client and
//! the user as stored now.

use gatehouse_registry::device::{DevicePoll, DeviceStatus};
use gatehouse_registry::grant::RefreshToken;
use gatehouse_registry::{Client, ClientKind};

use crate::error::{ErrorCode, ProtocolError};
use crate::grants::UserGrant;
use crate::handles::{key_of, new_handle};
use crate::params::{scopes, Params};
use crate::tokens::TokenResponse;
use crate::Provider;

/// RFC 8628 §3.4.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub(crate) async fn grant(
    provider: &Provider,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, ProtocolError> {
    if client.kind != ClientKind::DeviceCode {
        return Err(ProtocolError::new(
            ErrorCode::UnauthorizedClient,
            "only device code clients may use the device code grant",
        ));
    }
    let device_code = params.require("device_code")?;
    let now = provider.clock.now();
    let record = match provider.stores.devices.poll_device_code(client.id, &key_of(device_code), now).await? {
        DevicePoll::Approved(record) => record,
        DevicePoll::Pending => {
            return Err(ProtocolError::new(ErrorCode::AuthorizationPending, "the user has not decided yet"))
        }
        DevicePoll::SlowDown { interval } => {
            return Err(ProtocolError::new(
                ErrorCode::SlowDown,
                format!("polled too often; wait {interval} seconds between requests"),
            ))
        }
        DevicePoll::Denied => return Err(ProtocolError::new(ErrorCode::AccessDenied, "the user denied the request")),
        DevicePoll::Expired => return Err(ProtocolError::new(ErrorCode::ExpiredToken, "the device code has expired")),
        DevicePoll::Invalid => {
            return Err(ProtocolError::new(ErrorCode::InvalidGrant, "the device code is unknown or already used"))
        }
    };
    let DeviceStatus::Approved(approval) = &record.status else {
        return Err(ProtocolError::server("an approved device code without its approval"));
    };
    // Approved by someone whose grants were revoked since (a password reset, a delete): the
    // approval went with them.
    if provider.stores.grants.family_revoked(approval.family).await? {
        return Err(ProtocolError::new(ErrorCode::InvalidGrant, "the device code is unknown or already used"));
    }
    // The client may have lost AllowOfflineAccess since: no refresh token, and the answered
    // scope says so.
    let offline = client.allow_offline_access && scopes(Some(&record.scope)).contains(&"offline_access");
    let scope = scopes(Some(&record.scope))
        .into_iter()
        .filter(|s| offline || *s != "offline_access")
        .collect::<Vec<_>>()
        .join(" ");
    let grant = UserGrant {
        family: approval.family,
        sid: &approval.sid,
        auth_time: approval.auth_time,
        nonce: None,
        scope: scope.clone(),
    };
    // The user as stored now: one read after the poll (a redemption is rare beside the
    // polls, so the poll itself stays a read of one row).
    let user = match provider.stores.users.get_user(record.tenant_id, approval.user_id).await {
        Ok(user) => Some(user),
        Err(gatehouse_registry::RegistryError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mut response = provider.user_tokens(client, &grant, user.as_ref())?;
    if offline {
        let (value, handle) = new_handle()?;
        let s = &provider.settings;
        provider
            .stores
            .grants
            .save_refresh(RefreshToken {
                handle,
                family: approval.family,
                client_id: client.id,
                tenant_id: record.tenant_id,
                user_id: approval.user_id,
                scope: record.scope.clone(),
                sid: approval.sid.clone(),
                auth_time: approval.auth_time,
                created: now,
                absolute_expiry: now + s.refresh_absolute,
                expires: now + s.refresh_sliding,
                consumed: None,
            })
            .await?;
        response.refresh_token = Some(value.expose().to_owned());
    }
    Ok(response)
}
