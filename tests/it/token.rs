//! The token endpoint's first slice: `client_credentials`, client authentication, RFC 6749
//! §5.2 errors, and JWT access tokens verified with an independent JWT library and our JWKS.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{claims, TestServer, BOOT_ID, BOOT_SECRET};

#[tokio::test]
async fn tokens_verify_against_the_jwks_and_carry_tenant_roles_and_lifetime() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({ "AccessTokenLifetime": 300 })).await;
    let response = server.client_credentials(&id, &secret).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        (&body["token_type"], &body["expires_in"], &body["scope"]),
        (&json!("Bearer"), &json!(300), &json!("ocsapi"))
    );
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let token = body["access_token"].as_str().expect("token");

    let header = decode_header(token).expect("header");
    assert_eq!((header.alg, header.typ.as_deref()), (Algorithm::ES256, Some("at+jwt")));
    let jwks: JwkSet = server.get_json("/identity/.well-known/openid-configuration/jwks").await;
    let jwk = jwks.find(header.kid.as_deref().expect("kid")).expect("kid published");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["ocsapi"]);
    validation.set_issuer(&[format!("{}/identity", server.base)]);
    let verified = decode::<Value>(token, &DecodingKey::from_jwk(jwk).expect("key"), &validation).expect("verifies");
    let c = verified.claims;
    assert_eq!(c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"), 300);
    assert_eq!((c["sub"].as_str(), c["client_id"].as_str()), (Some(id.as_str()), Some(id.as_str())));
    assert_eq!(c["tid"].as_str(), Some(server.tenant.as_str()));
    assert_eq!(c["roles"], json!(["f1a9c6a2-2d2f-4a53-9a7b-7c3d5e0b1a01"]));
    for claim in ["nbf", "jti", "scope"] {
        assert!(!c[claim].is_null(), "{claim}");
    }
}

#[tokio::test]
async fn a_lifetime_change_is_in_the_very_next_token() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({})).await;
    let lifetime = |t: &str| {
        let c = claims(t);
        c["exp"].as_i64().unwrap_or_default() - c["iat"].as_i64().unwrap_or_default()
    };
    assert_eq!(lifetime(&server.token_for(&id, &secret).await), 3600);
    let (status, _) = server
        .call(Method::PUT, &format!("/ClientCredentialClients/{id}"), Some(json!({ "AccessTokenLifetime": 75 })))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lifetime(&server.token_for(&id, &secret).await), 75);
}

#[tokio::test]
async fn secrets_may_come_in_the_body_or_the_header_but_not_both() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({})).await;
    let token = server.url("/identity/connect/token");
    let post = server
        .http
        .post(&token)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "ocsapi"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), StatusCode::OK);
    let both = server
        .http
        .post(&token)
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("client_secret", &secret)])
        .send()
        .await
        .expect("post");
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    assert_eq!(both.json::<Value>().await.expect("json")["error"], "invalid_request");
}

