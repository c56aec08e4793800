//! Several instances on one database, as behind a load balancer: they share everything
//! through the store (issue 8). Each test starts real `gatehouse` processes on one fresh
//! database. The instances share one public URL (the balancer's), so each issues tokens the
//! others accept; requests here go to each instance directly.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Landing};
use crate::flows::{register, APP};
use crate::support::{claims, TestServer, ADMIN_PASSWORD, BOOT_ID, BOOT_SECRET};

/// The balancer's address as every instance names it (nothing listens there).
const PUBLIC_URL: &str = "http://127.0.0.1:9";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn env() -> [(&'static str, &'static str); 4] {
    [
        ("GATEHOUSE_PUBLIC_URL", PUBLIC_URL),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOT_SECRET),
        ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]
}

/// `n` instances started at the same moment on one empty database.
async fn cluster(n: usize) -> (tempfile::TempDir, Vec<TestServer>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env();
    let servers = join_all((0..n).map(|_| TestServer::start_with(dir.path(), &env))).await;
    (dir, servers)
}

#[tokio::test]
async fn instances_started_at_once_on_an_empty_database_make_one_first_start() {
    let (_dir, servers) = cluster(3).await;
    let first_starts = servers
        .iter()
        .filter(|s| s.banner.iter().any(|l| l.starts_with("gatehouse: first start, created tenant")))
        .count();
    assert_eq!(first_starts, 1, "exactly one instance bootstrapped");
    let tenants: Vec<&str> = servers.iter().map(|s| s.tenant.as_str()).collect();
    assert!(tenants.iter().all(|t| *t == tenants[0]), "{tenants:?}");
    // One key set: every instance publishes the same keys.
    let mut published = Vec::new();
    for server in &servers {
        let jwks: Value = server.get_json("/identity/.well-known/openid-configuration/jwks").await;
        let mut kids: Vec<String> =
            jwks["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_owned()).collect();
        kids.sort();
        published.push(kids);
    }
    assert_eq!(published[0].len(), 2);
    assert!(published.iter().all(|k| *k == published[0]), "{published:?}");
}

#[tokio::test]
async fn a_change_through_one_instance_is_in_force_on_the_others_at_the_next_request() {
    let (_dir, servers) = cluster(2).await;
    let (a, b) = (&servers[0], &servers[1]);
    // A token from one is accepted by the other.
    let token = a.admin_token().await;
    let response = b.http.get(b.api("/Roles")).bearer_auth(&token).send().await.expect("roles");
    assert_eq!(response.status(), StatusCode::OK);
    // A client made on A gets tokens from B; disabled on B, A refuses it at once.
    let (id, secret) = a.new_machine_client(json!({ "AccessTokenLifetime": 120 })).await;
    let on_b = b.token_for(&id, &secret).await;
    assert_eq!(claims(&on_b)["exp"].as_i64().expect("exp") - claims(&on_b)["iat"].as_i64().expect("iat"), 120);
    let item = format!("/ClientCredentialClients/{id}");
    let (status, _) = b.call(Method::PUT, &item, Some(json!({ "AccessTokenLifetime": 300 }))).await;
    assert_eq!(status, StatusCode::OK);
    let on_a = a.token_for(&id, &secret).await;
    assert_eq!(claims(&on_a)["exp"].as_i64().expect("exp") - claims(&on_a)["iat"].as_i64().expect("iat"), 300);
    b.call(Method::PUT, &item, Some(json!({ "Enabled": false }))).await;
    assert_eq!(a.client_credentials(&id, &secret).await.status(), StatusCode::UNAUTHORIZED);
    // A redirect URI removed on A is refused by B's authorize endpoint.
    let (web, _) = register(a, "AuthorizationCodeClients", json!({})).await;
    a.call(
        Method::PUT,
        &format!("/AuthorizationCodeClients/{web}"),
        Some(json!({ "RedirectUris": ["https://app.example.com/other"] })),
    )
    .await;
    let browser = Browser::new(b);
    let Landing::Page(status, _) = browser.visit(&authorize_url(b, &web)).await else { panic!("our error page") };
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

fn authorize_url(server: &TestServer, client: &str) -> String {
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

async fn token(server: &TestServer, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = server.http.post(server.url("/identity/connect/token")).form(form).send().await.expect("token");
    (response.status(), response.json().await.expect("json"))
}

#[tokio::test]
async fn a_sign_in_and_a_refresh_rotation_alternate_between_instances() {
    let (_dir, servers) = cluster(2).await;
    let (a, b) = (&servers[0], &servers[1]);
    let (id, _) = register(a, "AuthorizationCodeClients", json!({ "AllowOfflineAccess": true })).await;
    // Signed in on A; the browser's cookie (one host) is sent to B too.
    let browser = Browser::new(a);
    let landed = browser.authorize_as_admin(&authorize_url(a, &id)).await.redirect();
    let code = Landing::param(&landed, "code").expect("code");
    let again = browser.to(b);
    let silently = again.visit(&format!("{}&prompt=none", authorize_url(b, &id))).await.redirect();
    assert!(Landing::param(&silently, "code").is_some(), "B sees A's session: {silently}");
    // The code from A is exchanged on B, once.
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP),
        ("client_id", id.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = token(b, &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // The refresh token rotates across instances; the old one is spent everywhere.
    let mut refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    for server in [a, b, a] {
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("client_id", id.as_str())];
        let (status, next) = token(server, &form).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        refresh = next["refresh_token"].as_str().expect("refresh").to_owned();
    }
    // The code presented again, on the other instance: refused, and what it issued is revoked
    // everywhere.
    assert_eq!(token(a, &form).await.0, StatusCode::BAD_REQUEST, "a code is used once, whichever instance");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("client_id", id.as_str())];
    assert_eq!(token(b, &form).await.0, StatusCode::BAD_REQUEST, "the family is revoked on every instance");
}

#[tokio::test]
async fn a_killed_instance_leaves_the_others_serving_and_rejoins_without_a_second_first_start() {
    let (dir, mut servers) = cluster(2).await;
    let b = servers.pop().expect("b");
    let a = servers.pop().expect("a");
    let (id, secret) = a.new_machine_client(json!({})).await;
    let listen = a.listen();
    // kill -9 (what `stop` does) while B serves.
    let serving = async {
        let mut ok = 0;
        for _ in 0..50 {
            if b.client_credentials(&id, &secret).await.status() == StatusCode::OK {
                ok += 1;
            }
        }
        ok
    };
    let (ok, _) = tokio::join!(serving, a.stop());
    assert_eq!(ok, 50, "B answered every request while A died");
    let env = env();
    let mut again_env: Vec<(&str, &str)> = env.to_vec();
    again_env.push(("GATEHOUSE_LISTEN", &listen));
    let a = TestServer::start_with(dir.path(), &again_env).await;
    assert!(!a.banner.iter().any(|l| l.contains("first start")), "{:?}", a.banner);
    assert_eq!(a.tenant, b.tenant);
    assert_eq!(a.client_credentials(&id, &secret).await.status(), StatusCode::OK);
}
