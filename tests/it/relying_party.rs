//! Apps on other origins signing people in, in a real browser (headless Chromium, see
//! crate::chrome). An HTTP client enforces neither CSP, nor SameSite, nor CORS; a browser
//! does, so every page that ends in a redirect to an app is driven here as a person would:
//!
//! - `examples/spa`, the project's single-page app, run as it is on its own origin: code +
//!   PKCE, the code exchange and userinfo with `fetch()` across origins, silent renewal in a
//!   hidden iframe with `prompt=none`, logout back to it with `state`;
//! - a server-side (Hybrid) app receiving its `form_post` at its own origin.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use fantoccini::{Client, Locator};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::chrome::{chrome, click, fill, text_of};
use crate::support::{TestServer, ADMIN_PASSWORD};

/// `examples/spa` on a port of its own: another origin than the server's.
struct Spa {
    _child: Child,
    origin: String,
}

async fn spa() -> Spa {
    // `cargo test` builds every example beside the binaries.
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_gatehouse")).with_file_name("examples").join("spa");
    let mut child = Command::new(&bin)
        .env("SPA_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} ({e}): build it with `cargo build --example spa`", bin.display()));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the spa example did not start")
        .expect("read")
        .expect("a line");
    let url = line.strip_prefix("spa: open ").expect("spa banner");
    let origin = url.split("/?").next().expect("origin").to_owned();
    Spa { _child: child, origin }
}

async fn register(server: &TestServer, collection: &str, body: Value) -> Value {
    let (status, created) = server.call(Method::POST, &format!("/{collection}"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

/// Registers the example app as an Authorization Code client at its origin.
async fn register_spa(server: &TestServer, spa: &Spa, lifetime: u32) -> String {
    let home = format!("{}/", spa.origin);
    let created = register(
        server,
        "AuthorizationCodeClients",
        json!({
            "Name": "Example SPA",
            "ClientUri": home,
            "RedirectUris": [home],
            "PostLogoutRedirectUris": [home],
            "AllowedCorsOrigins": [spa.origin],
            "AccessTokenLifetime": lifetime,
        }),
    )
    .await;
    created["Id"].as_str().expect("id").to_owned()
}

/// Waits until `css`'s text satisfies `ok`, showing the app's error box if it never does.
async fn wait_for(c: &Client, css: &str, ok: impl Fn(&str) -> bool, seconds: u64) -> String {
    let mut last = String::new();
    for _ in 0..seconds * 10 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if ok(last.trim()) {
                return last.trim().to_owned();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = match c.find(Locator::Css("#error")).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let at = c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
    panic!("{css} is {last:?} at {at}; the page's error: {error:?}");
}

/// Signs in from the app's page through our sign-in page, as a person does.
async fn sign_in_through_the_app(c: &Client, server: &TestServer, spa: &Spa, id: &str) {
    let issuer = format!("{}/identity", server.base);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("client_id", id), ("issuer", issuer.as_str())])
        .finish();
    c.goto(&format!("{}/?{query}", spa.origin)).await.expect("open the app");
    click(c, "#sign-in").await;
    // Our page names the app that asks.
    assert_eq!(text_of(c, "#app").await, "Example SPA");
    fill(c, "input[name=username]", "admin").await;
    fill(c, "input[name=password]", ADMIN_PASSWORD).await;
    click(c, "button[type=submit]").await;
    // Back at the app, which exchanged the code and called userinfo across origins.
    wait_for(c, "#userinfo", |t| t.contains("\"sub\""), 20).await;
    let at = c.current_url().await.expect("url");
    assert_eq!(at.as_str(), format!("{}/", spa.origin), "the app's own origin, the code gone from the URL");
    assert_eq!(text_of(c, "#status").await, "Signed in as admin.");
}

#[tokio::test]
async fn a_single_page_app_on_another_origin_signs_in_renews_silently_and_signs_out() {
    let server = TestServer::start().await;
    let spa = spa().await;
    assert_ne!(spa.origin, server.base);
    let id = register_spa(&server, &spa, 60).await;
    let chrome = chrome().await;
    let c = &chrome.client;
    sign_in_through_the_app(c, &server, &spa, &id).await;

    // Silent renewal in a hidden iframe (prompt=none): a new access token, no page change.
    let first = text_of(c, "#token-id").await;
    click(c, "#renew").await;
    wait_for(c, "#renewals", |t| t == "1", 15).await;
    assert_ne!(text_of(c, "#token-id").await, first, "a new access token");
    // And on its own, before a 60-second token expires (the app renews 60 s ahead, at least
    // 10 s after the last renewal).
    wait_for(c, "#renewals", |t| t == "2", 30).await;

    // Logout with the session's ID token: no question, back to the app with its state.
    click(c, "#sign-out").await;
    wait_for(c, "#status", |t| t == "You are signed out.", 20).await;
    // The session is gone: signing in again asks for the password.
    click(c, "#sign-in").await;
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("input[name=password]")).await.expect("asked");
}

#[tokio::test]
async fn a_logout_without_the_id_token_is_confirmed_by_the_person_then_returns_to_the_app() {
    let server = TestServer::start().await;
    let spa = spa().await;
    let id = register_spa(&server, &spa, 3600).await;
    let chrome = chrome().await;
    let c = &chrome.client;
    sign_in_through_the_app(c, &server, &spa, &id).await;
    // A link from anywhere (client_id, no id_token_hint): the person is asked.
    let home = format!("{}/", spa.origin);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("client_id", id.as_str()), ("post_logout_redirect_uri", home.as_str()), ("state", "bye")])
        .finish();
    c.goto(&server.url(&format!("/identity/connect/endsession?{query}"))).await.expect("end session");
    assert_eq!(text_of(c, "h1").await, "Sign out?");
    click(c, "#sign-out").await;
    // Our form's answer leads to the app's origin: the browser must follow it.
    wait_for(c, "#status", |t| t.starts_with("Not signed in"), 20).await;
    assert!(c.current_url().await.expect("url").as_str().starts_with(&spa.origin));
    click(c, "#sign-in").await;
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("input[name=password]")).await.expect("asked");
}

