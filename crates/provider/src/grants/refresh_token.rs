//! The `refresh_token` grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700
//! §4.14.2): each use consumes the token and answers its successor; a retry within the
//! grace window answers the same successor; a reuse after it revokes the family.

use gatehouse_registry::grant::RefreshUse;
use gatehouse_registry::Client;

use crate::error::{ErrorCode, ProtocolError};
use crate::handles::{key_of, successor};
use crate::id_token::IdTokenParts;
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
) -> Result<TokenResponse, ProtocolError> {
    // Checked live: a client that loses AllowOfflineAccess loses its refresh tokens at once.
    if !client.allow_offline_access {
        return Err(invalid_grant("this client may no longer use refresh tokens"));
    }
    let presented = params.require("refresh_token")?;
    let next = successor(&provider.refresh_key, presented);
    let s = &provider.settings;
    let now = provider.clock.now();
    let used = provider
        .store
        .use_refresh(client.id, &key_of(presented), key_of(next.expose()), now, s.refresh_sliding, s.refresh_grace)
        .await?;
    let token = match used {
        RefreshUse::Rotated(t) | RefreshUse::Retried(t) => t,
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
    let user = match provider.store.get_user(token.tenant_id, token.user_id).await {
        Ok(u) if u.enabled => u,
        _ => return Err(invalid_grant("the user is no longer active")),
    };
    let (access_token, _) =
        provider.issue_access_token(client, user.id.to_string(), &scope, Some(token.family), now)?;
    let final_scopes = scopes(Some(&scope));
    let id_token = if final_scopes.contains(&"openid") {
        let parts = IdTokenParts {
            nonce: None,
            access_token: Some(&access_token),
            code: None,
            sid: &token.sid,
            auth_time: Some(token.auth_time),
            scopes: &final_scopes,
        };
        Some(provider.issue_id_token(client, &user, parts, now)?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: client.access_token_lifetime,
        scope,
        refresh_token: Some(next.expose().to_owned()),
        id_token,
    })
}
