//! Crash safety (issue 9): `kill -9` in the middle of concurrent admin writes on the SQLite
//! store loses none of the writes the server acknowledged, shows none half-written after the
//! restart, and leaves a database file that passes SQLite's integrity check.

use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

use crate::support::TestServer;

const TENANT_MEMBER: &str = "f1a9c6a2-2d2f-4a53-9a7b-7c3d5e0b1a01";
/// Client creations sent, at most `IN_FLIGHT` at a time.
const WRITES: usize = 1000;
const IN_FLIGHT: usize = 64;
/// The server is killed once this many creations have been acknowledged.
const KILL_AFTER: usize = 300;

/// The id of the `i`th write, given by the test so that a write whose answer never came can
/// be looked for too.
fn client_id(i: usize) -> Uuid {
    Uuid::from_u128(0xc7a5_0000_0000_4000_8000_0000_0000_0000 | i as u128)
}

/// The `i`th creation: a client row, tags, roles and a first secret, in one request.
fn body(i: usize, role: &str) -> Value {
    json!({
        "Id": client_id(i),
        "Name": format!("crash-{i}"),
        "AccessTokenLifetime": 60 + i,
        "Tags": ["crash", format!("n{i}")],
        "RoleIds": [role],
        "SecretDescription": format!("secret of {i}"),
        "SecretExpires": false,
    })
}

/// The client as the API shows the `i`th creation: all of it, or it is half-written.
fn whole(i: usize, role: &str) -> Value {
    json!({
        "Id": client_id(i),
        "Name": format!("crash-{i}"),
        "Enabled": true,
        "AccessTokenLifetime": 60 + i,
        "Tags": ["crash", format!("n{i}")],
        "RoleIds": [TENANT_MEMBER, role],
    })
}

/// The write's index and, when acknowledged, the 201 body; `None` when no answer came.
type Outcome = (usize, Option<Value>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_concurrent_admin_writes_loses_no_acknowledged_write() {
    let started = Instant::now();
    let server = TestServer::start().await;
    let token = server.admin_token().await;
    let (status, role) = server.call(Method::POST, "/Roles", Some(json!({ "Name": "Crash" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let role = role["Id"].as_str().expect("role id").to_owned();

    // Every write is a task; a semaphore keeps IN_FLIGHT of them on the wire.
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let (tx, mut acks) = mpsc::unbounded_channel::<Outcome>();
    let collection = server.api("/ClientCredentialClients");
    let mut tasks = Vec::with_capacity(WRITES);
    for i in 0..WRITES {
        let (gate, tx, http, url, token, body) =
            (gate.clone(), tx.clone(), server.http.clone(), collection.clone(), token.clone(), body(i, &role));
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore");
            let outcome = match http.post(url).bearer_auth(token).json(&body).send().await {
                Ok(response) => {
                    let status = response.status();
                    // A body cut off by the kill is no acknowledgement.
                    match response.text().await {
                        Ok(text) => {
                            assert_eq!(status, StatusCode::CREATED, "write {i} was refused: {text}");
                            Some(serde_json::from_str(&text).expect("json"))
                        }
                        Err(_) => None,
                    }
                }
                Err(_) => None,
            };
            let _ = tx.send((i, outcome));
        }));
    }
    drop(tx);

    // SIGKILL once KILL_AFTER writes are acknowledged, the others still in flight or queued.
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(WRITES);
    let mut acked_before_kill = 0;
    while acked_before_kill < KILL_AFTER {
        let outcome = acks.recv().await.expect("the writes ended before the kill");
        acked_before_kill += usize::from(outcome.1.is_some());
        outcomes.push(outcome);
    }
    let (dir, public_url) = (server.dir.clone(), server.base.clone());
    let tmp = server.stop().await;
    for task in tasks {
        task.await.expect("a write task panicked");
    }
    while let Some(outcome) = acks.recv().await {
        outcomes.push(outcome);
    }
    assert_eq!(outcomes.len(), WRITES);
    let acknowledged: Vec<(usize, Value)> =
        outcomes.iter().filter_map(|(i, ack)| ack.as_ref().map(|a| (*i, a.clone()))).collect();
    assert!(acknowledged.len() < WRITES, "the kill came after every write: nothing was tested");

    // The same file and issuer (a new port: the old one may be taken by now): the restarted
    // server recovers what the kill left.
    let server = TestServer::start_with(&dir, &[("GATEHOUSE_PUBLIC_URL", &public_url)]).await;
    let token = server.admin_token().await;
    let get = |path: String| {
        let request = server.http.get(server.api(&path)).bearer_auth(&token);
        async move {
            let response = request.send().await.expect("get");
            let status = response.status();
            (status, if status == StatusCode::OK { response.json::<Value>().await.expect("json") } else { Value::Null })
        }
    };
    // Every acknowledged write is there, whole, as acknowledged; every other one is whole or
    // absent. Which ids are there:
    let found: Vec<usize> = stream::iter(0..WRITES)
        .map(|i| {
            let acked = acknowledged.iter().find(|(j, _)| *j == i).map(|(_, a)| a["Client"].clone());
            let item = format!("/ClientCredentialClients/{}", client_id(i));
            let (client, secrets) = (get(item.clone()), get(format!("{item}/Secrets")));
            let role = role.clone();
            async move {
                let ((status, client), (_, secrets)) = tokio::join!(client, secrets);
                if status == StatusCode::NOT_FOUND {
                    return None;
                }
                assert_eq!((status, &client), (StatusCode::OK, &whole(i, &role)), "client {i}");
                let secret =
                    json!([{ "Id": 1, "Description": format!("secret of {i}"), "Expiration": null, "Expires": false }]);
                assert_eq!(secrets, secret, "the secret of client {i}");
                if let Some(acked) = acked {
                    assert_eq!(acked, client, "client {i} as acknowledged");
                }
                Some(i)
            }
        })
        .buffer_unordered(16)
        .filter_map(|found| async move { found })
        .collect()
        .await;
    let lost: Vec<usize> = acknowledged.iter().map(|(i, _)| *i).filter(|i| !found.contains(i)).collect();
    assert_eq!(lost, Vec::<usize>::new(), "acknowledged writes lost");
    let listed = server.as_admin(Method::HEAD, "/ClientCredentialClients?tag=crash").await.send().await.expect("head");
    assert_eq!(listed.headers()["Total-Count"], found.len().to_string().as_str(), "no client but those written");

    // Every acknowledged secret authenticates.
    let refused: Vec<usize> = stream::iter(&acknowledged)
        .map(|(i, ack)| {
            let (id, secret) = (client_id(*i).to_string(), ack["Secret"].as_str().expect("secret").to_owned());
            let server = &server;
            async move { (server.client_credentials(&id, &secret).await.status() != StatusCode::OK).then_some(*i) }
        })
        .buffer_unordered(8)
        .filter_map(|refused| async move { refused })
        .collect()
        .await;
    assert_eq!(refused, Vec::<usize>::new(), "acknowledged secrets refused");

    // The file is sound, and no child row (tag, role, secret) outlived its client.
    let database = rusqlite::Connection::open(dir.join("gatehouse.db")).expect("open the database");
    let integrity: String = database.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    assert_eq!(integrity, "ok");
    let orphans: i64 =
        database.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).expect("fk check");
    assert_eq!(orphans, 0, "rows whose parent is missing");
    drop(database);
    server.stop().await;
    drop(tmp);
    eprintln!(
        "crash: {WRITES} writes sent, {} acknowledged, {} present after the restart, 0 lost, {:.1} s",
        acknowledged.len(),
        found.len(),
        started.elapsed().as_secs_f64()
    );
}
