//! Revocation (RFC 7009) and introspection (RFC 7662): a refresh token revoked ends its whole
//! family, only the client's own credentials revoke, and whatever is not valid now
//! introspects `{"active": false}` (protocol.md, Logout, userinfo, revocation, introspection).

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Landing};
use crate::flows::{offline_authorize_url, register, token, APP, VERIFIER};
use crate::support::{claims, TestServer};

/// A confidential client's id and secret.
pub struct Confidential {
    pub id: String,
    pub secret: String,
}

/// A Hybrid client that may refresh, with `extra` registration properties.
pub async fn offline_hybrid(server: &TestServer, extra: Value) -> Confidential {
    let mut body = json!({ "AllowOfflineAccess": true });
    crate::support::merge(&mut body, extra);
    let (id, secret) = register(server, "HybridClients", body).await;
    Confidential { id, secret: secret.expect("a Hybrid client has a secret") }
}

/// The administrator signs in (a browser of its own) and `client` exchanges the code: the
/// token response, with an access and a refresh token.
pub async fn sign_in(server: &TestServer, client: &Confidential) -> Value {
    let landed = Browser::new(server).authorize_as_admin(&offline_authorize_url(server, &client.id)).await.redirect();
    let code = Landing::param(&landed, "code").expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP),
        ("code_verifier", VERIFIER),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
    ];
    let (status, tokens) = token(server, &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

pub fn field(tokens: &Value, name: &str) -> String {
    tokens[name].as_str().unwrap_or_else(|| panic!("{name} in {tokens}")).to_owned()
}

/// A refresh with `refresh_token` by `client`: status and body.
pub async fn refresh(server: &TestServer, client: &Confidential, refresh_token: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
    ];
    token(server, &form).await
}

/// `POST /identity/connect/revocation` with `form`, authenticated by `basic` if given.
async fn revoke_with(server: &TestServer, basic: Option<&Confidential>, form: &[(&str, &str)]) -> Response {
    let mut request = server.http.post(server.url("/identity/connect/revocation")).form(form);
    if let Some(c) = basic {
        request = request.basic_auth(&c.id, Some(&c.secret));
    }
    request.send().await.expect("revocation")
}