#[tokio::test]
async fn failures_are_rfc6749_errors() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({})).await;
    let (_, hybrid) = server
        .call(
            Method::POST,
            "/HybridClients",
            Some(json!({ "Name": "h", "RedirectUris": ["https://a.example.com/cb"] })),
        )
        .await;
    let hybrid_id = hybrid["Client"]["Id"].as_str().expect("id").to_owned();
    let hybrid_secret = hybrid["Secret"].as_str().expect("secret").to_owned();
    let token = server.url("/identity/connect/token");

    let wrong = server.client_credentials(&id, "wrong-secret").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers()["www-authenticate"].to_str().expect("header").starts_with("Basic"));
    assert_eq!(wrong.headers()["cache-control"], "no-store");
    assert_eq!(wrong.json::<Value>().await.expect("json")["error"], "invalid_client");

    let in_body = server
        .http
        .post(&token)
        .form(&[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", "nope")])
        .send()
        .await
        .expect("post");
    assert_eq!(in_body.status(), StatusCode::UNAUTHORIZED);
    assert!(in_body.headers().get("www-authenticate").is_none());

    let unknown = server.client_credentials(&uuid::Uuid::new_v4().to_string(), &secret).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    type Case<'a> = (Vec<(&'a str, &'a str)>, (&'a str, &'a str), &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec![], (&id, &secret), "invalid_request"),
        (vec![("grant_type", "password")], (&id, &secret), "unsupported_grant_type"),
        (vec![("grant_type", "client_credentials"), ("scope", "openid")], (&id, &secret), "invalid_scope"),
        (
            vec![("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
            (&id, &secret),
            "invalid_request",
        ),
        (vec![("grant_type", "client_credentials")], (&hybrid_id, &hybrid_secret), "unauthorized_client"),
    ];
    for (form, (user, pass), error) in cases {
        let response = server.http.post(&token).basic_auth(user, Some(pass)).form(&form).send().await.expect("post");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{form:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], error, "{form:?}");
        assert!(body["error_description"].is_string());
    }
    let json_body = server
        .http
        .post(&token)
        .basic_auth(&id, Some(&secret))
        .json(&json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .expect("post");
    assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_revoked_machine_token_stops_working_at_once() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({ "RoleIds": ["2b7c4e6d-8f14-4c39-b0a2-5d6e7f8a9b02"] })).await;
    let token = server.token_for(&id, &secret).await;
    let url = server.api("/Roles");
    assert_eq!(server.http.get(&url).bearer_auth(&token).send().await.expect("get").status(), StatusCode::OK);
    let revoked = server
        .http
        .post(server.url("/identity/connect/revocation"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(server.http.get(&url).bearer_auth(&token).send().await.expect("get").status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn two_authorization_headers_are_refused_not_chosen_from() {
    let server = TestServer::start().await;
    let basic = |secret: &str| {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{BOOT_ID}:{secret}")))
    };
    let response = server
        .http
        .post(server.url("/identity/connect/token"))
        .header("Authorization", basic("wrong-secret"))
        .header("Authorization", basic(BOOT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    let token = server.admin_token().await;
    let response = server
        .http
        .get(server.api("/Roles"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Authorization", "Bearer other")
        .send()
        .await
        .expect("roles");
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
}

/// Access tokens past their `exp` (the shortest lifetime, 60 s) are 401 `invalid_token`, with
/// the challenge, at the admin API and at userinfo.
#[tokio::test]
async fn an_expired_access_token_is_401_at_the_admin_api_and_userinfo() {
    let server = TestServer::start().await;
    let machine = server.machine_token(json!({ "AccessTokenLifetime": 60 })).await;
    let (app, _) =
        crate::flows::register(&server, "AuthorizationCodeClients", json!({ "AccessTokenLifetime": 60 })).await;
    let browser = crate::browser::Browser::new(&server);
    let url = crate::flows::authorize_url(&server, &crate::flows::code_request(&app, &[]));
    let landed = browser.authorize_as_admin(&url).await.redirect();
    let code = crate::browser::Landing::param(&landed, "code").expect("code");
    let body = crate::flows::exchange_code(&server, &code, &app).await;
    let user = body["access_token"].as_str().expect("access token").to_owned();
    let calls = [(server.api("/Users"), &machine), (server.url("/identity/connect/userinfo"), &user)];
    for (url, token) in &calls {
        assert_eq!(
            server.http.get(url.as_str()).bearer_auth(token).send().await.expect("get").status(),
            StatusCode::OK
        );
    }
    let exp = claims(&machine)["exp"].as_i64().max(claims(&user)["exp"].as_i64()).expect("exp");
    let wait = exp - time::OffsetDateTime::now_utc().unix_timestamp() + 1;
    tokio::time::sleep(std::time::Duration::from_secs(u64::try_from(wait).unwrap_or(0))).await;
    for (url, token) in &calls {
        let answer = server.http.get(url.as_str()).bearer_auth(token).send().await.expect("get");
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{url}");
        let challenge = answer.headers()["www-authenticate"].to_str().unwrap_or_default().to_owned();
        assert!(challenge.contains("invalid_token"), "{url}: {challenge}");
    }
}
