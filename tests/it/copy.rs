//! `gatehouse copy-data --to DATABASE`: an SQLite server's data moved to PostgreSQL, where
//! everything goes on as before (issue 8, decision 39). PostgreSQL tests get a database of
//! their own (skipped without a server, failing under CI).

use gatehouse_registry::store::suite;
use gatehouse_store_postgres::testing::TestDatabase;
use gatehouse_store_sqlite::SqliteStore;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Landing};
use crate::flows::{offline_authorize_url, register, token};
use crate::support::{claims, run_gatehouse, TestServer, ADMIN_PASSWORD, BOOT_ID, BOOT_SECRET};

/// Both servers name the same public URL, so tokens of one are tokens of the other.
const PUBLIC_URL: &str = "http://127.0.0.1:9";

/// The store's own copy, SQLite to PostgreSQL: everything the suite fills arrives equal and
/// behaves as it did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_moves_from_sqlite_to_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteStore::open(&dir.path().join("from.db")).expect("open");
    suite::a_snapshot_moves_between_backends(&sqlite, &db.store().await).await;
}

/// Signs the administrator in through the browser app `client` and exchanges the code.
async fn sign_in(server: &TestServer, client: &str) -> Value {
    let landed = Browser::new(server).authorize_as_admin(&offline_authorize_url(server, client)).await;
    let Landing::Redirect(to) = landed else { panic!("signed in and sent back: {landed:?}") };
    let code = Landing::param(&to, "code").expect("code");
    crate::flows::exchange_code(server, &code, client).await
}

async fn secret_ids(server: &TestServer, client: &str) -> Vec<u64> {
    let (status, listed) = server.call(Method::GET, &format!("/ClientCredentialClients/{client}/Secrets"), None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    listed.as_array().expect("a list").iter().map(|s| s["Id"].as_u64().expect("id")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_server_moves_to_postgres_with_everything_it_knows() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("gatehouse.db");
    let file = file.to_str().expect("utf-8 path");
    let common = [
        ("GATEHOUSE_PUBLIC_URL", PUBLIC_URL),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOT_SECRET),
        ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];

    // On SQLite: a machine client with secrets 1 and 3 (2 deleted), a browser app with
    // refresh tokens, the administrator signed in through it.
    let old = TestServer::start_with(dir.path(), &common).await;
    let (machine, first_secret) = old.new_machine_client(json!({ "Name": "moved" })).await;
    let secrets = format!("/ClientCredentialClients/{machine}/Secrets");
    let mut values = Vec::new();
    for description in ["second", "third"] {
        let (status, created) =
            old.call(Method::POST, &secrets, Some(json!({ "Description": description, "Expires": false }))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        values.push(created["Secret"].as_str().expect("value").to_owned());
    }
    let (status, _) = old.call(Method::DELETE, &format!("{secrets}/2"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(secret_ids(&old, &machine).await, vec![1, 3]);
    let (app, _) = register(&old, "AuthorizationCodeClients", json!({ "AllowOfflineAccess": true })).await;
    let tokens = sign_in(&old, &app).await;
    let refresh = tokens["refresh_token"].as_str().expect("refresh token").to_owned();
    let admin_token = old.admin_token().await;
    let tenant = old.tenant.clone();
    old.stop().await;

    // The copy: one line of counts, no secret in it.
    let copied = run_gatehouse(&["copy-data", "--to", db.url()], &[("GATEHOUSE_DATABASE", file)]).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&copied.stdout), String::from_utf8_lossy(&copied.stderr));
    assert!(copied.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("gatehouse: copied 1 tenants, 2 roles, 1 users, 4 clients, 3 client secrets"),
        "{stdout}"
    );
    for secret in [first_secret.as_str(), BOOT_SECRET, ADMIN_PASSWORD, &values[1], &refresh] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "{stdout}{stderr}");
    }

    // On PostgreSQL: no first start, the same tenant, and everything works as it did.
    let mut env = common.to_vec();
    env.extend([("GATEHOUSE_DATABASE", db.url()), ("GATEHOUSE_DATABASE_POOL_SIZE", "4")]);
    let new = TestServer::start_with(dir.path(), &env).await;
    assert!(!new.banner.iter().any(|l| l.contains("first start")), "{:?}", new.banner);
    assert_eq!(new.tenant, tenant);
    let listed = new
        .http
        .get(new.api("/ClientCredentialClients"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .expect("list with the old token");
    assert_eq!(listed.status(), StatusCode::OK, "an access token issued before the copy is accepted");
    assert_eq!(claims(&new.token_for(&machine, &first_secret).await)["client_id"], machine.as_str());
    new.token_for(&machine, &values[1]).await;
    assert_eq!(secret_ids(&new, &machine).await, vec![1, 3]);
    let (status, created) =
        new.call(Method::POST, &secrets, Some(json!({ "Description": "fourth", "Expires": false }))).await;
    assert_eq!((status, created["Id"].as_u64()), (StatusCode::CREATED, Some(4)), "secret ids are never reused");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("client_id", app.as_str())];
    let (status, refreshed) = token(&new, &form).await;
    assert_eq!(status, StatusCode::OK, "the refresh token still refreshes: {refreshed}");
    sign_in(&new, &app).await;

    // A second copy into the database, which now holds data: refused in one line.
    let again = run_gatehouse(&["copy-data", "--to", db.url()], &[("GATEHOUSE_DATABASE", file)]).await;
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not empty"), "{stderr}");
    new.stop().await;
}

/// A source that does not exist, or a target that is not a database URL, is one line and a
/// failure; nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_data_refuses_a_missing_source_and_a_wrong_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none.db");
    let target = dir.path().join("target.db");
    let (missing, target) = (missing.to_str().expect("path"), target.to_str().expect("path"));
    for (args, says) in [
        (vec!["copy-data", "--to", target], "no database at"),
        (vec!["copy-data", "--to", "mysql://db/g"], "--to: must be"),
    ] {
        let out = run_gatehouse(&args, &[("GATEHOUSE_DATABASE", missing)]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("gatehouse: cannot copy the data: ") && stderr.contains(says), "{stderr}");
    }
    // Without a target, the command line is wrong: its usage, and status 2.
    let out = run_gatehouse(&["copy-data"], &[("GATEHOUSE_DATABASE", missing)]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--to <DATABASE>") && stderr.contains("Usage: gatehouse copy-data"), "{stderr}");
    assert!(!std::path::Path::new(missing).exists() && !std::path::Path::new(target).exists());
}
