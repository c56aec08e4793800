//! Several instances on one database, as behind a load balancer: they share everything
//! through the store (issue 8). Each case starts real `gatehouse` processes on one fresh
//! database, once on an SQLite file and once on PostgreSQL (a database of its own; skipped
//! without a server, failing under CI). The instances share one public URL (the balancer's),
//! so each issues tokens the others accept; requests here go to each instance directly.

use futures_util::future::join_all;
use gatehouse_store_postgres::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Landing};
use crate::flows::{offline_authorize_url, register, token};
use crate::support::{claims, TestServer, ADMIN_PASSWORD, BOOT_ID, BOOT_SECRET};

/// The balancer's address as every instance names it (nothing listens there).
const PUBLIC_URL: &str = "http://127.0.0.1:9";

/// Which database the instances share.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The instances, and what keeps their database alive.
struct Cluster {
    servers: Vec<TestServer>,
    dir: tempfile::TempDir,
    _postgres: Option<TestDatabase>,
    env: Vec<(String, String)>,
}

impl Cluster {
    /// `n` instances started at the same moment on one empty database; `None` when the
    /// backend is not there (PostgreSQL outside CI).
    async fn start(backend: Backend, n: usize) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env: Vec<(String, String)> = [
            ("GATEHOUSE_PUBLIC_URL", PUBLIC_URL),
            ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID),
            ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOT_SECRET),
            ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let db = TestDatabase::create().await?;
                env.push(("GATEHOUSE_DATABASE".into(), db.url().to_owned()));
                env.push(("GATEHOUSE_DATABASE_POOL_SIZE".into(), "4".into()));
                Some(db)
            }
        };
        let mut cluster = Self { servers: Vec::new(), dir, _postgres: postgres, env };
        let servers = join_all((0..n).map(|_| cluster.instance(&[]))).await;
        cluster.servers = servers;
        Some(cluster)
    }

    /// One more instance on the cluster's database, with `extra` environment.
    async fn instance(&self, extra: &[(&str, &str)]) -> TestServer {
        let mut env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.extend_from_slice(extra);
        TestServer::start_with(self.dir.path(), &env).await
    }
}

/// One `#[tokio::test]` per backend for each case.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(super::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(super::Backend::Postgres).await
            })*
        }
    };
}

on_both_backends!(
    instances_started_at_once_on_an_empty_database_make_one_first_start,
    a_change_through_one_instance_is_in_force_on_the_others_at_the_next_request,
    a_sign_in_and_a_refresh_rotation_alternate_between_instances,
    a_killed_instance_leaves_the_others_serving_and_rejoins_without_a_second_first_start,
    the_throttle_and_a_key_rotation_are_shared_at_once,
    a_device_code_is_approved_on_one_instance_and_redeemed_once_across_them,
);

