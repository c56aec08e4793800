//! The console in a real browser (crate::chrome), following the product docs' procedures
//! step by step. With `GATEHOUSE_SCREENSHOTS=1` the main screens are saved to
//! `docs/screenshots/`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::browser::{Browser, Landing};
use crate::chrome::{chrome, click, fill, shot, text_of};
use crate::support::{TestServer, ADMIN_PASSWORD};

pub(crate) async fn choose_type(c: &Client, label: &str) {
    let select = c.wait().for_element(Locator::Css("#client-type")).await.expect("type select");
    select.select_by_label(label).await.expect("select type");
}

/// Chooses the option of value `value` in the select `css`.
async fn choose(c: &Client, css: &str, value: &str) {
    let select = c.wait().for_element(Locator::Css(css)).await.expect("select");
    select.select_by_value(value).await.expect("choose");
}

/// Waits (at most 10 s) for the form control `css` to hold `value`: the details pane fills
/// in after the client is read.
async fn await_value(c: &Client, css: &str, value: &str) {
    let mut seen = None;
    for _ in 0..100 {
        seen = c.find(Locator::Css(css)).await.expect("control").prop("value").await.expect("value");
        if seen.as_deref() == Some(value) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} holds {seen:?}, not {value}");
}

pub(crate) async fn sign_in(c: &Client, server: &TestServer) {
    // A newcomer opens the server's address and finds the console.
    c.goto(&server.url("/")).await.expect("open the server");
    assert_eq!(c.current_url().await.expect("url").as_str(), server.url("/console/"));
    click(c, "#signin").await;
    fill(c, "input[name=username]", "admin").await;
    fill(c, "input[name=password]", ADMIN_PASSWORD).await;
    shot(c, "01-sign-in").await;
    click(c, "button[type=submit]").await;
    assert_eq!(text_of(c, "#user").await, "admin");
}

/// Follows "Add a client" of the product docs for `label`, answering the success window's
/// client id and secret.
async fn add_client(
    c: &Client,
    label: &str,
    name: &str,
    with_secret: bool,
    screenshots: bool,
) -> (String, Option<String>) {
    click(c, "#nav-clients").await;
    choose_type(c, label).await;
    click(c, "#add-client").await;
    fill(c, "#ac-name", name).await;
    if label != "Client Credentials" {
        fill(c, "#ac-redirect-input", "https://app.example.com/callback").await;
        click(c, "#ac-redirect-add").await;
        fill(c, "#ac-logout-input", "https://app.example.com/").await;
        click(c, "#ac-logout-add").await;
    }
    if label == "Authorization Code" {
        fill(c, "#ac-cors-input", "https://app.example.com").await;
        click(c, "#ac-cors-add").await;
    }
    if label == "Hybrid" {
        click(c, "#ac-refresh").await;
        // This app verifies ES256 ID tokens; the others keep the default, RS256.
        choose(c, "#ac-id-token-alg", "ES256").await;
    }
    fill(c, "#ac-lifetime", "1800").await;
    if screenshots {
        shot(c, &format!("02-add-client-{}", label.to_lowercase().replace(' ', "-"))).await;
    }
    click(c, "#ac-submit").await;
    if with_secret {
        fill(c, "#as-description", "from the browser test").await;
        if screenshots {
            shot(c, "03-add-secret").await;
        }
        click(c, "#as-submit").await;
    }
    let id = text_of(c, "#success-client-id").await;
    let secret = if with_secret { Some(text_of(c, "#success-client-secret").await) } else { None };
    if screenshots {
        shot(c, &format!("04-created-{}", label.to_lowercase().replace(' ', "-"))).await;
    }
    click(c, "#success-close").await;
    (id, secret)
}

