//! The `client_credentials` grant (RFC 6749 §4.4): ClientCredential clients only, no
//! refresh token, no `openid` (protocol.md, Token).

use gatehouse_registry::{Client, ClientKind};

use crate::error::{ErrorCode, ProtocolError};
use crate::params::{scopes, Params};
use crate::tokens::TokenResponse;
use crate::Provider;

// Each token gets a family of its own, so that RFC 7009 revocation can withdraw it.

/// The only scope a machine client may ask for, and what it gets when it asks for none.
const ALLOWED: &str = "ocsapi";

pub(crate) async fn grant(
    provider: &Provider,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, ProtocolError> {
    if client.kind != ClientKind::ClientCredential {
        return Err(ProtocolError::new(
            ErrorCode::UnauthorizedClient,
            "only client-credentials clients may use the client_credentials grant",
        ));
    }
    let requested = scopes(params.get("scope")?);
    if let Some(bad) = requested.iter().find(|s| **s != ALLOWED) {
        return Err(ProtocolError::new(
            ErrorCode::InvalidScope,
            format!("the scope {bad} is not available to client-credentials clients"),
        ));
    }
    let now = provider.clock.now();
    let (access_token, _) =
        provider.issue_access_token(client, client.id.to_string(), ALLOWED, Some(uuid::Uuid::new_v4()), now)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: client.access_token_lifetime,
        scope: ALLOWED.into(),
        refresh_token: None,
        id_token: None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use gatehouse_registry::store::memory::MemoryStore;
    use gatehouse_registry::store::TenantStore;
    use gatehouse_registry::{ClientChanges, NewSecret, SecretValue, Tenant, TenantSeed, TENANT_MEMBER};
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};
    use uuid::Uuid;

    use crate::clock::FixedClock;
    use crate::grants::TokenRequest;
    use crate::tokens::AccessTokenClaims;
    use crate::{Provider, Settings};

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    async fn setup(lifetime: i64, expires_in: Duration) -> (Provider, Arc<FixedClock>, Client, SecretValue) {
        let store = Arc::new(MemoryStore::new());
        let tenant_id = Uuid::new_v4();
        let changes =
            ClientChanges { name: Some("m2m".into()), access_token_lifetime: Some(lifetime), ..Default::default() };
        let client = Client::create(tenant_id, ClientKind::ClientCredential, changes, NOW).expect("valid");
        let secret = SecretValue::generate().expect("rng");
        let new = NewSecret {
            description: String::new(),
            expiration: Some(NOW + expires_in),
            hash: secret.hash(),
            created: NOW,
        };
        store
            .create_tenant(TenantSeed {
                tenant: Tenant { id: tenant_id, name: "t".into(), created: NOW },
                users: vec![],
                clients: vec![(client.clone(), Some(new))],
            })
            .await
            .expect("seed");
        let clock = Arc::new(FixedClock::at(NOW));
        let settings = Settings::new("https://id.example.com/identity");
        let provider = Provider::new(crate::Stores::of(store), clock.clone(), settings).await.expect("provider");
        (provider, clock, client, secret)
    }

    fn basic(client: &Client, secret: &SecretValue) -> TokenRequest {
        TokenRequest {
            form: vec![("grant_type".into(), "client_credentials".into())],
            authorization: Some(format!("Basic {}", STANDARD.encode(format!("{}:{}", client.id, secret.expose())))),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn issues_a_token_whose_lifetime_is_the_clients() {
        let (provider, _, client, secret) = setup(120, Duration::days(1)).await;
        let response = provider.token(basic(&client, &secret)).await.expect("token");
        assert_eq!((response.expires_in, response.scope.as_str(), response.refresh_token), (120, "ocsapi", None));
        let payload = provider.keys.verify(&response.access_token, "at+jwt").expect("verify");
        let claims: AccessTokenClaims = serde_json::from_slice(&payload).expect("claims");
        assert_eq!(claims.exp - claims.iat, 120);
        assert_eq!(claims.iat, NOW.unix_timestamp());
        assert_eq!((claims.sub, claims.client_id.clone()), (client.id.to_string(), client.id.to_string()));
        assert_eq!((claims.tid, claims.roles), (client.tenant_id, vec![TENANT_MEMBER]));
        assert_eq!(claims.iss, "https://id.example.com/identity");
    }

    #[tokio::test]
    async fn an_expired_secret_never_authenticates() {
        let (provider, clock, client, secret) = setup(3600, Duration::minutes(5)).await;
        assert!(provider.token(basic(&client, &secret)).await.is_ok());
        clock.advance(Duration::minutes(5));
        let err = provider.token(basic(&client, &secret)).await.expect_err("expired");
        assert_eq!((err.code, err.via_header), (ErrorCode::InvalidClient, true));
    }

    #[tokio::test]
    async fn scopes_beyond_ocsapi_are_refused() {
        let (provider, _, client, secret) = setup(3600, Duration::days(1)).await;
        let mut request = basic(&client, &secret);
        request.form.push(("scope".into(), "ocsapi openid".into()));
        assert_eq!(provider.token(request).await.expect_err("openid").code, ErrorCode::InvalidScope);
    }
}
