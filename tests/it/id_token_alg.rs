//! ES256 ID tokens per client (`IdTokenSigningAlgorithm`, decision 44): a relying party on the
//! `openidconnect` crate verifies them, configured for ES256 only; RS256 stays the default; a
//! PUT takes effect at the next token; a bad value changes nothing; discovery lists both.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Landing};
use crate::flows::{discover, register, APP};
use crate::support::{assert_contract_error, TestServer};

type Rp = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// A relying party for the client `id`, from our discovery document.
async fn relying_party(server: &TestServer, id: &str, secret: Option<String>) -> Rp {
    CoreClient::from_provider_metadata(
        discover(server).await,
        ClientId::new(id.to_owned()),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(APP.into()).expect("url"))
}

/// A JOSE header member of a compact JWS.
fn header(jwt: &str, member: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwt.split('.').next().expect("header"))
        .expect("base64");
    let header: Value = serde_json::from_slice(&bytes).expect("json");
    header[member].as_str().unwrap_or_default().to_owned()
}

/// Signs the administrator in at `rp` in `browser` (code flow with PKCE, `offline_access`)
/// and answers the token response and the nonce sent.
async fn sign_in(server: &TestServer, rp: &Rp, browser: &Browser) -> (CoreTokenResponse, Nonce) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let landed = browser.authorize_as_admin(url.as_str()).await.redirect();
    let code = Landing::param(&landed, "code").unwrap_or_else(|| panic!("no code: {landed}"));
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&server.http)
        .await
        .expect("exchange");
    (tokens, nonce)
}

async fn refresh(server: &TestServer, rp: &Rp, token: &RefreshToken) -> CoreTokenResponse {
    rp.exchange_refresh_token(token).expect("endpoint").request_async(&server.http).await.expect("refresh")
}

/// A refreshed ID token carries no nonce (OIDC Core §12.2: nothing was sent to bind).
fn no_nonce(nonce: Option<&Nonce>) -> Result<(), String> {
    nonce.map_or(Ok(()), |_| Err("a nonce in a refreshed ID token".into()))
}

/// The JWKS entry for `kid`: published, with `use: sig` and the algorithm it verifies.
async fn published_key(server: &TestServer, kid: &str) -> Value {
    let jwks: Value = server.get_json("/identity/.well-known/openid-configuration/jwks").await;
    let key = jwks["keys"].as_array().expect("keys").iter().find(|k| k["kid"] == kid).cloned();
    key.unwrap_or_else(|| panic!("kid {kid} not in {jwks}"))
}

#[tokio::test]
async fn a_relying_party_verifies_es256_id_tokens_after_sign_in_and_refresh() {
    let server = TestServer::start().await;
    let doc: Value = server.get_json("/identity/.well-known/openid-configuration").await;
    assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256", "ES256"]));
    let body = json!({ "AllowOfflineAccess": true, "IdTokenSigningAlgorithm": "ES256" });
    let (id, secret) = register(&server, "HybridClients", body).await;
    let (status, shown) = server.call(Method::GET, &format!("/HybridClients/{id}"), None).await;
    assert_eq!((status, &shown["IdTokenSigningAlgorithm"]), (StatusCode::OK, &json!("ES256")));

    let rp = relying_party(&server, &id, secret).await;
    let es256_only = || rp.id_token_verifier().set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let (tokens, nonce) = sign_in(&server, &rp, &Browser::new(&server)).await;
    let id_token = tokens.id_token().expect("id token");
    let raw = id_token.to_string();
    assert_eq!((header(&raw, "alg"), header(&raw, "typ")), ("ES256".into(), "JWT".into()));
    let key = published_key(&server, &header(&raw, "kid")).await;
    assert_eq!(
        (&key["kty"], &key["crv"], &key["use"], &key["alg"]),
        (&json!("EC"), &json!("P-256"), &json!("sig"), &json!("ES256"))
    );
    let claims = id_token.claims(&es256_only(), &nonce).expect("the ES256 ID token verifies");
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("admin"));
    assert_eq!(id_token.signing_alg().expect("alg"), &CoreJwsSigningAlgorithm::EcdsaP256Sha256);
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&es256_only()).expect("key"),
    )
    .expect("hash");
    assert_eq!(claims.access_token_hash(), Some(&at_hash), "at_hash: left half of SHA-256, as for RS256");
    // A verifier that accepts RS256 only (openidconnect's default) refuses it: it is ES256 indeed.
    let rs256_only = rp.id_token_verifier().set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert!(id_token.claims(&rs256_only, &nonce).is_err());

    // After a refresh the new ID token is ES256 too, and verifies.
    let refreshed = refresh(&server, &rp, tokens.refresh_token().expect("refresh token")).await;
    let again = refreshed.id_token().expect("id token on refresh");
    assert_eq!(header(&again.to_string(), "alg"), "ES256");
    let claims = again.claims(&es256_only(), no_nonce).expect("the refreshed ES256 ID token verifies");
    assert_eq!(claims.subject().as_str(), id_token.claims(&es256_only(), &nonce).expect("first").subject().as_str());

    // The client is read live: switched back to RS256, the very next refresh says so.
    let (status, _) = server
        .call(Method::PUT, &format!("/HybridClients/{id}"), Some(json!({ "IdTokenSigningAlgorithm": "RS256" })))
        .await;
    assert_eq!(status, StatusCode::OK);
    let switched = refresh(&server, &rp, refreshed.refresh_token().expect("successor")).await;
    let rs256 = switched.id_token().expect("id token");
    assert_eq!(header(&rs256.to_string(), "alg"), "RS256");
    rs256.claims(&rs256_only, no_nonce).expect("verifies as RS256");
}

