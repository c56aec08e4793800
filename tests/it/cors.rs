//! CORS beyond the token preflight (protocol.md, CORS): the token, userinfo and revocation
//! endpoints and the admin API answer the origins some enabled client lists in
//! `AllowedCorsOrigins`, read live on every request; nothing else does.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Landing};
use crate::flows::{offline_authorize_url, register};
use crate::support::TestServer;

const SPA: &str = "https://spa.example.com";
const EVIL: &str = "https://evil.example.com";
const LATER: &str = "https://later.example.com";

fn allowed_origin(response: &Response) -> Option<&str> {
    response.headers().get("access-control-allow-origin").map(|v| v.to_str().expect("ascii"))
}

/// Whether the answer says it depends on the request's `Origin` (Fetch, "CORS protocol and
/// HTTP caches").
fn varies_by_origin(response: &Response) -> bool {
    response
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"))
}

/// What the SPA holds after signing in: its client id, and the administrator's user tokens.
struct Spa {
    id: String,
    access_token: String,
    admin_token: String,
}

/// The actual (not preflight) requests a browser app sends cross-origin, fresh each time:
/// name, request, and the status it is answered whatever the origin.
fn cross_origin_requests(server: &TestServer, spa: &Spa) -> Vec<(&'static str, RequestBuilder, StatusCode)> {
    let http = &server.http;
    vec![
        (
            "token (an error)",
            http.post(server.url("/identity/connect/token")).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "not-a-refresh-token"),
                ("client_id", spa.id.as_str()),
            ]),
            StatusCode::BAD_REQUEST,
        ),
        ("userinfo", http.get(server.url("/identity/connect/userinfo")).bearer_auth(&spa.access_token), StatusCode::OK),
        (
            "revocation",
            http.post(server.url("/identity/connect/revocation"))
                .form(&[("token", "not-a-token"), ("client_id", spa.id.as_str())]),
            StatusCode::OK,
        ),
        ("admin API", http.get(server.api("/Roles")).bearer_auth(&spa.admin_token), StatusCode::OK),
    ]
}

/// Sends each cross-origin request from `origin` (none: a same-origin request or a
/// navigation) and answers, per request, the allowed origin it was told; every answer must
/// vary by `Origin` and have the status it has from anywhere.
async fn send_from(server: &TestServer, spa: &Spa, origin: Option<&str>) -> Vec<(&'static str, Option<String>)> {
    let mut told = Vec::new();
    for (name, mut request, status) in cross_origin_requests(server, spa) {
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let response = request.send().await.expect(name);
        assert_eq!(response.status(), status, "{name} from {origin:?}");
        assert!(varies_by_origin(&response), "{name} from {origin:?}: {:?}", response.headers());
        told.push((name, allowed_origin(&response).map(str::to_owned)));
    }
    told
}

/// The preflight of each CORS path from `origin`: per path, the allowed origin it was told.
async fn preflights_from(server: &TestServer, origin: &str) -> Vec<(&'static str, Option<String>)> {
    let mut told = Vec::new();
    for (name, url, method) in [
        ("userinfo", server.url("/identity/connect/userinfo"), "GET"),
        ("revocation", server.url("/identity/connect/revocation"), "POST"),
        ("admin API", server.api("/AuthorizationCodeClients"), "PUT"),
    ] {
        let response = server
            .http
            .request(Method::OPTIONS, url)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header("Access-Control-Request-Headers", "authorization")
            .send()
            .await
            .expect("preflight");
        assert!(response.status().is_success(), "{name}: {}", response.status());
        assert!(varies_by_origin(&response), "{name}");
        if allowed_origin(&response).is_some() {
            let header = |h: &str| response.headers()[h].to_str().expect("ascii").to_owned();
            assert!(header("access-control-allow-methods").contains(method), "{name}");
            assert!(header("access-control-allow-headers").to_ascii_lowercase().contains("authorization"), "{name}");
        }
        told.push((name, allowed_origin(&response).map(str::to_owned)));
    }
    told
}

fn every(told: &[(&'static str, Option<String>)], expected: Option<&str>) {
    for (name, origin) in told {
        assert_eq!(origin.as_deref(), expected, "{name}");
    }
}

#[tokio::test]
async fn userinfo_revocation_and_the_admin_api_answer_only_allowed_origins_read_live() {
    let server = TestServer::start().await;
    let extra = json!({ "AllowedCorsOrigins": [SPA], "AllowOfflineAccess": true });
    let (id, _) = register(&server, "AuthorizationCodeClients", extra).await;
    let landed = Browser::new(&server).authorize_as_admin(&offline_authorize_url(&server, &id)).await.redirect();
    let code = Landing::param(&landed, "code").expect("code");
    let form = crate::flows::exchange_form(&code, &id);
    let exchange = server.http.post(server.url("/identity/connect/token")).header("Origin", SPA).form(&form);
    let exchange = exchange.send().await.expect("token");
    assert_eq!((exchange.status(), allowed_origin(&exchange)), (StatusCode::OK, Some(SPA)));
    assert!(varies_by_origin(&exchange));
    let tokens: Value = exchange.json().await.expect("json");
    let access_token = tokens["access_token"].as_str().expect("access token").to_owned();
    let spa = Spa { id: id.clone(), access_token, admin_token: server.admin_token().await };

    every(&send_from(&server, &spa, Some(SPA)).await, Some(SPA));
    every(&preflights_from(&server, SPA).await, Some(SPA));
    every(&send_from(&server, &spa, Some(EVIL)).await, None);
    every(&preflights_from(&server, EVIL).await, None);
    // Without an Origin nothing is allowed, and the answer still varies by it, so that no
    // cache hands it to a cross-origin request later.
    every(&send_from(&server, &spa, None).await, None);
    // Origins compare exactly: scheme, host and port.
    for near in ["http://spa.example.com", "https://spa.example.com:8443", "https://spa.example.com.evil.com", "null"] {
        every(&send_from(&server, &spa, Some(near)).await, None);
    }

    // Introspection is for servers: no CORS there, nor on the pages.
    for (method, path) in [
        (Method::POST, "/identity/connect/introspect"),
        (Method::GET, "/identity/account/login"),
        (Method::GET, "/identity/connect/endsession"),
    ] {
        let response = server.http.request(method, server.url(path)).header("Origin", SPA).send().await.expect(path);
        assert_eq!(allowed_origin(&response), None, "{path}");
    }

    // The origin replaced through the admin API is refused at the very next request, and its
    // replacement allowed.
    let item = format!("/AuthorizationCodeClients/{id}");
    let (status, updated) = server.call(Method::PUT, &item, Some(json!({ "AllowedCorsOrigins": [LATER] }))).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    every(&send_from(&server, &spa, Some(SPA)).await, None);
    every(&preflights_from(&server, SPA).await, None);
    every(&send_from(&server, &spa, Some(LATER)).await, Some(LATER));
    // A disabled client's origins are no longer allowed either.
    let (status, _) = server.call(Method::PUT, &item, Some(json!({ "Enabled": false }))).await;
    assert_eq!(status, StatusCode::OK);
    every(&preflights_from(&server, LATER).await, None);
    let roles = server.http.get(server.api("/Roles")).bearer_auth(&spa.admin_token).header("Origin", LATER);
    assert_eq!(allowed_origin(&roles.send().await.expect("roles")), None);
}
