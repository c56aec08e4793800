//! The real binary on PostgreSQL (`GATEHOUSE_DATABASE=postgres://...`). Each test that needs a
//! server gets a database of its own on the one `GATEHOUSE_TEST_POSTGRES` names (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards; without a server such a
//! test is skipped with its reason on stderr, and fails when `CI` is set.

use gatehouse_store_postgres::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{claims, run_gatehouse, TestServer, ADMIN_PASSWORD, BOOT_ID, BOOT_SECRET};

fn env(db: &TestDatabase) -> Vec<(&str, &str)> {
    vec![
        ("GATEHOUSE_DATABASE", db.url()),
        ("GATEHOUSE_DATABASE_POOL_SIZE", "4"),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOT_SECRET),
        ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_its_data_in_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_with(dir.path(), &env(&db)).await;
    assert!(server.banner.iter().any(|l| l.starts_with("gatehouse: first start")), "{:?}", server.banner);

    // A client-credentials token, then the admin API: create a client and list it.
    let token = server.admin_token().await;
    assert_eq!(claims(&token)["tid"], server.tenant.as_str());
    let (id, secret) = server.new_machine_client(json!({ "Name": "on postgres", "Tags": ["pg"] })).await;
    let (status, listed) = server.call(Method::GET, "/ClientCredentialClients?skip=0&count=10", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let ids: Vec<&str> = listed.as_array().expect("a list").iter().filter_map(|c| c["Id"].as_str()).collect();
    assert!(ids.contains(&id.as_str()) && ids.contains(&BOOT_ID), "{listed}");
    server.token_for(&id, &secret).await;
    assert!(!dir.path().join("gatehouse.db").exists(), "no SQLite file beside the PostgreSQL store");
    let tenant = server.tenant.clone();
    server.stop().await;

    // A restart on the same database is no first start, and finds everything.
    let again = TestServer::start_with(dir.path(), &env(&db)).await;
    assert!(!again.banner.iter().any(|l| l.contains("first start")), "{:?}", again.banner);
    assert_eq!(again.tenant, tenant);
    again.token_for(&id, &secret).await;

    // rotate-keys works against the same database from another process.
    let rotated = run_gatehouse(&["rotate-keys"], &[("GATEHOUSE_DATABASE", db.url())]).await;
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("new signing keys"));
    again.stop().await;
}

/// The audit trail of a scripted admin session, kept in PostgreSQL, in each change's
/// transaction (the same checks as on SQLite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_is_kept_in_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_with(dir.path(), &env(&db)).await;
    crate::audit::scripted_session(&server).await;
    server.stop().await;
}

/// An unreachable server, a URL that is not one, and a pool size out of range each stop the
/// start with one line on stderr and a failure status, and the password is never shown.
/// Needs no PostgreSQL: nothing listens on port 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_cannot_be_used_fails_the_start_in_one_line() {
    let password = "pw-never-shown-42";
    let unreachable = format!("postgres://gate:{password}@127.0.0.1:1/gatehouse");
    let wrong = format!("postgresql://gate:{password}@127.0.0.1:notaport/gatehouse");
    let good_url = format!("postgres://gate:{password}@127.0.0.1:1/gatehouse");
    for (env, says) in [
        (
            vec![("GATEHOUSE_DATABASE", unreachable.as_str())],
            "cannot connect to PostgreSQL at 127.0.0.1:1/gatehouse as gate",
        ),
        (vec![("GATEHOUSE_DATABASE", wrong.as_str())], "GATEHOUSE_DATABASE is not a PostgreSQL URL"),
        (
            vec![("GATEHOUSE_DATABASE", good_url.as_str()), ("GATEHOUSE_DATABASE_POOL_SIZE", "0")],
            "GATEHOUSE_DATABASE_POOL_SIZE: must be a whole number from 1 to 1000",
        ),
    ] {
        for args in [&[][..], &["rotate-keys"][..]] {
            let output = run_gatehouse(args, &env).await;
            let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            assert!(!output.status.success(), "{args:?} {env:?}: {stdout}");
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "one line: {stderr}");
            assert!(lines[0].starts_with("gatehouse: ") && lines[0].contains(says), "{args:?}: {stderr}");
            assert!(!format!("{stdout}{stderr}").contains(password), "the password leaked: {stderr}");
            assert!(!stdout.contains("listening"), "{stdout}");
        }
    }
}

/// The store's errors never reach the wire: a client-credentials request answers as it does
/// on SQLite (the server is the same; only the store differs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_as_on_sqlite() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_with(dir.path(), &env(&db)).await;
    let response = server.client_credentials(BOOT_ID, "not-the-secret-but-long-enough-0123456789").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    server.stop().await;
}