/// `client` revokes `token`; asserts RFC 7009's empty 200.
pub async fn revoke(server: &TestServer, client: &Confidential, token: &str) {
    let response = revoke_with(server, Some(client), &[("token", token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "");
}

/// What `caller` learns by introspecting `token`.
pub async fn introspect(server: &TestServer, caller: &Confidential, token: &str) -> Value {
    let response = server
        .http
        .post(server.url("/identity/connect/introspect"))
        .basic_auth(&caller.id, Some(&caller.secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// The status of a userinfo request with `access_token`.
pub async fn userinfo_status(server: &TestServer, access_token: &str) -> StatusCode {
    let response = server.http.get(server.url("/identity/connect/userinfo")).bearer_auth(access_token).send().await;
    response.expect("userinfo").status()
}

fn error_of(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["error"].as_str())
}

const INVALID_GRANT: (StatusCode, Option<&str>) = (StatusCode::BAD_REQUEST, Some("invalid_grant"));

#[tokio::test]
async fn revoking_a_refresh_token_ends_every_token_of_its_family() {
    let server = TestServer::start().await;
    let app = offline_hybrid(&server, json!({})).await;
    let first = sign_in(&server, &app).await;
    let (status, second) = refresh(&server, &app, &field(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let (status, third) = refresh(&server, &app, &field(&second, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    // Another sign-in of the same user to the same app is another family.
    let other = sign_in(&server, &app).await;
    let live = field(&third, "refresh_token");
    assert_eq!(introspect(&server, &app, &live).await["active"], true);
    assert_eq!(introspect(&server, &app, &field(&third, "access_token")).await["active"], true);

    // The first, long since rotated, token is revoked: its successors go with it, the one
    // still live included, and every access token they issued.
    revoke(&server, &app, &field(&first, "refresh_token")).await;
    for (n, tokens) in [&third, &second, &first].into_iter().enumerate() {
        let answer = refresh(&server, &app, &field(tokens, "refresh_token")).await;
        assert_eq!(error_of(&answer), INVALID_GRANT, "refresh token {}: {}", 3 - n, answer.1);
        let access = field(tokens, "access_token");
        assert_eq!(userinfo_status(&server, &access).await, StatusCode::UNAUTHORIZED, "access token {}", 3 - n);
        assert_eq!(introspect(&server, &app, &access).await, json!({ "active": false }));
    }
    assert_eq!(introspect(&server, &app, &live).await, json!({ "active": false }));

    // The other family is untouched.
    assert_eq!(userinfo_status(&server, &field(&other, "access_token")).await, StatusCode::OK);
    let (status, body) = refresh(&server, &app, &field(&other, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn only_the_clients_own_credentials_revoke_and_only_its_own_tokens() {
    let server = TestServer::start().await;
    let app = offline_hybrid(&server, json!({})).await;
    let tokens = sign_in(&server, &app).await;
    let (access, refresh_token) = (field(&tokens, "access_token"), field(&tokens, "refresh_token"));

    // A confidential client that does not authenticate is refused (RFC 7009 §2.1), whether
    // it names itself in the body or presents a wrong secret in the header.
    let anonymous = revoke_with(&server, None, &[("token", &refresh_token), ("client_id", &app.id)]).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json::<Value>().await.expect("json")["error"], "invalid_client");
    let wrong = Confidential { id: app.id.clone(), secret: "not-the-secret-not-the-secret-0123".into() };
    let wrong = revoke_with(&server, Some(&wrong), &[("token", &refresh_token)]).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers()["www-authenticate"].to_str().expect("header").starts_with("Basic"));
    assert_eq!(wrong.json::<Value>().await.expect("json")["error"], "invalid_client");

    // Another client, of either confidential kind, is answered 200 (RFC 7009 §2.2) and
    // changes nothing.
    let other_app = offline_hybrid(&server, json!({})).await;
    let (machine_id, machine_secret) = server.new_machine_client(json!({})).await;
    let machine = Confidential { id: machine_id, secret: machine_secret };
    for intruder in [&other_app, &machine] {
        revoke(&server, intruder, &refresh_token).await;
        revoke(&server, intruder, &access).await;
    }
    assert_eq!(userinfo_status(&server, &access).await, StatusCode::OK, "the access token still works");
    assert_eq!(introspect(&server, &app, &refresh_token).await["active"], true);
    let (status, rotated) = refresh(&server, &app, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "the refresh token still works: {rotated}");

    // The client itself revokes what the others could not: its access token ends the family.
    revoke(&server, &app, &access).await;
    assert_eq!(userinfo_status(&server, &access).await, StatusCode::UNAUTHORIZED);
    let answer = refresh(&server, &app, &field(&rotated, "refresh_token")).await;
    assert_eq!(error_of(&answer), INVALID_GRANT, "{}", answer.1);
}

#[tokio::test]
async fn a_revoked_machine_token_introspects_inactive() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({})).await;
    let machine = Confidential { id, secret };
    let access = server.token_for(&machine.id, &machine.secret).await;
    let other = server.token_for(&machine.id, &machine.secret).await;
    assert_eq!(introspect(&server, &machine, &access).await["active"], true);
    revoke(&server, &machine, &access).await;
    assert_eq!(introspect(&server, &machine, &access).await, json!({ "active": false }));
    // Each client_credentials token is a family of its own.
    assert_eq!(introspect(&server, &machine, &other).await["active"], true);
}

#[tokio::test]
async fn expired_access_tokens_introspect_inactive() {
    let server = TestServer::start().await;
    // 60 s is the shortest AccessTokenLifetime the admin API takes.
    let (id, secret) = server.new_machine_client(json!({ "AccessTokenLifetime": 60 })).await;
    let machine = Confidential { id, secret };
    let app = offline_hybrid(&server, json!({ "AccessTokenLifetime": 60 })).await;
    let machine_token = server.token_for(&machine.id, &machine.secret).await;
    let user_token = field(&sign_in(&server, &app).await, "access_token");
    for (caller, access) in [(&machine, &machine_token), (&app, &user_token)] {
        assert_eq!(introspect(&server, caller, access).await["active"], true);
    }
    let last_exp = [&machine_token, &user_token].iter().map(|t| claims(t)["exp"].as_i64().expect("exp")).max();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let wait = u64::try_from(last_exp.unwrap_or_default() - now + 1).unwrap_or_default();
    assert!(wait <= 62, "the tokens live {wait} s more");
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    for (caller, access) in [(&machine, &machine_token), (&app, &user_token)] {
        assert_eq!(introspect(&server, caller, access).await, json!({ "active": false }));
    }
    assert_eq!(userinfo_status(&server, &user_token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_refresh_token_introspects_inactive() {
    // A sliding lifetime of 0 days: a refresh token is expired as soon as it is issued.
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", crate::support::BOOT_ID),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", crate::support::BOOT_SECRET),
        ("GATEHOUSE_ADMIN_PASSWORD", crate::support::ADMIN_PASSWORD),
        ("GATEHOUSE_REFRESH_SLIDING_DAYS", "0"),
    ];
    let server = TestServer::start_with(dir.path(), &env).await;
    let app = offline_hybrid(&server, json!({})).await;
    let tokens = sign_in(&server, &app).await;
    let refresh_token = field(&tokens, "refresh_token");
    assert_eq!(introspect(&server, &app, &refresh_token).await, json!({ "active": false }));
    let answer = refresh(&server, &app, &refresh_token).await;
    assert_eq!(error_of(&answer), INVALID_GRANT, "{}", answer.1);
    // What it came with is still valid: only the refresh token has expired.
    assert_eq!(introspect(&server, &app, &field(&tokens, "access_token")).await["active"], true);
}
