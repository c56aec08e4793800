//! The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3):
//! single use, bound to the client, the exact redirect URI and the PKCE challenge. A replay
//! revokes what the code issued (RFC 6749 §4.1.2).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_registry::grant::{AuthorizationCode, CodeUse, RefreshToken, WithUser};
use gatehouse_registry::{Client, User};
use ring::digest::{digest, SHA256};
use subtle::ConstantTimeEq;

use crate::error::{ErrorCode, ProtocolError};
use crate::grants::UserGrant;
use crate::handles::{key_of, new_handle};
use crate::params::{scopes, Params};
use crate::tokens::TokenResponse;
use crate::Provider;

fn invalid_grant(d: &'static str) -> ProtocolError {
    ProtocolError::new(ErrorCode::InvalidGrant, d)
}

/// RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge.
fn pkce_holds(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
        (None, None) => true,
        // RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~], the same shape as a challenge.
        (Some(c), Some(v)) if crate::authorize::valid_challenge(v) => {
            URL_SAFE_NO_PAD.encode(digest(&SHA256, v.as_bytes())).as_bytes().ct_eq(c.as_bytes()).into()
        }
        _ => false,
    }
}

pub(crate) async fn grant(
    provider: &Provider,
    client: &Client,
    params: &Params,
    origin: &gatehouse_registry::audit::Origin,
) -> Result<TokenResponse, ProtocolError> {
    let code_value = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.get("code_verifier")?;
    let now = provider.clock.now();
    let code = match provider.stores.grants.use_code(&key_of(code_value), now).await? {
        CodeUse::Fresh(code) => *code,
        CodeUse::Replayed(code) => {
            let why = "an authorization code was presented again";
            let event = super::family_revoked(client, Some(code.family), now, origin, why);
            provider.stores.grants.revoke_family(code.family, now, Some(&event)).await?;
            return Err(invalid_grant("the code was already used; the tokens it issued are revoked"));
        }
        CodeUse::Unknown => return Err(invalid_grant("the code is unknown or expired")),
    };
    let WithUser { record: code, user } = code;
    if code.client_id != client.id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if code.redirect_uri != redirect_uri {
        return Err(invalid_grant("redirect_uri differs from the authorization request's"));
    }
    if !pkce_holds(code.code_challenge.as_deref(), verifier) {
        return Err(invalid_grant("the code_verifier does not match the code_challenge"));
    }
    provider.tokens_for_code(client, &code, user.as_ref()).await
}

impl Provider {
    async fn tokens_for_code(
        &self,
        client: &Client,
        code: &AuthorizationCode,
        user: Option<&User>,
    ) -> Result<TokenResponse, ProtocolError> {
        let grant = UserGrant {
            family: code.family,
            sid: &code.sid,
            auth_time: code.auth_time,
            nonce: code.nonce.as_deref(),
            scope: code.scope.clone(),
        };
        let mut response = self.user_tokens(client, &grant, user)?;
        let offline = scopes(Some(&code.scope)).contains(&"offline_access");
        if offline && !client.allow_offline_access {
            // The client lost AllowOfflineAccess since the code was issued: no refresh token,
            // and the answered scope says so.
            response.scope =
                scopes(Some(&code.scope)).into_iter().filter(|s| *s != "offline_access").collect::<Vec<_>>().join(" ");
        }
        // Refresh tokens only while the client may have them, read on this request.
        if scopes(Some(&code.scope)).contains(&"offline_access") && client.allow_offline_access {
            let now = self.clock.now();
            let (value, handle) = new_handle()?;
            self.stores
                .grants
                .save_refresh(RefreshToken {
                    handle,
                    family: code.family,
                    client_id: client.id,
                    tenant_id: code.tenant_id,
                    user_id: code.user_id,
                    scope: code.scope.clone(),
                    sid: code.sid.clone(),
                    auth_time: code.auth_time,
                    created: now,
                    absolute_expiry: now + self.settings.refresh_absolute,
                    expires: now + self.settings.refresh_sliding,
                    consumed: None,
                })
                .await?;
            response.refresh_token = Some(value.expose().to_owned());
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_from_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_holds(Some(challenge), Some(verifier)));
        assert!(!pkce_holds(Some(challenge), Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx")));
        assert!(!pkce_holds(Some(challenge), None));
        assert!(!pkce_holds(None, Some(verifier)));
        assert!(pkce_holds(None, None));
    }
}
