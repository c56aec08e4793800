//! Secrets: shown once, stored as a hash, at most ten, and live at the token endpoint.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::support::{assert_contract_error, TestServer};

fn in_days(days: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::days(days)).format(&Rfc3339).expect("format")
}

/// A moment `years` from now in whole seconds, as the store keeps it: a fixed date would one
/// day be in the past, where the rules refuse it.
fn years_ahead(years: i64) -> OffsetDateTime {
    let at = OffsetDateTime::now_utc() + time::Duration::days(365 * years);
    at.replace_nanosecond(0).expect("whole seconds")
}

fn text(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("format")
}

#[tokio::test]
async fn a_secret_is_shown_once_and_never_again() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({ "SecretDescription": "first" })).await;
    let base = format!("/ClientCredentialClients/{id}");
    for path in
        [format!("{base}/Secrets"), format!("{base}/Secrets/1"), base.clone(), "/ClientCredentialClients".into()]
    {
        let response = server.as_admin(Method::GET, &path).await.send().await.expect("get");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = response.text().await.expect("text");
        assert!(!text.contains(&secret), "{path} shows the secret");
        assert!(!text.contains("Secret\""), "{path} has a Secret property: {text}");
    }
    let (_, listed) = server.call(Method::GET, &format!("{base}/Secrets"), None).await;
    let listed = listed.as_array().expect("array").clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["Id"], 1);
    assert_eq!(listed[0]["Description"], "first");
    assert_eq!(listed[0]["Expires"], true);
    let expiration = OffsetDateTime::parse(listed[0]["Expiration"].as_str().expect("date"), &Rfc3339).expect("rfc3339");
    let days = (expiration - OffsetDateTime::now_utc()).whole_days();
    assert!((364..=365).contains(&days), "default expiration is one year ahead, got {days} days");
    // And the secret works.
    server.token_for(&id, &secret).await;
}

