//! The sign-in cookies (protocol.md, Security floor; api.md, Sign-in pages): the session
//! cookie `HttpOnly`, `SameSite=Lax` and, over https, `Secure`; the CSRF cookie of the
//! double submit `SameSite=Strict`, host-only over https; no sign-in without it.

use reqwest::{Client, Response, StatusCode};

use crate::browser::{hidden, Browser, Landing};
use crate::flows::{register, APP};
use crate::support::{TestServer, ADMIN_PASSWORD};

/// A client without a cookie store: every cookie is sent by hand.
fn bare_client() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The `Set-Cookie` of `response` for the cookie `name`, if any.
fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// A `Set-Cookie`'s `name=value` and its attributes, sorted.
fn split(cookie: &str) -> (String, Vec<String>) {
    let mut parts = cookie.split(';').map(|p| p.trim().to_owned());
    let pair = parts.next().unwrap_or_default();
    let mut attributes: Vec<String> = parts.filter(|p| !p.is_empty()).collect();
    attributes.sort();
    (pair, attributes)
}

fn sorted(attributes: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = attributes.iter().map(|a| (*a).to_owned()).collect();
    all.sort();
    all
}

/// The sign-in form: its CSRF `Set-Cookie` (under `csrf_name`) and the page.
async fn login_page(server: &TestServer, http: &Client, csrf_name: &str) -> (String, String) {
    let response = http.get(server.url("/identity/account/login")).send().await.expect("login page");
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(&response, csrf_name).unwrap_or_else(|| panic!("{csrf_name}: {:?}", response.headers()));
    (cookie, response.text().await.expect("page"))
}

/// Posts the sign-in form of `page` as the administrator, sending `cookie` (a `name=value`).
async fn post_sign_in(server: &TestServer, http: &Client, page: &str, csrf: &str, cookie: Option<&str>) -> Response {
    let form = [
        ("csrf", csrf.to_owned()),
        ("tenant", hidden(page, "tenant").expect("tenant")),
        ("return", hidden(page, "return").expect("return")),
        ("username", "admin".to_owned()),
        ("password", ADMIN_PASSWORD.to_owned()),
    ];
    let mut request = http.post(server.url("/identity/account/login")).form(&form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("sign in")
}

#[tokio::test]
async fn over_https_the_session_cookie_is_secure_and_only_the_host_csrf_cookie_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("GATEHOUSE_PUBLIC_URL", "https://id.example.com"), ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD)];
    let server = TestServer::start_with(dir.path(), &env).await;
    let http = bare_client();
    let (csrf_cookie, page) = login_page(&server, &http, "__Host-gatehouse_csrf").await;
    let (pair, _) = split(&csrf_cookie);
    let csrf = hidden(&page, "csrf").expect("csrf");
    assert_eq!(pair, format!("__Host-gatehouse_csrf={csrf}"));

    // The same value under the plain name, as a sibling subdomain or an http page could plant
    // it, is no CSRF cookie at all here.
    let planted = post_sign_in(&server, &http, &page, &csrf, Some(&format!("gatehouse_csrf={csrf}"))).await;
    assert_eq!(planted.status(), StatusCode::FORBIDDEN);
    assert_eq!(set_cookie(&planted, "gatehouse_session"), None);

    let signed_in = post_sign_in(&server, &http, &page, &csrf, Some(&pair)).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&signed_in, "gatehouse_session").expect("session cookie");
    // Exactly these: no Domain, and no Max-Age or Expires (it ends with the browser or the
    // session's 8 hours, whichever is first).
    assert_eq!(split(&session).1, sorted(&["HttpOnly", "SameSite=Lax", "Secure", "Path=/identity"]), "{session}");
}

#[tokio::test]
async fn on_a_loopback_http_issuer_the_cookies_are_http_only_and_not_secure() {
    let server = TestServer::start().await;
    let http = bare_client();
    let (csrf_cookie, page) = login_page(&server, &http, "gatehouse_csrf").await;
    let (pair, attributes) = split(&csrf_cookie);
    assert_eq!(attributes, sorted(&["HttpOnly", "SameSite=Strict", "Path=/identity"]), "{csrf_cookie}");
    let csrf = hidden(&page, "csrf").expect("csrf");
    let signed_in = post_sign_in(&server, &http, &page, &csrf, Some(&pair)).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&signed_in, "gatehouse_session").expect("session cookie");
    assert_eq!(split(&session).1, sorted(&["HttpOnly", "SameSite=Lax", "Path=/identity"]), "{session}");
}

#[tokio::test]
async fn a_sign_in_without_the_csrf_cookie_is_refused_and_starts_no_session() {
    let server = TestServer::start().await;
    let (id, _) =
        register(&server, "AuthorizationCodeClients", serde_json::json!({ "AllowOfflineAccess": true })).await;
    let authorize = crate::flows::offline_authorize_url(&server, &id);
    let browser = Browser::new(&server);
    let Landing::Page(StatusCode::OK, page) = browser.visit(&authorize).await else { panic!("the sign-in page") };
    let csrf = hidden(&page, "csrf").expect("csrf");

    // Another browser posts the right form and password, without the cookie.
    let cookieless = Browser::new(&server);
    let refused = post_sign_in(&server, &cookieless.http, &page, &csrf, None).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(set_cookie(&refused, "gatehouse_session"), None);
    assert!(refused.text().await.expect("page").contains("The form expired; please sign in again."));
    // An empty cookie and an empty field are no match either.
    let empty = post_sign_in(&server, &bare_client(), &page, "", Some("gatehouse_csrf=")).await;
    assert_eq!(empty.status(), StatusCode::FORBIDDEN);
    assert_eq!(set_cookie(&empty, "gatehouse_session"), None);
    // It has no session: a silent request is told to sign in.
    let silent = cookieless.visit(&format!("{authorize}&prompt=none")).await.redirect();
    assert!(silent.as_str().starts_with(APP));
    assert_eq!(Landing::param(&silent, "error").as_deref(), Some("login_required"), "{silent}");

    // The same form from the browser that holds the cookie signs in.
    let landed = browser.sign_in(&page, "admin", ADMIN_PASSWORD).await.redirect();
    assert!(Landing::param(&landed, "code").is_some(), "{landed}");
}
