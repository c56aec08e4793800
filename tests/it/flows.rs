//! OpenID Connect flows driven by the `openidconnect` crate as the relying party, with a
//! cookie-keeping HTTP client as the user's browser.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{hidden, Browser, Landing};
use crate::support::{claims, TestServer};

pub const APP: &str = "https://app.example.com/callback";

/// A PKCE verifier and its S256 challenge (RFC 7636, appendix B).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A code + PKCE authorize request of `client` to [`APP`], asking for a refresh token.
pub fn offline_authorize_url(server: &TestServer, client: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", client),
            ("redirect_uri", APP),
            ("response_type", "code"),
            ("scope", "openid offline_access"),
            ("state", "s"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    server.url(&format!("/identity/connect/authorize?{query}"))
}

/// Our authorize URL with `pairs` as its query.
pub fn authorize_url(server: &TestServer, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    server.url(&format!("/identity/connect/authorize?{query}"))
}

/// A code + PKCE request of `client` to [`APP`] (state `s-123`); `extra` replaces or adds
/// parameters, and an empty value removes one.
pub fn code_request<'a>(client: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("client_id", client),
        ("redirect_uri", APP),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "s-123"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        pairs.retain(|(key, _)| key != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    pairs
}

/// The form that exchanges `code` for the public client `client` ([`APP`], [`VERIFIER`]).
pub fn exchange_form<'a>(code: &'a str, client: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", APP),
        ("client_id", client),
        ("code_verifier", VERIFIER),
    ]
}

