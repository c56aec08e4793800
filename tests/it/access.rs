//! Who may call the admin API: our bearer tokens only; writes need Tenant Administrator,
//! reads Tenant Member; a token of one tenant is worthless in another; checked live.

use gatehouse_registry::store::TenantStore;
use gatehouse_registry::{
    Client, ClientChanges, ClientKind, NewSecret, SecretValue, Tenant, TenantSeed, TENANT_ADMINISTRATOR,
};
use gatehouse_store_sqlite::SqliteStore;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::support::{assert_contract_error, TestServer};

async fn status_and_body(response: reqwest::Response) -> (StatusCode, Option<String>, Value) {
    let status = response.status();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap_or_default().to_owned());
    (status, challenge, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn no_token_or_a_bad_token_is_401_with_a_challenge() {
    let server = TestServer::start().await;
    let url = server.api("/HybridClients");
    let (status, challenge, body) = status_and_body(server.http.get(&url).send().await.expect("get")).await;
    assert_eq!((status, challenge.as_deref()), (StatusCode::UNAUTHORIZED, Some("Bearer")));
    assert_contract_error(&body);

    let token = server.admin_token().await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    let tampered = parts.join(".");
    for bad in ["garbage", tampered.as_str(), &format!("{token}x")] {
        let (status, challenge, body) =
            status_and_body(server.http.get(&url).bearer_auth(bad).send().await.expect("get")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(challenge.as_deref(), Some(r#"Bearer error="invalid_token""#));
        assert_contract_error(&body);
    }
    let basic = server.http.get(&url).basic_auth("a", Some("b")).send().await.expect("get");
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    // And nothing was written by any of them.
    let (status, ..) =
        status_and_body(server.http.post(&url).json(&json!({ "Name": "x" })).send().await.expect("post")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn members_read_and_only_administrators_write() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({ "Name": "reader" })).await;
    let reader = server.token_for(&id, &secret).await;
    let list = server.http.get(server.api("/ClientCredentialClients")).bearer_auth(&reader).send().await.expect("get");
    assert_eq!(list.status(), StatusCode::OK);
    let write = server
        .http
        .post(server.api("/ClientCredentialClients"))
        .bearer_auth(&reader)
        .json(&json!({ "Name": "x" }))
        .send()
        .await
        .expect("post");
    let (status, _, body) = status_and_body(write).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(assert_contract_error(&body).contains("Tenant Administrator"));

    // Roles are read live: granting the role takes effect with the same token.
    let (status, _) = server
        .call(Method::PUT, &format!("/ClientCredentialClients/{id}/Roles"), Some(json!([TENANT_ADMINISTRATOR])))
        .await;
    assert_eq!(status, StatusCode::OK);
    let write = server
        .http
        .post(server.api("/ClientCredentialClients"))
        .bearer_auth(&reader)
        .json(&json!({ "Name": "x" }))
        .send()
        .await
        .expect("post");
    assert_eq!(write.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn another_tenants_token_is_403_and_an_unknown_tenant_404() {
    let server = TestServer::start().await;
    // Provision a second tenant in the same database, as an operator would.
    let store = SqliteStore::open(&server.dir.join("gatehouse.db")).expect("open");
    let now = OffsetDateTime::now_utc();
    let other = uuid::Uuid::new_v4();
    let changes = ClientChanges {
        name: Some("other admin".into()),
        role_ids: Some(vec![TENANT_ADMINISTRATOR]),
        ..Default::default()
    };
    let client = Client::create(other, ClientKind::ClientCredential, changes, now).expect("client");
    let secret = SecretValue::generate().expect("secret");
    let record = NewSecret { description: String::new(), expiration: None, hash: secret.hash(), created: now };
    let seed = TenantSeed {
        tenant: Tenant { id: other, name: "other".into(), created: now },
        users: vec![],
        clients: vec![(client.clone(), Some(record))],
    };
    store.create_tenant(seed).await.expect("second tenant");

    let foreign = server.token_for(&client.id.to_string(), secret.expose()).await;
    let (status, _, body) =
        status_and_body(server.http.get(server.api("/HybridClients")).bearer_auth(&foreign).send().await.expect("get"))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(assert_contract_error(&body).contains("another tenant"));
    let own = server
        .http
        .get(server.url(&format!("/api/v1/Tenants/{other}/HybridClients")))
        .bearer_auth(&foreign)
        .send()
        .await
        .expect("get");
    assert_eq!(own.status(), StatusCode::OK);

    let admin = server.admin_token().await;
    let nowhere = server.url(&format!("/api/v1/Tenants/{}/HybridClients", uuid::Uuid::new_v4()));
    let (status, _, body) =
        status_and_body(server.http.get(&nowhere).bearer_auth(&admin).send().await.expect("get")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_contract_error(&body);
}

#[tokio::test]
async fn a_disabled_or_deleted_client_loses_its_tokens_at_once() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({ "RoleIds": [TENANT_ADMINISTRATOR] })).await;
    let token = server.token_for(&id, &secret).await;
    let url = server.api("/ClientCredentialClients");
    assert_eq!(server.http.get(&url).bearer_auth(&token).send().await.expect("get").status(), StatusCode::OK);

    server.call(Method::PUT, &format!("/ClientCredentialClients/{id}"), Some(json!({ "Enabled": false }))).await;
    assert_eq!(server.http.get(&url).bearer_auth(&token).send().await.expect("get").status(), StatusCode::UNAUTHORIZED);
    let refused = server.client_credentials(&id, &secret).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    server.call(Method::PUT, &format!("/ClientCredentialClients/{id}"), Some(json!({ "Enabled": true }))).await;
    assert_eq!(server.http.get(&url).bearer_auth(&token).send().await.expect("get").status(), StatusCode::OK);
    server.call(Method::DELETE, &format!("/ClientCredentialClients/{id}"), None).await;
    assert_eq!(server.http.get(&url).bearer_auth(&token).send().await.expect("get").status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_the_contract_body() {
    let server = TestServer::start().await;
    let (status, body) = server.call(Method::PATCH, "/HybridClients", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_contract_error(&body);
    let response = server.http.get(server.url("/api/v2/whatever")).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_contract_error(&response.json().await.expect("json"));
}

/// Any administrator (a client-credentials client here) deleting, disabling or demoting the
/// tenant's last enabled Tenant Administrator user is refused with 409 and a reason, and
/// changes nothing; with a second one, the first may go (issue 9, item 7).
#[tokio::test]
async fn the_last_tenant_administrator_stays() {
    let server = TestServer::start().await;
    let (_, users) = server.call(Method::GET, "/Users", None).await;
    let admin = users[0].clone();
    let path = format!("/Users/{}", admin["Id"].as_str().expect("id"));
    let member = json!([gatehouse_registry::TENANT_MEMBER]);
    for (method, body) in [
        (Method::DELETE, None),
        (Method::PUT, Some(json!({ "Enabled": false }))),
        (Method::PUT, Some(json!({ "RoleIds": member }))),
    ] {
        let (status, error) = server.call(method.clone(), &path, body.clone()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{method} {body:?}: {error}");
        assert!(
            assert_contract_error(&error).contains("last enabled user with the Tenant Administrator role"),
            "{error}"
        );
        assert_eq!(server.call(Method::GET, &path, None).await, (StatusCode::OK, admin.clone()), "nothing changed");
    }
    let second = json!({ "UserName": "second", "Password": "second-password-1", "RoleIds": [TENANT_ADMINISTRATOR] });
    let (status, second) = server.call(Method::POST, "/Users", Some(second)).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let (status, demoted) = server.call(Method::PUT, &path, Some(json!({ "RoleIds": member }))).await;
    assert_eq!((status, &demoted["RoleIds"]), (StatusCode::OK, &member), "{demoted}");
    let (status, _) =
        server.call(Method::DELETE, &format!("/Users/{}", second["Id"].as_str().expect("id")), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "now the second one is the last");
}