#[tokio::test]
async fn an_administrator_follows_the_docs_in_a_browser() {
    let server = TestServer::start().await;
    let chrome = chrome().await;
    let c = &chrome.client;
    sign_in(c, &server).await;

    let (ac_id, _) = add_client(c, "Authorization Code", "Web portal", false, true).await;
    let (hybrid_id, hybrid_secret) = add_client(c, "Hybrid", "Server app", true, true).await;
    let (cc_id, cc_secret) = add_client(c, "Client Credentials", "Nightly export", true, true).await;

    // What the console created is what the API holds.
    let (status, ac) = server.call(reqwest::Method::GET, &format!("/AuthorizationCodeClients/{ac_id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ac["AllowedCorsOrigins"], json!(["https://app.example.com"]));
    assert_eq!(ac["AccessTokenLifetime"], 1800);
    assert_eq!(ac["IdTokenSigningAlgorithm"], "RS256");
    let (_, hybrid) = server.call(reqwest::Method::GET, &format!("/HybridClients/{hybrid_id}"), None).await;
    assert_eq!(hybrid["AllowOfflineAccess"], true);
    assert_eq!(hybrid["IdTokenSigningAlgorithm"], "ES256");

    // The secret copied from the success window works at the token endpoint.
    let cc_secret = cc_secret.expect("secret shown");
    let token = server.client_credentials(&cc_id, &cc_secret).await;
    assert_eq!(token.status(), StatusCode::OK);
    let hybrid_secret = hybrid_secret.expect("secret shown");
    let introspect = server
        .http
        .post(server.url("/identity/connect/introspect"))
        .basic_auth(&hybrid_id, Some(&hybrid_secret))
        .form(&[("token", "nothing")])
        .send()
        .await
        .expect("introspect");
    assert_eq!(introspect.status(), StatusCode::OK, "the hybrid client's secret authenticates it");
    shot(c, "05-clients-list").await;

    // Details: add a secret (shown once), remove the first.
    choose_type(c, "Client Credentials").await;
    click(c, &format!("tr[data-id=\"{cc_id}\"]")).await;
    click(c, "#d-add-secret").await;
    fill(c, "#as-description", "rotation").await;
    click(c, "#as-submit").await;
    let second = text_of(c, "#success-client-secret").await;
    click(c, "#success-close").await;
    assert_eq!(server.client_credentials(&cc_id, &second).await.status(), StatusCode::OK);
    shot(c, "06-details").await;
    click(c, "tr[data-secret-id=\"1\"] .remove-secret").await;
    click(c, "#confirm-yes").await;
    for _ in 0..50 {
        if server.client_credentials(&cc_id, &cc_secret).await.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.client_credentials(&cc_id, &cc_secret).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.client_credentials(&cc_id, &second).await.status(), StatusCode::OK);

    // Change a redirect URI and the ID token algorithm; the next authorize request honours it.
    choose_type(c, "Authorization Code").await;
    click(c, &format!("tr[data-id=\"{ac_id}\"]")).await;
    await_value(c, "#d-id-token-alg", "RS256").await;
    click(c, "#d-redirect-list li button").await;
    fill(c, "#d-redirect-input", "https://app.example.com/new-callback").await;
    click(c, "#d-redirect-add").await;
    choose(c, "#d-id-token-alg", "ES256").await;
    click(c, "#d-save").await;
    let mut moved = Value::Null;
    for _ in 0..50 {
        moved = server.call(reqwest::Method::GET, &format!("/AuthorizationCodeClients/{ac_id}"), None).await.1;
        if moved["RedirectUris"] == json!(["https://app.example.com/new-callback"]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(moved["RedirectUris"], json!(["https://app.example.com/new-callback"]));
    assert_eq!(moved["IdTokenSigningAlgorithm"], "ES256");
    let user = Browser::new(&server);
    let authorize = |redirect: &str| {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", ac_id.as_str()),
                ("redirect_uri", redirect),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        server.url(&format!("/identity/connect/authorize?{q}"))
    };
    assert!(matches!(
        user.visit(&authorize("https://app.example.com/callback")).await,
        Landing::Page(StatusCode::BAD_REQUEST, _)
    ));
    let landed = user.authorize_as_admin(&authorize("https://app.example.com/new-callback")).await.redirect();
    assert!(landed.as_str().starts_with("https://app.example.com/new-callback?code="));
    let code = Landing::param(&landed, "code").expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://app.example.com/new-callback"),
        ("client_id", ac_id.as_str()),
        ("code_verifier", crate::flows::VERIFIER),
    ];
    let (status, tokens) = crate::flows::token(&server, &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let id_token = tokens["id_token"].as_str().expect("id token");
    assert_eq!(jsonwebtoken::decode_header(id_token).expect("header").alg, jsonwebtoken::Algorithm::ES256);

    // The details pane shows what the Hybrid client was created with.
    choose_type(c, "Hybrid").await;
    click(c, &format!("tr[data-id=\"{hybrid_id}\"]")).await;
    for _ in 0..100 {
        if text_of(c, "#d-id").await == hybrid_id {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text_of(c, "#d-id").await, hybrid_id);
    await_value(c, "#d-id-token-alg", "ES256").await;

    // At phone width the same page still works: the list and its rows are there.
    c.set_window_size(390, 844).await.expect("resize");
    choose_type(c, "Hybrid").await;
    c.wait().for_element(Locator::Css(&format!("tr[data-id=\"{hybrid_id}\"]"))).await.expect("row at phone width");
    shot(c, "08-phone-width").await;
    c.set_window_size(1280, 860).await.expect("resize");

    // Sign out through the end-session endpoint.
    click(c, "#signout").await;
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#signin")).await.expect("signed out");
    let _ = c.clone().close().await;
}

#[tokio::test]
async fn validation_errors_appear_next_to_their_field_and_nothing_is_lost() {
    let server = TestServer::start().await;
    let chrome = chrome().await;
    let c = &chrome.client;
    sign_in(c, &server).await;
    click(c, "#nav-clients").await;
    choose_type(c, "Authorization Code").await;
    click(c, "#add-client").await;
    fill(c, "#ac-name", "Keeps its name").await;
    fill(c, "#ac-redirect-input", "http://insecure.example.com/cb").await;
    click(c, "#ac-redirect-add").await;
    click(c, "#ac-submit").await;
    let error = text_of(c, "#add-client-dialog .field-error[data-field=\"RedirectUris\"]").await;
    assert!(error.contains("https"), "{error}");
    shot(c, "07-validation-error").await;
    let name = c.find(Locator::Css("#ac-name")).await.expect("name").prop("value").await.expect("value");
    assert_eq!(name.as_deref(), Some("Keeps its name"));
    let _ = c.clone().close().await;
}

#[tokio::test]
async fn the_console_renews_its_token_without_losing_the_page() {
    let server = TestServer::start().await;
    // The shortest lifetime the contract allows, so the test sees a renewal.
    let config: Value =
        server.http.get(server.url("/console/config.json")).send().await.expect("config").json().await.expect("json");
    let console = config["clientId"].as_str().expect("client id").to_owned();
    let (status, _) = server
        .call(
            reqwest::Method::PUT,
            &format!("/AuthorizationCodeClients/{console}"),
            Some(json!({ "AccessTokenLifetime": 60 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let chrome = chrome().await;
    let c = &chrome.client;
    sign_in(c, &server).await;
    click(c, "#nav-clients").await;
    choose_type(c, "Authorization Code").await;
    click(c, "#add-client").await;
    fill(c, "#ac-name", "Typed before the token expired").await;
    // Past the first access token's lifetime, with the dialog still open.
    tokio::time::sleep(Duration::from_secs(65)).await;
    fill(c, "#ac-redirect-input", "https://late.example.com/cb").await;
    click(c, "#ac-redirect-add").await;
    click(c, "#ac-submit").await;
    let id = text_of(c, "#success-client-id").await;
    let (status, created) = server.call(reqwest::Method::GET, &format!("/AuthorizationCodeClients/{id}"), None).await;
    assert_eq!((status, created["Name"].as_str()), (StatusCode::OK, Some("Typed before the token expired")));
    let _ = c.clone().close().await;
}
