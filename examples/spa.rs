//! Serves the single-page application in `examples/spa/` on http://127.0.0.1:8081/. The
//! page does everything itself, in the browser: authorization code flow with PKCE (S256,
//! computed with `window.crypto.subtle`), the code exchange at the token endpoint with
//! `fetch` (CORS), a call to the userinfo endpoint with the access token, silent renewal
//! in a hidden iframe with `prompt=none` before the access token expires (as oidc-client-js's
//! `automaticSilentRenew` does), and sign-out through the end-session endpoint. This server
//! only hands out the two files, as they are.
//!
//! Environment: `SPA_LISTEN` (default `127.0.0.1:8081`; port 0 picks a free one). The page
//! reads the client id from `?client_id=` (or asks for it) and the issuer from `?issuer=`
//! (default `http://127.0.0.1:5000/identity`). The browser tests (tests/it/relying_party.rs)
//! run this very program on another origin than the server's.
//!
//! How to run it:
//!
//! 1. Start Gatehouse with a bootstrap administration client and a known admin password
//!    (read only on the first start, on an empty database); note the tenant id it prints:
//!
//!    ```text
//!    export GATEHOUSE_BOOTSTRAP_CLIENT_ID=$(uuidgen)
//!    export GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=$(openssl rand -hex 32)
//!    GATEHOUSE_ADMIN_PASSWORD='change-me-please' cargo run
//!    ```
//!
//! 2. Register the page as an Authorization Code (public) client. Loopback `http` URIs are
//!    allowed; the CORS origin lets the page call the token and userinfo endpoints:
//!
//!    ```text
//!    BASE=http://127.0.0.1:5000
//!    TENANT=<tenant id>
//!    TOKEN=$(curl -s -u "$GATEHOUSE_BOOTSTRAP_CLIENT_ID:$GATEHOUSE_BOOTSTRAP_CLIENT_SECRET" \
//!      -d grant_type=client_credentials $BASE/identity/connect/token | jq -r .access_token)
//!    curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!      $BASE/api/v1/Tenants/$TENANT/AuthorizationCodeClients -d '{
//!        "Name": "Example single-page app",
//!        "RedirectUris": ["http://127.0.0.1:8081/"],
//!        "PostLogoutRedirectUris": ["http://127.0.0.1:8081/"],
//!        "AllowedCorsOrigins": ["http://127.0.0.1:8081"]
//!      }'
//!    ```
//!
//!    The answer's `Id` is the client id (there is no secret).
//!
//! 3. `cargo run --example spa` and open `http://127.0.0.1:8081/?client_id=<Id>`; sign in as
//!    `admin`. Use `127.0.0.1`, not `localhost`: the origin must be the registered one.

#![allow(clippy::print_stdout)]

use actix_web::http::header;
use actix_web::{web, App, HttpResponse, HttpServer};

const LISTEN: &str = "127.0.0.1:8081";
const INDEX_HTML: &str = include_str!("spa/index.html");
const APP_JS: &str = include_str!("spa/app.js");

/// Only our own script and styles run; the page may `fetch` from, and frame (for silent
/// renewal), any http(s) origin, because the issuer can be chosen with `?issuer=`; only the
/// page itself may frame it (the renewal iframe comes back to it). No referrer: the URL
/// carries the code.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src http: https:; \
                   frame-src http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

fn file(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

async fn index() -> HttpResponse {
    file("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> HttpResponse {
    file("text/javascript; charset=utf-8", APP_JS)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::var("SPA_LISTEN").unwrap_or_else(|_| LISTEN.to_owned());
    let listener = std::net::TcpListener::bind(&listen)?;
    let addr = listener.local_addr()?;
    println!("spa: open http://{addr}/?client_id=<your AuthorizationCode client id>");
    HttpServer::new(|| App::new().route("/", web::get().to(index)).route("/app.js", web::get().to(app_js)))
        .workers(1)
        .listen(listener)?
        .run()
        .await
}
