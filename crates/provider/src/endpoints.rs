//! Userinfo (OIDC Core §5.3), revocation (RFC 7009), introspection (RFC 7662) and
//! RP-initiated logout (OIDC RP-Initiated Logout 1.0 §2-3).

use gatehouse_registry::grant::Session;
use gatehouse_registry::{Client, ClientKind};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::authorize::redirect_uri_matches;
use crate::client_auth;
use crate::error::{ErrorCode, ProtocolError};
use crate::handles::key_of;
use crate::id_token::standard_claims;
use crate::params::{scopes, Params};
use crate::tokens::AccessTokenClaims;
use crate::{Provider, TokenRequest};

fn invalid_token(detail: impl Into<String>) -> ProtocolError {
    ProtocolError::new(ErrorCode::InvalidToken, "the access token is invalid or expired").with_detail(detail)
}

/// The refresh family an access token was issued from, if any (`{family}.{random}`).
pub(crate) fn family_of(jti: &str) -> Option<Uuid> {
    jti.split_once('.').and_then(|(f, _)| Uuid::parse_str(f).ok())
}

/// What an end-session request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout {
    /// A registered post-logout redirect URI, with `state` appended.
    pub redirect: Option<String>,
    /// The person must be asked before the session ends (RP-Initiated Logout 1.0 §2): the
    /// request does not carry a valid `id_token_hint` for this very session, so it may come
    /// from any site (a link, an image).
    pub confirm: bool,
}

impl Provider {
    /// Verifies one of our access tokens and that nothing behind it has been withdrawn:
    /// signature, type, issuer, lifetime, its family not revoked, its client still enabled.
    /// Answers the claims and the client, as it is now.
    pub async fn verify_access_token(&self, bearer: &str) -> Result<(AccessTokenClaims, Client), ProtocolError> {
        let payload = self.keys.verify(bearer, "at+jwt").map_err(|e| invalid_token(format!("{e:?}")))?;
        let claims: AccessTokenClaims = serde_json::from_slice(&payload).map_err(|e| invalid_token(e.to_string()))?;
        let now = self.clock.now().unix_timestamp();
        if claims.iss != self.settings.issuer || claims.aud != crate::tokens::API_AUDIENCE {
            return Err(invalid_token("issuer or audience mismatch"));
        }
        if now >= claims.exp || now < claims.nbf {
            return Err(invalid_token("expired or not yet valid"));
        }
        if let Some(family) = family_of(&claims.jti) {
            if self.stores.grants.family_revoked(family).await? {
                return Err(invalid_token("revoked"));
            }
        }
        let client_id = Uuid::parse_str(&claims.client_id).map_err(|_| invalid_token("client_id is not a GUID"))?;
        match self.stores.clients.find_client(client_id).await? {
            Some((c, _)) if c.enabled && c.tenant_id == claims.tid => Ok((claims, c)),
            _ => Err(invalid_token("client is disabled or gone")),
        }
    }

    /// The claims of the signed-in user that the token's scopes release.
    pub async fn userinfo(&self, bearer: &str) -> Result<Value, ProtocolError> {
        let (claims, _) = self.verify_access_token(bearer).await?;
        let granted = scopes(Some(&claims.scope));
        if !granted.contains(&"openid") {
            return Err(ProtocolError::new(ErrorCode::InsufficientScope, "the token was not granted the openid scope"));
        }
        let user_id = Uuid::parse_str(&claims.sub).map_err(|_| invalid_token("sub is not a user"))?;
        let user = match self.stores.users.get_user(claims.tid, user_id).await {
            Ok(u) if u.may_hold(claims.iat) => u,
            _ => return Err(invalid_token("the user is disabled or gone")),
        };
        serde_json::to_value(standard_claims(&user, &granted)).map_err(ProtocolError::server)
    }