/// Exchanges `code` for the public client `client`: the token response, which must be 200.
pub async fn exchange_code(server: &TestServer, code: &str, client: &str) -> Value {
    let (status, tokens) = token(server, &exchange_form(code, client)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

/// A token request with `form`: its status and JSON body.
pub async fn token(server: &TestServer, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = server.http.post(server.url("/identity/connect/token")).form(form).send().await.expect("token");
    (response.status(), response.json().await.expect("json"))
}

pub async fn discover(server: &TestServer) -> CoreProviderMetadata {
    let issuer = IssuerUrl::new(format!("{}/identity", server.base)).expect("issuer");
    CoreProviderMetadata::discover_async(issuer, &server.http).await.expect("discovery")
}

/// Registers a client through the admin API and answers its id and (if any) secret.
pub async fn register(server: &TestServer, collection: &str, extra: Value) -> (String, Option<String>) {
    let mut body =
        json!({ "Name": "app", "RedirectUris": [APP], "PostLogoutRedirectUris": ["https://app.example.com/bye"] });
    crate::support::merge(&mut body, extra);
    let (status, created) = server.call(Method::POST, &format!("/{collection}"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let client = if created.get("Client").is_some() { &created["Client"] } else { &created };
    (client["Id"].as_str().expect("id").to_owned(), created["Secret"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn browser_app_signs_in_with_code_and_pkce() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({ "AccessTokenLifetime": 600 })).await;
    let client = CoreClient::from_provider_metadata(discover(&server).await, ClientId::new(id.clone()), None)
        .set_redirect_uri(RedirectUrl::new(APP.into()).expect("url"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("ocsapi".into()))
        .set_pkce_challenge(challenge)
        .url();

    let landed = Browser::new(&server).authorize_as_admin(url.as_str()).await.redirect();
    assert!(landed.as_str().starts_with(APP));
    assert_eq!(Landing::param(&landed, "state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(Landing::param(&landed, "iss"), Some(format!("{}/identity", server.base)));
    let code = Landing::param(&landed, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&server.http)
        .await
        .expect("exchange");
    assert_eq!(tokens.expires_in().map(|d| d.as_secs()), Some(600));
    assert!(tokens.refresh_token().is_none(), "no offline_access, no refresh token");
    let id_token = tokens.id_token().expect("id token");
    let c = id_token.claims(&client.id_token_verifier(), &nonce).expect("verified id token");
    assert_eq!(c.preferred_username().map(|u| u.as_str()), Some("admin"));
    assert!(c.auth_time().is_some());
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&client.id_token_verifier()).expect("key"),
    )
    .expect("hash");
    assert_eq!(c.access_token_hash(), Some(&at_hash));
    let raw = claims(&id_token.to_string());
    assert!(raw["sid"].is_string() && raw["tid"].as_str() == Some(server.tenant.as_str()));
    let access = claims(tokens.access_token().secret());
    assert_eq!(access["exp"].as_i64().unwrap_or(0) - access["iat"].as_i64().unwrap_or(0), 600);

    let info: Value = server
        .http
        .get(server.url("/identity/connect/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("json");
    assert_eq!(info["sub"], c.subject().as_str());
    assert_eq!(info["preferred_username"], "admin");

    // The code is single-use: a replay fails and revokes what it issued.
    let replay =
        client.exchange_code(AuthorizationCode::new(code)).expect("endpoint").request_async(&server.http).await;
    assert_invalid_grant(replay, "already used");
    let after = server
        .http
        .get(server.url("/identity/connect/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .expect("userinfo");
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(after.headers()["www-authenticate"], r#"Bearer error="invalid_token""#);
}

#[tokio::test]
async fn hybrid_app_uses_form_post_then_rotates_refresh_tokens() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = TestServer::start_with(
        tmp.path(),
        &[
            ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", crate::support::BOOT_ID),
            ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", crate::support::BOOT_SECRET),
            ("GATEHOUSE_ADMIN_PASSWORD", crate::support::ADMIN_PASSWORD),
            ("GATEHOUSE_REFRESH_GRACE_SECONDS", "1"),
        ],
    )
    .await;
    let (id, secret) = register(&server, "HybridClients", json!({ "AllowOfflineAccess": true })).await;
    let client = CoreClient::from_provider_metadata(
        discover(&server).await,
        ClientId::new(id.clone()),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(APP.into()).expect("url"));
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::Hybrid(vec![CoreResponseType::Code, CoreResponseType::IdToken]),
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("offline_access".into()))
        .add_extra_param("response_mode", "form_post")
        .url();
    let Landing::Page(StatusCode::OK, page) = Browser::new(&server).authorize_as_admin(url.as_str()).await else {
        panic!("form_post answers a page");
    };
    assert!(page.contains(&format!("action=\"{APP}\"")), "{page}");
    assert_eq!(hidden(&page, "state").as_deref(), Some(state.secret().as_str()));
    let front_id_token: openidconnect::core::CoreIdToken =
        hidden(&page, "id_token").expect("id_token").parse().expect("jwt");
    let front = front_id_token.claims(&client.id_token_verifier(), &nonce).expect("front-channel id token verifies");
    let code = hidden(&page, "code").expect("code");
    assert!(front.code_hash().is_some(), "c_hash in the front-channel id token");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .expect("endpoint")
        .request_async(&server.http)
        .await
        .expect("exchange");
    let first = tokens.refresh_token().expect("refresh token").clone();
    let refresh = |token: &RefreshToken| {
        let (token, client, http) = (token.clone(), &client, &server.http);
        async move { client.exchange_refresh_token(&token).expect("endpoint").request_async(http).await }
    };

    let rotated = refresh(&first).await.expect("refresh");
    let second = rotated.refresh_token().expect("successor").clone();
    assert_ne!(second.secret(), first.secret());
    // A retry within the grace window (a lost response) answers the same successor.
    let retried = refresh(&first).await.expect("retry");
    assert_eq!(retried.refresh_token().map(RefreshToken::secret), Some(second.secret()));
    // After it, presenting the consumed token is reuse: it and the whole family die.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_invalid_grant(refresh(&first).await, "");
    assert_invalid_grant(refresh(&second).await, "");
    let info = server
        .http
        .get(server.url("/identity/connect/userinfo"))
        .bearer_auth(rotated.access_token().secret())
        .send()
        .await
        .expect("userinfo");
    assert_eq!(info.status(), StatusCode::UNAUTHORIZED);

    // A code replayed kills the refresh tokens it issued, though they were never misused.
    let landed = Browser::new(&server).authorize_as_admin(url.as_str()).await;
    let Landing::Page(StatusCode::OK, page) = landed else { panic!("form_post answers a page") };
    let code = AuthorizationCode::new(hidden(&page, "code").expect("code"));
    let tokens =
        client.exchange_code(code.clone()).expect("endpoint").request_async(&server.http).await.expect("exchange");
    let third = tokens.refresh_token().expect("refresh token").clone();
    assert_invalid_grant(
        client.exchange_code(code).expect("endpoint").request_async(&server.http).await,
        "already used",
    );
    assert_invalid_grant(refresh(&third).await, "");
}

/// Asserts a token endpoint's answer is the RFC 6749 `invalid_grant` error, whose
/// description contains `reason`.
fn assert_invalid_grant<T: std::fmt::Debug, E: std::error::Error + 'static>(
    answer: Result<
        T,
        openidconnect::RequestTokenError<
            E,
            openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
        >,
    >,
    reason: &str,
) {
    match answer {
        Err(openidconnect::RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), openidconnect::core::CoreErrorResponseType::InvalidGrant, "{e:?}");
            let description = e.error_description().map(String::as_str).unwrap_or_default();
            assert!(description.contains(reason), "{description}");
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}
