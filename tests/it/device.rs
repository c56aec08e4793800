//! Device code clients end to end (RFC 8628): the admin API's rules for the kind, and the
//! grant with a device (raw HTTP) and a person (`Browser`, our pages over HTTP; the same
//! pages in Chromium are in `device_browser.rs`).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{hidden, Browser, Landing};
use crate::support::{assert_contract_error, claims, TestServer, ADMIN_PASSWORD};

pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Creates a device code client with `extra` and answers its id.
pub async fn device_client(server: &TestServer, extra: Value) -> String {
    let mut body = json!({ "Name": "Living room TV" });
    crate::support::merge(&mut body, extra);
    let (status, created) = server.call(Method::POST, "/DeviceCodeClients", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["Id"].as_str().expect("id").to_owned()
}

/// The device asks for codes.
pub async fn authorize_device(server: &TestServer, client_id: &str, scope: &str) -> (StatusCode, Value) {
    let response = server
        .http
        .post(server.url("/identity/connect/deviceauthorization"))
        .form(&[("client_id", client_id), ("scope", scope)])
        .send()
        .await
        .expect("device authorization");
    let status = response.status();
    if status == StatusCode::OK {
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    (status, response.json().await.expect("json"))
}

/// The device polls the token endpoint once.
pub async fn poll(server: &TestServer, client_id: &str, device_code: &str) -> (StatusCode, Value) {
    let response = server
        .http
        .post(server.url("/identity/connect/token"))
        .form(&[("grant_type", GRANT), ("client_id", client_id), ("device_code", device_code)])
        .send()
        .await
        .expect("poll");
    (response.status(), response.json().await.expect("json"))
}

/// A person opens `verification_uri_complete`, signs in as the administrator, and lands on
/// the confirmation page (answered).
pub async fn open_signed_in(person: &Browser, uri: &str) -> String {
    let page = match person.visit(uri).await {
        Landing::Page(StatusCode::OK, page) if page.contains("name=\"password\"") => {
            match person.sign_in(&page, "admin", ADMIN_PASSWORD).await {
                Landing::Page(StatusCode::OK, page) => page,
                other => panic!("after the sign-in: {other:?}"),
            }
        }
        Landing::Page(StatusCode::OK, page) => page,
        other => panic!("verification page: {other:?}"),
    };
    assert!(page.contains("id=\"approve\""), "{page}");
    page
}

/// Presses Approve or Deny on the confirmation page.
pub async fn decide(person: &Browser, server: &TestServer, page: &str, decision: &str) -> (StatusCode, String) {
    let form = [
        ("csrf", hidden(page, "csrf").expect("csrf")),
        ("user_code", hidden(page, "user_code").expect("user code")),
        ("decision", decision.to_owned()),
    ];
    let response = person.http.post(server.url("/identity/device/decide")).form(&form).send().await.expect("decide");
    (response.status(), response.text().await.expect("page"))
}

pub fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_device_is_approved_and_polls_its_tokens_once() {
    let server = TestServer::start().await;
    let client = device_client(&server, json!({ "AllowOfflineAccess": true, "AccessTokenLifetime": 900 })).await;
    let discovery: Value = server.get_json("/identity/.well-known/openid-configuration").await;
    assert_eq!(discovery["device_authorization_endpoint"], server.url("/identity/connect/deviceauthorization"));
    assert!(discovery["grant_types_supported"].as_array().expect("grants").contains(&json!(GRANT)));

    let (status, codes) = authorize_device(&server, &client, "openid profile offline_access ocsapi").await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let user_code = codes["user_code"].as_str().expect("user_code");
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code.chars().filter(|c| *c != '-').all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)), "{user_code}");
    assert_eq!(codes["verification_uri"], server.url("/identity/device"));
    assert_eq!(codes["verification_uri_complete"], server.url(&format!("/identity/device?user_code={user_code}")));
    assert_eq!((codes["expires_in"].as_u64(), codes["interval"].as_u64()), (Some(300), Some(5)));
    let device_code = codes["device_code"].as_str().expect("device_code");

    // Pending, then polled too fast: slow_down, and again.
    let (status, body) = poll(&server, &client, device_code).await;
    assert_eq!((status, error(&body)), (StatusCode::BAD_REQUEST, "authorization_pending"));
    let (_, body) = poll(&server, &client, device_code).await;
    assert_eq!(error(&body), "slow_down");
    let (_, body) = poll(&server, &client, device_code).await;
    assert_eq!(error(&body), "slow_down", "the interval grew by 5 s");

    // The person types the code in lower case without its dash (the page normalises it),
    // signs in, sees the app and what it asks for, and approves.
    let person = Browser::new(&server);
    let typed = user_code.replace('-', "").to_lowercase();
    let page = open_signed_in(&person, &server.url(&format!("/identity/device?user_code={typed}"))).await;
    assert!(page.contains("Living room TV") && page.contains(user_code), "{page}");
    assert!(page.contains("data-scope=\"offline_access\""), "{page}");
    let (status, done) = decide(&person, &server, &page, "approve").await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("Device connected"), "{done}");

    // Once approved, the next poll gets the tokens; then nothing more.
    let (status, tokens) = poll(&server, &client, device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = claims(tokens["access_token"].as_str().expect("access token"));
    assert_eq!(access["client_id"], client.as_str());
    assert_eq!(access["exp"].as_i64().expect("exp") - access["iat"].as_i64().expect("iat"), 900);
    assert_eq!(tokens["expires_in"], 900);
    let id_token = claims(tokens["id_token"].as_str().expect("an ID token with openid"));
    assert_eq!((&id_token["aud"], &id_token["sub"]), (&json!([client]), &access["sub"]));
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token with offline_access");
    let (status, body) = poll(&server, &client, device_code).await;
    assert_eq!((status, error(&body)), (StatusCode::BAD_REQUEST, "invalid_grant"), "single use");
    let (_, body) = poll(&server, &client, "not-a-device-code").await;
    assert_eq!(error(&body), "invalid_grant");

    // The access token works on the admin API as the person; the refresh token refreshes.
    let me = server
        .http
        .get(server.api("/Users"))
        .bearer_auth(tokens["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("users");
    assert_eq!(me.status(), StatusCode::OK);
    let refreshed = server
        .http
        .post(server.url("/identity/connect/token"))
        .form(&[("grant_type", "refresh_token"), ("client_id", &client), ("refresh_token", refresh)])
        .send()
        .await
        .expect("refresh");
    assert_eq!(refreshed.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_denial_an_unallowed_scope_and_other_kinds_are_refused() {
    let server = TestServer::start().await;
    let client = device_client(&server, json!({})).await;
    let (status, body) = authorize_device(&server, &client, "openid offline_access").await;
    assert_eq!((status, error(&body)), (StatusCode::BAD_REQUEST, "invalid_scope"), "no AllowOfflineAccess");
    let (_, body) = authorize_device(&server, &client, "openid shopping").await;
    assert_eq!(error(&body), "invalid_scope");

    let (_, codes) = authorize_device(&server, &client, "openid").await;
    let person = Browser::new(&server);
    let page = open_signed_in(&person, codes["verification_uri_complete"].as_str().expect("uri")).await;
    let (status, done) = decide(&person, &server, &page, "deny").await;
    assert!(status == StatusCode::OK && done.contains("Request denied"), "{done}");
    let device_code = codes["device_code"].as_str().expect("device_code");
    let (_, body) = poll(&server, &client, device_code).await;
    assert_eq!(error(&body), "access_denied");
    // Decided once: approving the denied code afterwards finds nothing.
    let (status, _) = decide(&person, &server, &page, "approve").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Without the CSRF token, nothing is decided.
    let (_, other) = authorize_device(&server, &client, "openid").await;
    let page = open_signed_in(&person, other["verification_uri_complete"].as_str().expect("uri")).await;
    let code = hidden(&page, "user_code").expect("code");
    let forged = [("csrf", "forged"), ("user_code", code.as_str()), ("decision", "approve")];
    let response = person.http.post(server.url("/identity/device/decide")).form(&forged).send().await.expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, body) = poll(&server, &client, other["device_code"].as_str().expect("device_code")).await;
    assert_eq!(error(&body), "authorization_pending");

    // A public authorization-code client may use neither the endpoint nor the grant; a
    // device client may not use the authorize endpoint.
    let (status, ac) = server
        .call(
            Method::POST,
            "/AuthorizationCodeClients",
            Some(json!({ "Name": "web", "RedirectUris": ["https://app.example.com/cb"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let ac = ac["Id"].as_str().expect("id");
    let (status, body) = authorize_device(&server, ac, "openid").await;
    assert_eq!((status, error(&body)), (StatusCode::BAD_REQUEST, "unauthorized_client"));
    let (_, body) = poll(&server, ac, device_code).await;
    assert_eq!(error(&body), "unauthorized_client");
    let (machine, secret) = server.new_machine_client(json!({})).await;
    let response = server
        .http
        .post(server.url("/identity/connect/deviceauthorization"))
        .basic_auth(&machine, Some(&secret))
        .form(&[("scope", "ocsapi")])
        .send()
        .await
        .expect("device authorization");
    assert_eq!(response.json::<Value>().await.expect("json")["error"], "unauthorized_client");
    let authorize = server.url(&format!(
        "/identity/connect/authorize?client_id={client}&redirect_uri=https://app.example.com/cb&response_type=code"
    ));
    assert!(matches!(person.visit(&authorize).await, Landing::Page(StatusCode::BAD_REQUEST, _)));
}

#[tokio::test]
async fn a_disabled_or_deleted_client_gets_nothing() {
    let server = TestServer::start().await;
    let client = device_client(&server, json!({})).await;
    let (_, codes) = authorize_device(&server, &client, "openid").await;
    let person = Browser::new(&server);
    let page = open_signed_in(&person, codes["verification_uri_complete"].as_str().expect("uri")).await;
    let (status, _) = decide(&person, &server, &page, "approve").await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/DeviceCodeClients/{client}");
    let (status, _) = server.call(Method::PUT, &path, Some(json!({ "Enabled": false }))).await;
    assert_eq!(status, StatusCode::OK);
    let device_code = codes["device_code"].as_str().expect("device_code");
    let (status, body) = poll(&server, &client, device_code).await;
    assert_eq!((status, error(&body)), (StatusCode::UNAUTHORIZED, "invalid_client"));
    let (status, _) = authorize_device(&server, &client, "openid").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Enabled again, a pending code of a client deleted meanwhile gets nothing either, and
    // its user code shows nothing on the verification page.
    server.call(Method::PUT, &path, Some(json!({ "Enabled": true }))).await;
    let (_, codes) = authorize_device(&server, &client, "openid").await;
    assert_eq!(server.call(Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
    let (status, _) = poll(&server, &client, codes["device_code"].as_str().expect("device_code")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let uri = codes["verification_uri_complete"].as_str().expect("uri");
    assert!(matches!(person.visit(uri).await, Landing::Page(StatusCode::BAD_REQUEST, _)));
}

/// A password reset ends what the old password obtained: a device code the person approved
/// and the device has not yet redeemed gets nothing after it.
#[tokio::test]
async fn a_password_reset_takes_back_an_approval_not_yet_redeemed() {
    let server = TestServer::start().await;
    let client = device_client(&server, json!({ "AllowOfflineAccess": true })).await;
    let (_, codes) = authorize_device(&server, &client, "openid offline_access").await;
    let person = Browser::new(&server);
    let page = open_signed_in(&person, codes["verification_uri_complete"].as_str().expect("uri")).await;
    assert_eq!(decide(&person, &server, &page, "approve").await.0, StatusCode::OK);
    let (_, users) = server.call(Method::GET, "/Users", None).await;
    let admin = users[0]["Id"].as_str().expect("id").to_owned();
    let reset = json!({ "Password": "a-brand-new-password" });
    let (status, _) = server.call(Method::PUT, &format!("/Users/{admin}/Password"), Some(reset)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = poll(&server, &client, codes["device_code"].as_str().expect("device_code")).await;
    assert_eq!((status, error(&body)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{body}");
    assert!(body.get("access_token").is_none() && body.get("refresh_token").is_none());
}

#[tokio::test]
async fn guessing_user_codes_is_throttled_per_session_and_per_address() {
    let server = TestServer::start().await;
    let client = device_client(&server, json!({})).await;
    let (_, codes) = authorize_device(&server, &client, "openid").await;
    let real = codes["user_code"].as_str().expect("user_code").to_owned();
    let person = Browser::new(&server);
    // Signed in (a session), the person's look-ups count against the session: ten wrong
    // codes, then even the right one waits (it is counted before it is checked).
    open_signed_in(&person, codes["verification_uri_complete"].as_str().expect("uri")).await;
    let at = |code: &str| server.url(&format!("/identity/device?user_code={code}"));
    for i in 0..10 {
        let status = person.http.get(at(&format!("BCDF-GH{:02}", i))).send().await.expect("guess").status();
        assert_eq!(status, StatusCode::BAD_REQUEST, "guess {i}");
    }
    let response = person.http.get(at(&real)).send().await.expect("real code");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // Another browser (no session) from the same address: the address has had 11 misses
    // of its 30.
    let stranger = Browser::new(&server);
    for i in 0..19 {
        let status = stranger.http.get(at(&format!("ZZZZ-ZZ{:02}", i))).send().await.expect("guess").status();
        assert_eq!(status, StatusCode::BAD_REQUEST, "stranger's guess {i}");
    }
    assert_eq!(stranger.http.get(at(&real)).send().await.expect("real").status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_verification_page_refuses_framing_and_codes_expire_with_the_live_lifetime() {
    let server = TestServer::start().await;
    let client = device_client(&server, json!({ "DeviceCodeLifetime": 1800 })).await;
    let page = server.http.get(server.url("/identity/device")).send().await.expect("page");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"), "{csp}");
    assert!(page.text().await.expect("body").contains("name=\"user_code\""));

    let (_, codes) = authorize_device(&server, &client, "openid").await;
    assert_eq!(codes["expires_in"], 1800);
    // The lifetime is read live: the next request gets the new one.
    let path = format!("/DeviceCodeClients/{client}");
    let (status, changed) = server.call(Method::PUT, &path, Some(json!({ "DeviceCodeLifetime": 60 }))).await;
    assert_eq!((status, changed["DeviceCodeLifetime"].as_u64()), (StatusCode::OK, Some(60)));
    let (_, codes) = authorize_device(&server, &client, "openid").await;
    assert_eq!(codes["expires_in"], 60);
    tokio::time::sleep(Duration::from_secs(61)).await;
    let (_, body) = poll(&server, &client, codes["device_code"].as_str().expect("device_code")).await;
    assert_eq!(error(&body), "expired_token");
    let person = Browser::new(&server);
    let uri = codes["verification_uri_complete"].as_str().expect("uri");
    assert!(matches!(person.visit(uri).await, Landing::Page(StatusCode::BAD_REQUEST, _)), "expired");
}

#[tokio::test]
async fn the_admin_api_keeps_the_rules_of_the_new_kind() {
    let server = TestServer::start().await;
    let (status, created) = server.call(Method::POST, "/DeviceCodeClients", Some(json!({ "Name": "Panel" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for (key, value) in [
        ("Enabled", json!(true)),
        ("AccessTokenLifetime", json!(3600)),
        ("DeviceCodeLifetime", json!(300)),
        ("AllowOfflineAccess", json!(false)),
        ("Tags", json!([])),
    ] {
        assert_eq!(created[key], value, "{key} in {created}");
    }
    assert!(created.get("RedirectUris").is_none() && created.get("Secret").is_none(), "{created}");
    let id = created["Id"].as_str().expect("id");

    for (body, field) in [
        (json!({ "Name": "x", "DeviceCodeLifetime": 59 }), "DeviceCodeLifetime"),
        (json!({ "Name": "x", "DeviceCodeLifetime": 1801 }), "DeviceCodeLifetime"),
        (json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"] }), "RedirectUris"),
        (json!({ "Name": "x", "SecretDescription": "no" }), "SecretDescription"),
        (json!({ "DeviceCodeLifetime": 600 }), "Name"),
    ] {
        let (status, error) = server.call(Method::POST, "/DeviceCodeClients", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(assert_contract_error(&error).contains(field), "{body}: {error}");
    }
    let hybrid = json!({ "Name": "h", "RedirectUris": ["https://a.example.com/cb"], "DeviceCodeLifetime": 600 });
    let (status, _) = server.call(Method::POST, "/HybridClients", Some(hybrid)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "only device clients have a DeviceCodeLifetime");
    let (status, _) = server.call(Method::POST, "/DeviceCodeClients", Some(json!({ "Name": "again", "Id": id }))).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Partial PUT, in any case of the path; reached only through its own collection.
    let (status, changed) = server
        .call(
            Method::PUT,
            &format!("/devicecodeclients/{id}"),
            Some(json!({ "DeviceCodeLifetime": 900, "Tags": ["tv"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!((changed["DeviceCodeLifetime"].as_u64(), changed["Name"].as_str()), (Some(900), Some("Panel")));
    for other in ["HybridClients", "AuthorizationCodeClients", "ClientCredentialClients"] {
        let (status, body) = server.call(Method::GET, &format!("/{other}/{id}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
        assert_contract_error(&body);
    }
    let (status, _) = server.call(Method::GET, &format!("/DeviceCodeClients/{id}/Secrets"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no secrets");

    // Lists: filters, paging and Total-Count, HEAD too.
    device_client(&server, json!({ "Name": "Second" })).await;
    let response = server.as_admin(Method::GET, "/DeviceCodeClients?tag=tv&count=10").await.send().await.expect("list");
    assert_eq!(response.headers()["total-count"], "1");
    let listed: Vec<Value> = response.json().await.expect("json");
    assert_eq!(listed.len(), 1);
    let head = server.as_admin(Method::HEAD, "/DeviceCodeClients").await.send().await.expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["total-count"], "2");
    assert_eq!(server.call(Method::DELETE, &format!("/DeviceCodeClients/{id}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.call(Method::GET, &format!("/DeviceCodeClients/{id}"), None).await.0, StatusCode::NOT_FOUND);
}
