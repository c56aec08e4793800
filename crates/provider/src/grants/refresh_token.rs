//! The `refresh_token` grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700
//! §4.14.2): each use consumes the token and answers its successor; a retry within the
//! grace window answers the same successor; a reuse after it revokes the family.

use gatehouse_registry::grant::{RefreshUse, WithUser};
use gatehouse_registry::Client;

use crate::error::{ErrorCode, ProtocolError};
use crate::grants::UserGrant;
use crate::handles::{key_of, successor};
use crate::params::{scopes, Params};
use crate::tokens::TokenResponse;
use crate::Provider;

fn invalid_grant(d: &'static str) -> ProtocolError {
    ProtocolError::new(ErrorCode::InvalidGrant, d)
}

pub(crate) async fn grant(
    provider: &Provider,
    client: &Client,
    params: &Params,
    origin: &gatehouse_registry::audit::Origin,
) -> Result<TokenResponse, ProtocolError> {
    // Checked live: a client that loses AllowOfflineAccess loses its refresh tokens at once.
    if !client.allow_offline_access {
        return Err(invalid_grant("this client may no longer use refresh tokens"));
    }
    let presented = params.require("refresh_token")?;
    // A too-wide scope is refused before the token is spent (RFC 6749 §6).
    if let Some(asked) = params.get("scope")? {
        if let Some(stored) = provider.stores.grants.find_refresh(&key_of(presented)).await? {
            let granted = scopes(Some(&stored.scope));
            if scopes(Some(asked)).iter().any(|s| !granted.contains(s)) {
                return Err(ProtocolError::new(ErrorCode::InvalidScope, "the scope exceeds what was granted"));
            }
        }
    }
    let next = successor(&provider.refresh_key, presented);
    let s = &provider.settings;
    let now = provider.clock.now();
    // A public client's token is bound by its `client_id` alone: whoever holds a copy could
    // take the successor within a grace window, so it has none (issue 9, decision 40).
    let grace = if client.kind.has_secrets() { s.refresh_grace } else { time::Duration::ZERO };
    // Written only if this presentation is a reuse (no round trip of its own).
    let reuse = super::family_revoked(client, None, now, origin, "a refresh token was presented again");
    let used = provider
        .stores
        .grants
        .use_refresh(client.id, &key_of(presented), key_of(next.expose()), now, s.refresh_sliding, grace, Some(&reuse))
        .await?;
    let WithUser { record: token, user } = match used {
        RefreshUse::Rotated(t) | RefreshUse::Retried(t) => *t,
        RefreshUse::Reused => return Err(invalid_grant("the refresh token was already used; its tokens are revoked")),
        RefreshUse::Invalid => return Err(invalid_grant("the refresh token is unknown, expired or revoked")),
    };
    let granted = scopes(Some(&token.scope));
    let scope = match params.get("scope")? {
        // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
        Some(asked) => {
            let asked = scopes(Some(asked));
            if asked.iter().any(|s| !granted.contains(s)) {
                return Err(ProtocolError::new(ErrorCode::InvalidScope, "the scope exceeds what was granted"));
            }
            asked.join(" ")
        }
        None => token.scope.clone(),
    };
    let grant = UserGrant { family: token.family, sid: &token.sid, auth_time: token.auth_time, nonce: None, scope };
    let response = provider.user_tokens(client, &grant, user.as_ref())?;
    Ok(TokenResponse { refresh_token: Some(next.expose().to_owned()), ..response })
}