async fn instances_started_at_once_on_an_empty_database_make_one_first_start(backend: Backend) {
    let Some(cluster) = Cluster::start(backend, 3).await else { return };
    let servers = &cluster.servers;
    let first_starts = servers
        .iter()
        .filter(|s| s.banner.iter().any(|l| l.starts_with("gatehouse: first start, created tenant")))
        .count();
    assert_eq!(first_starts, 1, "exactly one instance bootstrapped");
    let tenants: Vec<&str> = servers.iter().map(|s| s.tenant.as_str()).collect();
    assert!(tenants.iter().all(|t| *t == tenants[0]), "{tenants:?}");
    // One key set: every instance publishes the same keys.
    let mut published = Vec::new();
    for server in servers {
        let jwks: Value = server.get_json("/identity/.well-known/openid-configuration/jwks").await;
        let mut kids: Vec<String> =
            jwks["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_owned()).collect();
        kids.sort();
        published.push(kids);
    }
    assert_eq!(published[0].len(), 2);
    assert!(published.iter().all(|k| *k == published[0]), "{published:?}");
}

async fn a_change_through_one_instance_is_in_force_on_the_others_at_the_next_request(backend: Backend) {
    let Some(cluster) = Cluster::start(backend, 2).await else { return };
    let (a, b) = (&cluster.servers[0], &cluster.servers[1]);
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
    let Landing::Page(status, _) = browser.visit(&offline_authorize_url(b, &web)).await else {
        panic!("our error page")
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A secret deleted on B no longer authenticates on A.
    let (other, first) = a.new_machine_client(json!({})).await;
    let secrets = format!("/ClientCredentialClients/{other}/Secrets");
    let (_, second) = b.call(Method::POST, &secrets, Some(json!({ "Expires": false }))).await;
    let second = second["Secret"].as_str().expect("second secret").to_owned();
    assert_eq!(b.call(Method::DELETE, &format!("{secrets}/1"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(a.client_credentials(&other, &first).await.status(), StatusCode::UNAUTHORIZED);
    a.token_for(&other, &second).await;
    // A CORS origin added on A is answered by B's preflight.
    let origin = "https://spa.example.com";
    let preflight = || async {
        b.http
            .request(Method::OPTIONS, b.url("/identity/connect/token"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .expect("preflight")
    };
    assert!(preflight().await.headers().get("access-control-allow-origin").is_none());
    a.call(Method::PUT, &format!("/AuthorizationCodeClients/{web}"), Some(json!({ "AllowedCorsOrigins": [origin] })))
        .await;
    assert_eq!(preflight().await.headers()["access-control-allow-origin"], origin);
}

async fn a_sign_in_and_a_refresh_rotation_alternate_between_instances(backend: Backend) {
    let Some(cluster) = Cluster::start(backend, 2).await else { return };
    let (a, b) = (&cluster.servers[0], &cluster.servers[1]);
    let (id, _) = register(a, "AuthorizationCodeClients", json!({ "AllowOfflineAccess": true })).await;
    // Signed in on A; the browser's cookie (one host) is sent to B too.
    let browser = Browser::new(a);
    let landed = browser.authorize_as_admin(&offline_authorize_url(a, &id)).await.redirect();
    let code = Landing::param(&landed, "code").expect("code");
    let again = browser.to(b);
    let silently = again.visit(&format!("{}&prompt=none", offline_authorize_url(b, &id))).await.redirect();
    assert!(Landing::param(&silently, "code").is_some(), "B sees A's session: {silently}");
    // The code from A is exchanged on B, once.
    let form = crate::flows::exchange_form(&code, &id);
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

async fn a_killed_instance_leaves_the_others_serving_and_rejoins_without_a_second_first_start(backend: Backend) {
    let Some(mut cluster) = Cluster::start(backend, 2).await else { return };
    let b = cluster.servers.pop().expect("b");
    let a = cluster.servers.pop().expect("a");
    let (id, secret) = a.new_machine_client(json!({})).await;
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
    let a = cluster.instance(&[]).await;
    assert!(!a.banner.iter().any(|l| l.contains("first start")), "{:?}", a.banner);
    assert_eq!(a.tenant, b.tenant);
    assert_eq!(a.client_credentials(&id, &secret).await.status(), StatusCode::OK);
}

/// A sign-in attempt as `user` on `server`: the status of the answer.
async fn attempt(server: &TestServer, user: &str, password: &str) -> StatusCode {
    let browser = Browser::new(server);
    let Landing::Page(StatusCode::OK, page) = browser.visit(&server.url("/identity/account/login")).await else {
        panic!("the sign-in page")
    };
    match browser.sign_in(&page, user, password).await {
        Landing::Page(status, _) => status,
        Landing::Redirect(url) => panic!("unexpected redirect to {url}"),
    }
}

async fn the_throttle_and_a_key_rotation_are_shared_at_once(backend: Backend) {
    let Some(cluster) = Cluster::start(backend, 2).await else { return };
    let (a, b) = (&cluster.servers[0], &cluster.servers[1]);
    for _ in 0..5 {
        assert_eq!(attempt(a, "admin", "wrong-password").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attempt(b, "admin", ADMIN_PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "blocked on every instance");
    // `gatehouse rotate-keys` against the database: both instances publish the new keys
    // within about a second.
    let database = cluster
        .env
        .iter()
        .find(|(k, _)| k == "GATEHOUSE_DATABASE")
        .map_or_else(|| cluster.dir.path().join("gatehouse.db").display().to_string(), |(_, v)| v.clone());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("rotate-keys")
        .env_clear()
        .env("GATEHOUSE_DATABASE", &database)
        .output()
        .await
        .expect("run rotate-keys");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rotated = std::time::Instant::now();
    for server in [a, b] {
        loop {
            let jwks: Value = server.get_json("/identity/.well-known/openid-configuration/jwks").await;
            if jwks["keys"].as_array().map(Vec::len) == Some(4) {
                break;
            }
            assert!(
                rotated.elapsed() < std::time::Duration::from_secs(5),
                "the rotation was not seen by {}",
                server.base
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// RFC 8628 across instances: the code is issued by A, approved by a person on B, and the
/// device's polls, to both at once, get the tokens once.
async fn a_device_code_is_approved_on_one_instance_and_redeemed_once_across_them(backend: Backend) {
    use crate::device::{authorize_device, decide, device_client, error, open_signed_in, poll};
    let Some(cluster) = Cluster::start(backend, 2).await else { return };
    let (a, b) = (&cluster.servers[0], &cluster.servers[1]);
    let client = device_client(a, json!({})).await;
    let (status, codes) = authorize_device(a, &client, "openid").await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let device_code = codes["device_code"].as_str().expect("device_code");
    let person = Browser::new(b);
    let uri = codes["verification_uri_complete"].as_str().expect("uri").replace(PUBLIC_URL, &b.base);
    let page = open_signed_in(&person, &uri).await;
    assert_eq!(decide(&person, b, &page, "approve").await.0, StatusCode::OK);
    let polls = join_all((0..6).map(|i| poll(if i % 2 == 0 { a } else { b }, &client, device_code))).await;
    let issued: Vec<&Value> = polls.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, t)| t).collect();
    assert_eq!(issued.len(), 1, "one poll gets the tokens: {polls:?}");
    assert!(issued[0]["id_token"].is_string(), "{}", issued[0]);
    for (status, body) in polls.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
        assert!(["invalid_grant", "slow_down"].contains(&error(body)), "{body}");
    }
}