#[tokio::test]
async fn across_sites_silent_renewal_gets_login_required_at_once() {
    // `localhost` and `127.0.0.1` are different sites: the iframe carries no SameSite=Lax
    // session cookie (decisions.md, "Silent renewal in an iframe works for apps on the same
    // site"), and the app hears so at once instead of hanging.
    let server = TestServer::start().await;
    let mut spa = spa().await;
    spa.origin = spa.origin.replace("127.0.0.1", "localhost");
    let id = register_spa(&server, &spa, 3600).await;
    let chrome = chrome().await;
    let c = &chrome.client;
    sign_in_through_the_app(c, &server, &spa, &id).await;
    click(c, "#renew").await;
    wait_for(c, "#error", |t| t.contains("login_required"), 15).await;
    assert_eq!(text_of(c, "#renewals").await, "0");
}

/// A server-side app at its own origin whose `/callback` takes the form_post and keeps it.
struct FormPostApp {
    origin: String,
    received: Arc<Mutex<Vec<(String, String)>>>,
}

fn form_post_app() -> FormPostApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&received);
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                let kept = Arc::clone(&kept);
                App::new().route(
                    "/callback",
                    web::post().to(move |form: web::Form<Vec<(String, String)>>| {
                        let kept = Arc::clone(&kept);
                        async move {
                            *kept.lock().expect("lock") = form.into_inner();
                            HttpResponse::Ok().content_type("text/html").body("<h1 id=\"received\">received</h1>")
                        }
                    }),
                )
            })
            .workers(1)
            .listen(listener)
            .expect("listen")
            .run()
            .await
        })
    });
    FormPostApp { origin, received }
}

#[tokio::test]
async fn a_hybrid_app_receives_its_form_post_at_its_own_origin() {
    let server = TestServer::start().await;
    let app = form_post_app();
    let callback = format!("{}/callback", app.origin);
    let created = register(
        &server,
        "HybridClients",
        json!({
            "Name": "Plant historian",
            "ClientUri": format!("{}/", app.origin),
            "RedirectUris": [callback],
            "SecretDescription": "browser test",
            "SecretExpirationDate": "2099-01-01T00:00:00Z",
        }),
    )
    .await;
    let id = created["Client"]["Id"].as_str().expect("id").to_owned();
    let secret = created["Secret"].as_str().expect("secret").to_owned();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", id.as_str()),
            ("redirect_uri", callback.as_str()),
            ("response_type", "code id_token"),
            ("response_mode", "form_post"),
            ("scope", "openid profile"),
            ("state", "st-1"),
            ("nonce", "n-1"),
        ])
        .finish();
    let chrome = chrome().await;
    let c = &chrome.client;
    c.goto(&server.url(&format!("/identity/connect/authorize?{query}"))).await.expect("authorize");
    // The app is named, and linked to its ClientUri.
    let app_link = c.wait().for_element(Locator::Css("a#app")).await.expect("the app's link");
    assert_eq!(app_link.text().await.expect("text"), "Plant historian");
    assert_eq!(app_link.attr("href").await.expect("href").as_deref(), Some(format!("{}/", app.origin).as_str()));
    fill(c, "input[name=username]", "admin").await;
    fill(c, "input[name=password]", ADMIN_PASSWORD).await;
    click(c, "button[type=submit]").await;
    assert_eq!(text_of(c, "#received").await, "received");
    let posted = app.received.lock().expect("lock").clone();
    let get = |k: &str| posted.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("state").as_deref(), Some("st-1"));
    assert_eq!(get("iss"), Some(format!("{}/identity", server.base)));
    assert!(get("id_token").is_some(), "{posted:?}");
    let code = get("code").expect("code");
    // The app's server side redeems the code with its secret.
    let answer: Value = server
        .http
        .post(server.url("/identity/connect/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &callback)])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert!(answer["id_token"].is_string(), "{answer}");
}
