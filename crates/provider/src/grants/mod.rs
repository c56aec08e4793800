//! The token endpoint: one file per grant type.

use gatehouse_registry::audit::{family_target, Actor, AuditAction, AuditEvent, Origin};

use crate::client_auth::{self, AuthenticatedClient};
use crate::error::{ErrorCode, ProtocolError};
use crate::params::Params;
use crate::tokens::TokenResponse;
use crate::Provider;

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

/// A request to the token endpoint, as the server received it.
#[derive(Clone, Default)]
pub struct TokenRequest {
    /// The form body, in order, repeats kept (so that repeats can be refused).
    pub form: Vec<(String, String)>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// Where it came from, for the audit trail of what it revokes.
    pub origin: Origin,
}

/// The names of the parameters only: their values are codes, tokens and secrets.
impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.form.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("TokenRequest")
            .field("form", &names)
            .field("authorization", &self.authorization.as_ref().map(|_| "<redacted>"))
            .field("origin", &self.origin)
            .finish()
    }
}

impl Provider {
    /// Answers a token request: authenticates the client, then runs its grant.
    pub async fn token(&self, request: TokenRequest) -> Result<TokenResponse, ProtocolError> {
        let params = Params::new(request.form);
        let grant_type = params.require("grant_type")?.to_owned();
        let now = self.clock.now();
        let client =
            client_auth::authenticate(self.stores.clients.as_ref(), &params, request.authorization.as_deref(), now)
                .await?;
        let via_header = client.via_header;
        self.grant(&grant_type, client, &params, &request.origin)
            .await
            .map_err(|e| ProtocolError { via_header: via_header && e.code == ErrorCode::InvalidClient, ..e })
    }

    async fn grant(
        &self,
        grant_type: &str,
        client: AuthenticatedClient,
        params: &Params,
        origin: &Origin,
    ) -> Result<TokenResponse, ProtocolError> {
        match grant_type {
            "client_credentials" => client_credentials::grant(self, &client.client, params).await,
            "authorization_code" => authorization_code::grant(self, &client.client, params, origin).await,
            "refresh_token" => refresh_token::grant(self, &client.client, params, origin).await,
            device_code::GRANT_TYPE => device_code::grant(self, &client.client, params).await,
            other => Err(ProtocolError::new(
                ErrorCode::UnsupportedGrantType,
                format!("the grant type {other} is not supported"),
            )),
        }
    }
}

/// The audit event of `client` revoking grant `family` (`None`: the store names it), and why.
pub(crate) fn family_revoked(
    client: &gatehouse_registry::Client,
    family: Option<uuid::Uuid>,
    now: time::OffsetDateTime,
    origin: &Origin,
    why: &str,
) -> AuditEvent {
    let target = family.map(family_target).unwrap_or_default();
    AuditEvent::new(
        Some(client.tenant_id),
        now,
        Actor::Client(client.id),
        AuditAction::TokenFamilyRevoke,
        target,
        origin,
    )
    .with_detail(why)
}

/// A user's grant, as a code or a refresh token carries it.
#[derive(Debug)]
pub(crate) struct UserGrant<'a> {
    pub family: uuid::Uuid,
    pub sid: &'a str,
    pub auth_time: time::OffsetDateTime,
    pub nonce: Option<&'a str>,
    pub scope: String,
}

impl Provider {
    /// The access token and (with `openid`) the ID token of a user's grant, for `user` as
    /// the store read it with the grant: a disabled or deleted user gets nothing.
    pub(crate) fn user_tokens(
        &self,
        client: &gatehouse_registry::Client,
        grant: &UserGrant<'_>,
        user: Option<&gatehouse_registry::User>,
    ) -> Result<TokenResponse, ProtocolError> {
        let now = self.clock.now();
        // A user created after the sign-in (a deleted id created again) is someone else.
        let Some(user) = user.filter(|u| u.may_hold(grant.auth_time.unix_timestamp())) else {
            return Err(ProtocolError::new(ErrorCode::InvalidGrant, "the user is no longer active"));
        };
        let (access_token, _) =
            self.issue_access_token(client, user.id.to_string(), &grant.scope, Some(grant.family), now)?;
        let granted = crate::params::scopes(Some(&grant.scope));
        let id_token = if granted.contains(&"openid") {
            let parts = crate::id_token::IdTokenParts {
                nonce: grant.nonce,
                access_token: Some(&access_token),
                code: None,
                sid: grant.sid,
                auth_time: Some(grant.auth_time),
                scopes: &granted,
            };
            Some(self.issue_id_token(client, user, parts, now)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: client.access_token_lifetime,
            scope: grant.scope.clone(),
            refresh_token: None,
            id_token,
        })
    }
}