#[tokio::test]
async fn the_eleventh_secret_is_refused() {
    let server = TestServer::start().await;
    let (id, _) = server.new_machine_client(json!({})).await;
    let secrets = format!("/ClientCredentialClients/{id}/Secrets");
    let mut values = Vec::new();
    for i in 2..=10 {
        let (status, created) = server
            .call(Method::POST, &secrets, Some(json!({ "Description": format!("s{i}"), "Expiration": in_days(30) })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["Id"], i);
        values.push(created["Secret"].as_str().expect("value").to_owned());
    }
    let (status, error) = server.call(Method::POST, &secrets, Some(json!({ "Expires": false }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).contains("at most 10"));
    let head = server.as_admin(Method::HEAD, &secrets).await.send().await.expect("head");
    assert_eq!(head.headers()["Total-Count"], "10");
    let distinct: std::collections::HashSet<_> = values.iter().collect();
    assert_eq!(distinct.len(), values.len(), "every secret is new");
}

#[tokio::test]
async fn expires_and_expiration_follow_the_contract() {
    let server = TestServer::start().await;
    let (id, _) = server.new_machine_client(json!({ "SecretExpires": false })).await;
    let secrets = format!("/ClientCredentialClients/{id}/Secrets");
    let (_, listed) = server.call(Method::GET, &secrets, None).await;
    assert_eq!((&listed[0]["Expires"], &listed[0]["Expiration"]), (&json!(false), &Value::Null));

    for (body, field) in [
        (json!({ "Description": "no date" }), "Expiration"),
        (json!({ "Expires": true }), "Expiration"),
        (json!({ "Expires": false, "Expiration": in_days(5) }), "Expiration"),
        (json!({ "Expiration": in_days(-1) }), "Expiration"),
        (json!({ "Expiration": in_days(5), "Value": "mine" }), "Value"),
        (json!({ "Description": "x".repeat(300), "Expires": false }), "Description"),
    ] {
        let (status, error) = server.call(Method::POST, &secrets, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(assert_contract_error(&error).starts_with(field), "{body}: {error}");
    }
    let (status, never) =
        server.call(Method::POST, &secrets, Some(json!({ "Description": "never", "Expires": false }))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!((&never["Expires"], &never["Expiration"]), (&json!(false), &Value::Null));

    let at = years_ahead(5);
    let date = text(at);
    let (status, changed) = server
        .call(Method::PUT, &format!("{secrets}/2"), Some(json!({ "Description": "renamed", "Expiration": date })))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed, json!({ "Id": 2, "Description": "renamed", "Expiration": date, "Expires": true }));
    let (_, fetched) = server.call(Method::GET, &format!("{secrets}/2"), None).await;
    assert_eq!(fetched, changed);
    // A GET body sent back is accepted; a date with an offset is kept and shown in UTC.
    let (status, same) = server.call(Method::PUT, &format!("{secrets}/2"), Some(fetched.clone())).await;
    assert_eq!((status, &same), (StatusCode::OK, &fetched));
    let plus_two = time::UtcOffset::from_hms(2, 0, 0).expect("offset");
    let later = at + time::Duration::days(1);
    let (_, moved) = server
        .call(Method::PUT, &format!("{secrets}/2"), Some(json!({ "Expiration": text(later.to_offset(plus_two)) })))
        .await;
    assert_eq!(moved["Expiration"], text(later));
    let (status, _) = server.call(Method::PUT, &format!("{secrets}/2"), Some(json!({ "Id": 3 }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server.call(Method::GET, &format!("{secrets}/99"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// PUT is partial: neither `Expires` nor `Expiration` (or both null) leaves the expiration as
/// it is; either given follows the POST's rules. Each body is applied to what the one before
/// left; a refused one changes nothing.
#[tokio::test]
async fn put_follows_the_expires_and_expiration_rules() {
    let server = TestServer::start().await;
    let (id, value) = server.new_machine_client(json!({})).await;
    let item = format!("/ClientCredentialClients/{id}/Secrets/1");
    let (_, created) = server.call(Method::GET, &item, None).await;
    let first = created["Expiration"].clone();
    let (later, latest) = (text(years_ahead(2)), text(years_ahead(3)));
    let yesterday = in_days(-1);
    // The body, then what the secret is after it: Ok((Expires, Expiration)), or the field a
    // 400 names.
    type After = Result<(bool, Value), &'static str>;
    let steps: Vec<(Value, After)> = vec![
        (json!({ "Description": "renamed" }), Ok((true, first.clone()))),
        (json!({ "Expiration": null }), Ok((true, first.clone()))),
        (json!({ "Expires": null, "Expiration": null }), Ok((true, first))),
        (json!({ "Expires": false }), Ok((false, Value::Null))),
        (json!({ "Description": "still never" }), Ok((false, Value::Null))),
        (json!({ "Expires": false, "Expiration": null }), Ok((false, Value::Null))),
        (json!({ "Expires": true }), Err("Expiration")),
        (json!({ "Expires": false, "Expiration": later }), Err("Expiration")),
        (json!({ "Expiration": yesterday }), Err("Expiration")),
        (json!({ "Expiration": later }), Ok((true, json!(later)))),
        (json!({ "Expires": true, "Expiration": yesterday }), Err("Expiration")),
        (json!({ "Expires": false, "Expiration": latest }), Err("Expiration")),
        (json!({ "Expires": true }), Err("Expiration")),
        (json!({ "Expiration": "next year" }), Err("Expiration")),
        (json!({ "Expires": "no" }), Err("Expires")),
        (json!({ "Expires": true, "Expiration": latest }), Ok((true, json!(latest)))),
        (json!({ "Expires": false, "Expiration": null }), Ok((false, Value::Null))),
    ];
    let (_, mut now) = server.call(Method::GET, &item, None).await;
    for (body, expected) in steps {
        let (status, answer) = server.call(Method::PUT, &item, Some(body.clone())).await;
        match expected {
            Ok((expires, expiration)) => {
                assert_eq!(status, StatusCode::OK, "{body}: {answer}");
                assert_eq!((&answer["Expires"], &answer["Expiration"]), (&json!(expires), &expiration), "{body}");
                now = answer;
            }
            Err(field) => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
                let reason = assert_contract_error(&answer);
                assert!(reason.starts_with(field), "{body}: {reason}");
            }
        }
        assert_eq!(server.call(Method::GET, &item, None).await, (StatusCode::OK, now.clone()), "after {body}");
    }
    assert_eq!(now["Description"], "still never");
    server.token_for(&id, &value).await;
}

/// A secret's GET body sent back as a PUT is accepted and changes nothing, as scripts that
/// edit what they read expect: for a secret that never expires, and for one that has expired
/// (its past expiration is what it has, not a new one). It changes the description alone.
#[tokio::test]
async fn a_secret_read_and_sent_back_is_unchanged_when_it_never_expires_or_has_expired() {
    let server = TestServer::start().await;
    let (id, _) = server.new_machine_client(json!({})).await;
    let secrets = format!("/ClientCredentialClients/{id}/Secrets");
    let (status, never) =
        server.call(Method::POST, &secrets, Some(json!({ "Description": "never", "Expires": false }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let never_value = never["Secret"].as_str().expect("value").to_owned();
    let soon = (OffsetDateTime::now_utc() + time::Duration::seconds(2)).replace_nanosecond(0).expect("ns");
    let (status, brief) =
        server.call(Method::POST, &secrets, Some(json!({ "Description": "brief", "Expiration": text(soon) }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let brief_value = brief["Secret"].as_str().expect("value").to_owned();

    let (_, read) = server.call(Method::GET, &format!("{secrets}/2"), None).await;
    assert_eq!(read, json!({ "Id": 2, "Description": "never", "Expiration": null, "Expires": false }));
    assert_eq!(
        server.call(Method::PUT, &format!("{secrets}/2"), Some(read.clone())).await,
        (StatusCode::OK, read.clone())
    );
    assert_eq!(server.call(Method::GET, &format!("{secrets}/2"), None).await, (StatusCode::OK, read));
    server.token_for(&id, &never_value).await;

    let wait = soon - OffsetDateTime::now_utc() + time::Duration::milliseconds(200);
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait.whole_milliseconds()).unwrap_or(0))).await;
    let item = format!("{secrets}/3");
    let (_, read) = server.call(Method::GET, &item, None).await;
    assert_eq!(read, json!({ "Id": 3, "Description": "brief", "Expiration": text(soon), "Expires": true }));
    assert_eq!(server.call(Method::PUT, &item, Some(read.clone())).await, (StatusCode::OK, read.clone()));
    let mut edited = read.clone();
    edited["Description"] = json!("expired");
    assert_eq!(server.call(Method::PUT, &item, Some(edited.clone())).await, (StatusCode::OK, edited.clone()));
    assert_eq!(server.call(Method::GET, &item, None).await, (StatusCode::OK, edited));
    assert_eq!(server.client_credentials(&id, &brief_value).await.status(), StatusCode::UNAUTHORIZED, "still expired");
    // Another past date is no round trip: refused as on create.
    let earlier = text(soon - time::Duration::seconds(1));
    let (status, error) = server.call(Method::PUT, &item, Some(json!({ "Expiration": earlier }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).starts_with("Expiration"));
}

#[tokio::test]
async fn a_deleted_secret_is_refused_on_the_next_request_and_others_still_work() {
    let server = TestServer::start().await;
    let (id, first) = server.new_machine_client(json!({})).await;
    let secrets = format!("/ClientCredentialClients/{id}/Secrets");
    let (_, second) = server.call(Method::POST, &secrets, Some(json!({ "Expires": false }))).await;
    let second = second["Secret"].as_str().expect("value").to_owned();
    server.token_for(&id, &first).await;
    server.token_for(&id, &second).await;

    let (status, _) = server.call(Method::DELETE, &format!("{secrets}/1"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let refused = server.client_credentials(&id, &first).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json::<Value>().await.expect("json")["error"], "invalid_client");
    server.token_for(&id, &second).await;
    let (status, _) = server.call(Method::DELETE, &format!("{secrets}/1"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_secret_is_refused_at_the_token_endpoint() {
    let server = TestServer::start().await;
    let (id, _) = server.new_machine_client(json!({})).await;
    let soon = (OffsetDateTime::now_utc() + time::Duration::seconds(3)).replace_nanosecond(0).expect("ns");
    let (status, created) = server
        .call(
            Method::POST,
            &format!("/ClientCredentialClients/{id}/Secrets"),
            Some(json!({ "Expiration": soon.format(&Rfc3339).expect("fmt") })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["Secret"].as_str().expect("value").to_owned();
    server.token_for(&id, &secret).await;
    let wait = soon - OffsetDateTime::now_utc() + time::Duration::milliseconds(200);
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait.whole_milliseconds()).unwrap_or(0))).await;
    let response = server.client_credentials(&id, &secret).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json::<Value>().await.expect("json")["error"], "invalid_client");
}

#[tokio::test]
async fn hybrid_secrets_live_under_their_collection_and_public_clients_have_none() {
    let server = TestServer::start().await;
    let date = text(years_ahead(4));
    let body = json!({ "Name": "srv", "RedirectUris": ["https://a.example.com/cb"], "SecretDescription": "web server", "SecretExpirationDate": date });
    let (status, created) = server.call(Method::POST, "/HybridClients", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["Description"], "web server");
    assert_eq!(created["ExpirationDate"], date);
    let id = created["Client"]["Id"].as_str().expect("id");
    let (_, listed) = server.call(Method::GET, &format!("/HybridClients/{id}/Secrets"), None).await;
    assert_eq!(listed[0]["Description"], "web server");
    let (status, _) = server.call(Method::GET, &format!("/ClientCredentialClients/{id}/Secrets"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, ac) = server
        .call(
            Method::POST,
            "/AuthorizationCodeClients",
            Some(json!({ "Name": "spa", "RedirectUris": ["https://a.example.com/cb"] })),
        )
        .await;
    let (status, error) = server
        .call(
            Method::POST,
            &format!("/AuthorizationCodeClients/{}/Secrets", ac["Id"].as_str().expect("id")),
            Some(json!({ "Expires": false })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_contract_error(&error);
}