#[tokio::test]
async fn rs256_is_the_default_and_a_put_switches_the_next_id_token() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({ "AllowOfflineAccess": true })).await;
    let (_, shown) = server.call(Method::GET, &format!("/AuthorizationCodeClients/{id}"), None).await;
    assert_eq!(shown["IdTokenSigningAlgorithm"], "RS256");
    let rp = relying_party(&server, &id, None).await;
    let (tokens, nonce) = sign_in(&server, &rp, &Browser::new(&server)).await;
    let id_token = tokens.id_token().expect("id token");
    assert_eq!(header(&id_token.to_string(), "alg"), "RS256");
    // openidconnect's verifier for a bare client accepts RS256 only, as before this property.
    let jwks: CoreJsonWebKeySet = server.get_json("/identity/.well-known/openid-configuration/jwks").await;
    let issuer = openidconnect::IssuerUrl::new(format!("{}/identity", server.base)).expect("issuer");
    let plain = openidconnect::core::CoreIdTokenVerifier::new_public_client(ClientId::new(id.clone()), issuer, jwks);
    id_token.claims(&plain, &nonce).expect("RS256 verifies with the default verifier");
    let key = published_key(&server, &header(&id_token.to_string(), "kid")).await;
    assert_eq!((&key["kty"], &key["use"], &key["alg"]), (&json!("RSA"), &json!("sig"), &json!("RS256")));

    // A PUT to ES256 takes effect at the next token; its answer and GET show it.
    let (status, put) = server
        .call(
            Method::PUT,
            &format!("/AuthorizationCodeClients/{id}"),
            Some(json!({ "IdTokenSigningAlgorithm": "ES256" })),
        )
        .await;
    assert_eq!((status, &put["IdTokenSigningAlgorithm"]), (StatusCode::OK, &json!("ES256")));
    let (tokens, nonce) = sign_in(&server, &rp, &Browser::new(&server)).await;
    let id_token: &CoreIdToken = tokens.id_token().expect("id token");
    assert_eq!(header(&id_token.to_string(), "alg"), "ES256");
    let es256 = rp.id_token_verifier().set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    id_token.claims(&es256, &nonce).expect("ES256 after the switch");

    // An ES256 ID token is a good id_token_hint: logout returns to the app without asking.
    let browser = Browser::new(&server);
    let (tokens, _) = sign_in(&server, &rp, &browser).await;
    let hint = tokens.id_token().expect("id token").to_string();
    assert_eq!(header(&hint, "alg"), "ES256");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("id_token_hint", hint.as_str()), ("post_logout_redirect_uri", "https://app.example.com/bye")])
        .finish();
    let landed = browser.visit(&server.url(&format!("/identity/connect/endsession?{query}"))).await.redirect();
    assert_eq!(landed.as_str(), "https://app.example.com/bye");
}

#[tokio::test]
async fn a_bad_algorithm_is_a_400_that_changes_nothing() {
    let server = TestServer::start().await;
    let (id, _) =
        register(&server, "HybridClients", json!({ "IdTokenSigningAlgorithm": "ES256", "Name": "kept" })).await;
    let path = format!("/HybridClients/{id}");
    for bad in [json!("es256"), json!("HS256"), json!("none"), json!("")] {
        let body = json!({ "Name": "renamed", "IdTokenSigningAlgorithm": bad });
        let (status, error) = server.call(Method::PUT, &path, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let reason = assert_contract_error(&error);
        assert_eq!(reason, r#"IdTokenSigningAlgorithm must be "RS256" or "ES256"."#, "{bad}");
    }
    let (status, error) = server.call(Method::PUT, &path, Some(json!({ "IdTokenSigningAlgorithm": 256 }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).starts_with("IdTokenSigningAlgorithm"), "{error}");
    let (_, after) = server.call(Method::GET, &path, None).await;
    assert_eq!((&after["Name"], &after["IdTokenSigningAlgorithm"]), (&json!("kept"), &json!("ES256")));

    // A create with a bad value creates nothing.
    let (status, error) = server
        .call(
            Method::POST,
            "/AuthorizationCodeClients",
            Some(json!({ "Name": "x", "RedirectUris": [APP], "IdTokenSigningAlgorithm": "RS512" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).starts_with("IdTokenSigningAlgorithm"));
    let (_, listed) = server.call(Method::GET, "/AuthorizationCodeClients", None).await;
    assert!(listed.as_array().expect("list").iter().all(|c| c["Name"] != "x"));

    // Client-credentials clients get no ID tokens: not a property of theirs.
    let (status, error) = server
        .call(
            Method::POST,
            "/ClientCredentialClients",
            Some(json!({ "Name": "m", "IdTokenSigningAlgorithm": "RS256" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_contract_error(&error),
        "IdTokenSigningAlgorithm is not a property of a ClientCredential client."
    );
    let (machine, _) = server.new_machine_client(json!({})).await;
    let (_, shown) = server.call(Method::GET, &format!("/ClientCredentialClients/{machine}"), None).await;
    assert!(shown.get("IdTokenSigningAlgorithm").is_none(), "{shown}");
}