    /// RFC 7009: revokes a refresh token's family, or an access token's; unknown tokens and
    /// other clients' tokens are answered the same way, with success.
    pub async fn revoke(&self, request: TokenRequest) -> Result<(), ProtocolError> {
        let params = Params::new(request.form);
        let client = client_auth::authenticate(
            self.stores.clients.as_ref(),
            &params,
            request.authorization.as_deref(),
            self.clock.now(),
        )
        .await?
        .client;
        let token = params.require("token")?;
        let now = self.clock.now();
        let why = "the client revoked a token (RFC 7009)";
        if let Some(refresh) = self.stores.grants.find_refresh(&key_of(token)).await? {
            if refresh.client_id == client.id {
                let event = crate::grants::family_revoked(&client, Some(refresh.family), now, &request.origin, why);
                self.stores.grants.revoke_family(refresh.family, now, Some(&event)).await?;
            }
            return Ok(());
        }
        if let Ok(payload) = self.keys.verify(token, "at+jwt") {
            if let Ok(claims) = serde_json::from_slice::<AccessTokenClaims>(&payload) {
                if claims.client_id == client.id.to_string() {
                    if let Some(family) = family_of(&claims.jti) {
                        let event = crate::grants::family_revoked(&client, Some(family), now, &request.origin, why);
                        self.stores.grants.revoke_family(family, now, Some(&event)).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// RFC 7662, for confidential clients of the token's tenant: `{"active": false}` for
    /// anything not valid now.
    pub async fn introspect(&self, request: TokenRequest) -> Result<Value, ProtocolError> {
        let params = Params::new(request.form);
        let caller = client_auth::authenticate(
            self.stores.clients.as_ref(),
            &params,
            request.authorization.as_deref(),
            self.clock.now(),
        )
        .await?
        .client;
        if caller.kind == ClientKind::AuthorizationCode {
            return Err(ProtocolError::new(ErrorCode::UnauthorizedClient, "introspection is for confidential clients"));
        }
        let token = params.require("token")?;
        let inactive = json!({ "active": false });
        if let Ok((claims, client)) = self.verify_access_token(token).await {
            // A user's token is only as good as its user is now.
            let user_ok =
                claims.sub == claims.client_id || self.user_holds(claims.tid, &claims.sub, claims.iat).await?;
            if claims.tid != caller.tenant_id || !user_ok || client.tenant_id != caller.tenant_id {
                return Ok(inactive);
            }
            return Ok(json!({
                "active": true, "token_type": "Bearer", "scope": claims.scope, "client_id": claims.client_id,
                "sub": claims.sub, "iss": claims.iss, "aud": claims.aud, "exp": claims.exp, "iat": claims.iat,
                "nbf": claims.nbf, "jti": claims.jti, "tid": claims.tid,
            }));
        }
        let now = self.clock.now();
        match self.stores.grants.find_refresh(&key_of(token)).await? {
            Some(r)
                if r.tenant_id == caller.tenant_id
                    && r.consumed.is_none()
                    && r.is_live(now)
                    && !self.stores.grants.family_revoked(r.family).await?
                    && self.refresh_usable(&r).await? =>
            {
                Ok(json!({
                    "active": true, "token_type": "refresh_token", "scope": r.scope, "client_id": r.client_id,
                    "sub": r.user_id, "iss": self.settings.issuer, "exp": r.expires.unix_timestamp(),
                    "iat": r.created.unix_timestamp(), "tid": r.tenant_id,
                }))
            }
            _ => Ok(inactive),
        }
    }

    /// Whether the user `sub` may still hold what was issued to it at `issued_at`.
    async fn user_holds(&self, tenant_id: Uuid, sub: &str, issued_at: i64) -> Result<bool, ProtocolError> {
        let Ok(id) = Uuid::parse_str(sub) else { return Ok(false) };
        match self.stores.users.get_user(tenant_id, id).await {
            Ok(u) => Ok(u.may_hold(issued_at)),
            Err(gatehouse_registry::RegistryError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// What the token endpoint would check before honouring a refresh token: its client is
    /// enabled and may still refresh, its user is enabled.
    async fn refresh_usable(&self, r: &gatehouse_registry::grant::RefreshToken) -> Result<bool, ProtocolError> {
        let client_ok = matches!(self.stores.clients.find_client(r.client_id).await?, Some((c, _)) if c.enabled && c.allow_offline_access);
        Ok(client_ok && self.user_holds(r.tenant_id, &r.user_id.to_string(), r.created.unix_timestamp()).await?)
    }

    /// An end-session request, for the browser's `session` if it has one. The browser goes
    /// back only to a URI registered for the client that `id_token_hint` (validated by
    /// signature, expiry ignored) or `client_id` names.
    pub async fn logout(&self, params: &Params, session: Option<&Session>) -> Result<Logout, ProtocolError> {
        // Some(None): a hint was sent and is not one of our ID tokens.
        let hint = params.get("id_token_hint")?.map(|h| self.read_id_token_hint(h));
        let proven = match (&hint, session) {
            (Some(Some(claims)), Some(s)) => {
                claims.subject().as_str() == s.user_id.to_string() && claims.additional_claims().sid == s.sid
            }
            _ => false,
        };
        let redirect = self.logout_redirect(params, hint).await?;
        Ok(Logout { redirect, confirm: session.is_some() && !proven })
    }

    async fn logout_redirect(
        &self,
        params: &Params,
        hint: Option<Option<crate::id_token::Claims>>,
    ) -> Result<Option<String>, ProtocolError> {
        let Some(target) = params.get("post_logout_redirect_uri")? else {
            return Ok(None);
        };
        let from_hint = match hint {
            Some(Some(claims)) => claims.audiences().first().map(|a| a.to_string()),
            Some(None) => return Ok(None),
            None => None,
        };
        let client_id = match (from_hint, params.get("client_id")?) {
            (Some(h), Some(c)) if h != c => return Ok(None),
            (Some(h), _) => h,
            (None, Some(c)) => c.to_owned(),
            (None, None) => return Ok(None),
        };
        let Ok(id) = Uuid::parse_str(&client_id) else { return Ok(None) };
        let Some((client, _)) = self.stores.clients.find_client(id).await? else { return Ok(None) };
        if !client.enabled || !client.post_logout_redirect_uris.iter().any(|r| redirect_uri_matches(r, target)) {
            return Ok(None);
        }
        let mut url = target.to_owned();
        if let Some(state) = params.get("state")? {
            let sep = if url.contains('?') { '&' } else { '?' };
            url.push(sep);
            url.push_str(&url::form_urlencoded::Serializer::new(String::new()).append_pair("state", state).finish());
        }
        Ok(Some(url))
    }
}
