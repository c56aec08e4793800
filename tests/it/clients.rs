//! The three kinds of client through the admin API: every field, default and rule of
//! `shared/spec/admin-api.md`.

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_contract_error, TestServer};

const TENANT_MEMBER: &str = "f1a9c6a2-2d2f-4a53-9a7b-7c3d5e0b1a01";

fn web_app() -> Value {
    json!({ "Name": "web", "RedirectUris": ["https://app.example.com/cb"] })
}

async fn total(server: &TestServer, collection: &str) -> String {
    let response = server.as_admin(Method::HEAD, collection).await.send().await.expect("head");
    response.headers()["Total-Count"].to_str().expect("header").to_owned()
}

#[tokio::test]
async fn each_kind_is_created_with_the_contracts_defaults() {
    let server = TestServer::start().await;
    let (status, ac) = server.call(Method::POST, "/AuthorizationCodeClients", Some(web_app())).await;
    assert_eq!(status, StatusCode::CREATED);
    uuid::Uuid::parse_str(ac["Id"].as_str().expect("Id")).expect("generated GUID");
    assert_eq!(ac["Enabled"], true);
    assert_eq!(ac["AccessTokenLifetime"], 3600);
    assert_eq!(ac["AllowOfflineAccess"], false);
    assert_eq!(ac["AllowedCorsOrigins"], json!([]));
    assert_eq!(ac["PostLogoutRedirectUris"], json!([]));
    assert_eq!(ac["Tags"], json!([]));
    assert!(
        ac.get("Secret").is_none() && ac.get("AllowAccessTokensViaBrowser").is_none() && ac.get("RoleIds").is_none()
    );

    let (status, hybrid) = server.call(Method::POST, "/HybridClients", Some(web_app())).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(hybrid["Client"]["AllowAccessTokensViaBrowser"], false);
    assert_eq!(hybrid["Client"]["AllowOfflineAccess"], false);
    assert!(hybrid["Client"].get("AllowedCorsOrigins").is_none());
    assert_eq!(hybrid["Id"], 1);
    assert!(hybrid["Secret"].as_str().expect("secret shown").len() >= 43);

    let (status, cc) = server.call(Method::POST, "/ClientCredentialClients", Some(json!({ "Name": "m2m" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(cc["Client"]["RoleIds"], json!([TENANT_MEMBER]));
    assert!(cc["Client"].get("RedirectUris").is_none());

    let id = ac["Id"].as_str().expect("id");
    let (status, fetched) = server.call(Method::GET, &format!("/AuthorizationCodeClients/{id}"), None).await;
    assert_eq!((status, &fetched), (StatusCode::OK, &ac));
}

#[tokio::test]
async fn ids_may_be_given_and_duplicates_conflict() {
    let server = TestServer::start().await;
    let id = "6f1c7c52-93a8-4b8e-9a58-0e4f1a1f0c11";
    let mut body = web_app();
    body["Id"] = json!(id.to_uppercase());
    let (status, created) = server.call(Method::POST, "/AuthorizationCodeClients", Some(body.clone())).await;
    assert_eq!((status, created["Id"].as_str()), (StatusCode::CREATED, Some(id)));
    let (status, error) = server.call(Method::POST, "/AuthorizationCodeClients", Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(assert_contract_error(&error).contains(id));
    // Ids are unique across kinds too: the token endpoint knows a client by id alone.
    let (status, _) = server
        .call(
            Method::POST,
            "/HybridClients",
            Some(json!({ "Id": id, "Name": "h", "RedirectUris": ["https://a.example.com/cb"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, error) =
        server.call(Method::POST, "/AuthorizationCodeClients", Some(json!({ "Id": "not-a-guid", "Name": "x" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).starts_with("Id"));
}

/// Each bad body is refused with a 400 whose Reason names the field, and writes nothing.
#[tokio::test]
async fn every_rule_is_a_clear_400_that_writes_nothing() {
    let server = TestServer::start().await;
    let collections = ["/AuthorizationCodeClients", "/HybridClients", "/ClientCredentialClients"];
    let mut before = Vec::new();
    for collection in collections {
        before.push(total(&server, collection).await);
    }
    let eleven: Vec<String> = (0..11).map(|i| format!("https://app.example.com/{i}")).collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/AuthorizationCodeClients", json!({ "RedirectUris": ["https://a.example.com/cb"] }), "Name"),
        ("/AuthorizationCodeClients", json!({ "Name": "  ", "RedirectUris": ["https://a.example.com/cb"] }), "Name"),
        ("/AuthorizationCodeClients", json!({ "Name": "x" }), "RedirectUris"),
        ("/HybridClients", json!({ "Name": "x", "RedirectUris": [] }), "RedirectUris"),
        ("/AuthorizationCodeClients", json!({ "Name": "x", "RedirectUris": eleven }), "RedirectUris"),
        ("/AuthorizationCodeClients", json!({ "Name": "x", "RedirectUris": ["/relative"] }), "RedirectUris[0]"),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb#f"] }),
            "RedirectUris[0]",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://*.example.com/cb"] }),
            "RedirectUris[0]",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/ok", "http://a.example.com/cb"] }),
            "RedirectUris[1]",
        ),
        (
            "/HybridClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "PostLogoutRedirectUris": ["http://evil.example.com/"] }),
            "PostLogoutRedirectUris[0]",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "AllowedCorsOrigins": ["https://a.example.com/path"] }),
            "AllowedCorsOrigins[0]",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "AllowedCorsOrigins": ["https://a.example.com/"] }),
            "AllowedCorsOrigins[0]",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "AllowedCorsOrigins": ["https://*.example.com"] }),
            "AllowedCorsOrigins[0]",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "AllowedCorsOrigins": (0..11).map(|i| format!("https://o{i}.example.com")).collect::<Vec<_>>() }),
            "AllowedCorsOrigins",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "AccessTokenLifetime": 59 }),
            "AccessTokenLifetime",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "AccessTokenLifetime": 3601 }),
            "AccessTokenLifetime",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "AccessTokenLifetime": "3600" }),
            "AccessTokenLifetime",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "Enabled": "yes" }),
            "Enabled",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "Colour": "red" }),
            "Colour",
        ),
        (
            "/HybridClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "AllowedCorsOrigins": [] }),
            "AllowedCorsOrigins",
        ),
        (
            "/AuthorizationCodeClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "SecretDescription": "s" }),
            "SecretDescription",
        ),
        (
            "/ClientCredentialClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"] }),
            "RedirectUris",
        ),
        (
            "/ClientCredentialClients",
            json!({ "Name": "x", "RoleIds": ["8d6f7e0a-0000-4000-8000-000000000000"] }),
            "RoleIds",
        ),
        (
            "/ClientCredentialClients",
            json!({ "Name": "x", "SecretExpirationDate": "2001-01-01T00:00:00Z" }),
            "SecretExpirationDate",
        ),
        (
            "/ClientCredentialClients",
            json!({ "Name": "x", "SecretExpirationDate": "next year" }),
            "SecretExpirationDate",
        ),
        (
            "/HybridClients",
            json!({ "Name": "x", "RedirectUris": ["https://a.example.com/cb"], "SecretExpires": false, "SecretExpirationDate": "2099-01-01T00:00:00Z" }),
            "SecretExpirationDate",
        ),
    ];
    for (collection, body, field) in cases {
        let (status, error) = server.call(Method::POST, collection, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{collection} {body}");
        let reason = assert_contract_error(&error);
        assert!(reason.starts_with(field), "{body}: reason {reason:?} should name {field}");
    }
    for (collection, before) in collections.into_iter().zip(before) {
        assert_eq!(total(&server, collection).await, before, "{collection} wrote nothing");
    }
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused() {
    let server = TestServer::start().await;
    // The console's own client is there from the start.
    let before = total(&server, "/AuthorizationCodeClients").await;
    let big = json!({ "Name": "x".repeat(70 * 1024) });
    for (body, hint) in [
        ("{not json".to_owned(), "not valid JSON"),
        ("".to_owned(), "empty"),
        ("[1,2]".to_owned(), "must be a JSON object"),
        (big.to_string(), "larger than 64 KiB"),
    ] {
        let response = server
            .as_admin(Method::POST, "/AuthorizationCodeClients")
            .await
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let reason = assert_contract_error(&response.json().await.expect("json"));
        assert!(reason.contains(hint), "{reason}");
    }
    assert_eq!(total(&server, "/AuthorizationCodeClients").await, before);
}

#[tokio::test]
async fn loopback_http_and_normalised_cors_origins_are_accepted() {
    let server = TestServer::start().await;
    let body = json!({
        "Name": "dev",
        "RedirectUris": ["http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost:3000/cb", "https://app.example.com/cb?x=1"],
        "AllowedCorsOrigins": ["HTTPS://App.Example.com:443", "http://localhost:3000"],
        "Tags": ["dev", "spa"],
        "ClientUri": "https://app.example.com",
    });
    let (status, created) = server.call(Method::POST, "/AuthorizationCodeClients", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["AllowedCorsOrigins"], json!(["https://app.example.com", "http://localhost:3000"]));
    assert_eq!(created["RedirectUris"][3], "https://app.example.com/cb?x=1");
    assert_eq!(created["Tags"], json!(["dev", "spa"]));
}

#[tokio::test]
async fn lists_page_filter_and_count_and_head_has_no_body() {
    let server = TestServer::start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let body = json!({ "Name": format!("c{i}"), "RedirectUris": ["https://a.example.com/cb"], "Tags": [format!("t{}", i % 2)] });
        let (_, created) = server.call(Method::POST, "/HybridClients", Some(body)).await;
        ids.push(created["Client"]["Id"].as_str().expect("id").to_owned());
    }
    let response = server.as_admin(Method::GET, "/HybridClients?skip=1&count=2").await.send().await.expect("list");
    assert_eq!(response.headers()["Total-Count"], "5");
    let page: Vec<Value> = response.json().await.expect("json");
    assert_eq!(
        page.iter().map(|c| c["Id"].as_str().unwrap_or_default()).collect::<Vec<_>>(),
        vec![ids[1].as_str(), ids[2].as_str()]
    );

    let filter = format!("/HybridClients?id={}&id={}", ids[0], ids[4]);
    let (_, page) = server.call(Method::GET, &filter, None).await;
    assert_eq!(page.as_array().map(Vec::len), Some(2));
    let (_, page) = server.call(Method::GET, "/HybridClients?tag=t1", None).await;
    assert_eq!(page.as_array().map(Vec::len), Some(2));

    let head = server.as_admin(Method::HEAD, "/HybridClients").await.send().await.expect("head");
    assert_eq!((head.status(), head.headers()["Total-Count"].to_str().ok()), (StatusCode::OK, Some("5")));
    assert!(head.text().await.expect("body").is_empty());
    let head = server.as_admin(Method::HEAD, &format!("/HybridClients/{}", ids[0])).await.send().await.expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    let (status, error) = server.call(Method::GET, "/HybridClients?count=-1", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).contains("count"));
}

/// The headers a HEAD must repeat from the GET: all but those of the moment.
fn lasting_headers(response: &reqwest::Response) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "operation-id"))
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    headers.sort();
    headers
}

/// HEAD answers what GET answers, status and headers (the length of the body it leaves out
/// included), without the body (RFC 9110, section 9.3.2): on an item, a list, and an unknown
/// item.
#[tokio::test]
async fn head_answers_the_gets_status_and_headers_without_the_body() {
    let server = TestServer::start().await;
    let (id, _) = server.new_machine_client(json!({ "Tags": ["head"] })).await;
    for path in [
        format!("/ClientCredentialClients/{id}"),
        format!("/ClientCredentialClients/{id}/Secrets/1"),
        format!("/ClientCredentialClients/{id}/Roles"),
        format!("/Roles/{TENANT_MEMBER}"),
        "/ClientCredentialClients?tag=head".to_owned(),
        format!("/ClientCredentialClients/{}", uuid::Uuid::new_v4()),
    ] {
        let get = server.as_admin(Method::GET, &path).await.send().await.expect("get");
        let head = server.as_admin(Method::HEAD, &path).await.send().await.expect("head");
        assert_eq!(head.status(), get.status(), "{path}");
        assert!(head.headers().contains_key("operation-id"), "{path}");
        assert_eq!(lasting_headers(&head), lasting_headers(&get), "{path}");
        let length = get.content_length().expect("the GET's length");
        assert_eq!(get.text().await.expect("body").len() as u64, length);
        assert!(length > 2, "{path}: a body to leave out");
        assert!(head.text().await.expect("body").is_empty(), "{path}: HEAD has no body");
    }
}

/// Without `count`, a list answers 100 items (admin-api.md, Routes), and `Total-Count` all of
/// them: for clients, paged by the store, and roles, paged in memory.
#[tokio::test]
async fn a_list_without_count_answers_100_items_and_total_count_all() {
    let server = TestServer::start().await;
    let token = server.admin_token().await;
    let create = |collection: &str, i: usize| {
        let request =
            server.http.post(server.api(collection)).bearer_auth(&token).json(&json!({ "Name": format!("n{i}") }));
        async move { request.send().await.expect("post").status() }
    };
    let mut before = Vec::new();
    for collection in ["/ClientCredentialClients", "/Roles"] {
        before.push(total(&server, collection).await.parse::<usize>().expect("number"));
    }
    let statuses: Vec<StatusCode> = futures_util::stream::iter(0..110)
        .flat_map(|i| futures_util::stream::iter([create("/ClientCredentialClients", i), create("/Roles", i)]))
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    for (collection, before) in ["/ClientCredentialClients", "/Roles"].into_iter().zip(before) {
        let response = server.as_admin(Method::GET, collection).await.send().await.expect("list");
        let total = before + 110;
        assert_eq!(response.headers()["Total-Count"], total.to_string().as_str(), "{collection}");
        let page: Vec<Value> = response.json().await.expect("json");
        assert_eq!(page.len(), 100, "{collection}");
        let (_, rest) = server.call(Method::GET, &format!("{collection}?skip=100"), None).await;
        assert_eq!(rest.as_array().map(Vec::len), Some(total - 100), "{collection}: the rest, after the default page");
    }
}

#[tokio::test]
async fn put_is_partial_and_all_or_nothing() {
    let server = TestServer::start().await;
    let body = json!({ "Name": "web", "RedirectUris": ["https://a.example.com/cb"], "AllowedCorsOrigins": ["https://a.example.com"], "AccessTokenLifetime": 600 });
    let (_, created) = server.call(Method::POST, "/AuthorizationCodeClients", Some(body)).await;
    let item = format!("/AuthorizationCodeClients/{}", created["Id"].as_str().expect("id"));

    let (status, updated) =
        server.call(Method::PUT, &item, Some(json!({ "Name": "renamed", "AllowedCorsOrigins": null }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["Name"], "renamed");
    assert_eq!(updated["AccessTokenLifetime"], 600);
    assert_eq!(updated["AllowedCorsOrigins"], json!(["https://a.example.com"]));

    // A GET body sent back as a PUT is accepted unchanged (scripts do this).
    let (status, same) = server.call(Method::PUT, &item, Some(updated.clone())).await;
    assert_eq!((status, &same), (StatusCode::OK, &updated));

    let bad = json!({ "Name": "again", "RedirectUris": ["https://a.example.com/new", "ftp://nope"] });
    let (status, _) = server.call(Method::PUT, &item, Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server.call(Method::PUT, &item, Some(json!({ "Id": uuid::Uuid::new_v4() }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, now) = server.call(Method::GET, &item, None).await;
    assert_eq!(now, updated, "a refused update changes nothing");
}

#[tokio::test]
async fn delete_and_unknown_ids_and_wrong_collections() {
    let server = TestServer::start().await;
    let (_, created) = server.call(Method::POST, "/HybridClients", Some(web_app())).await;
    let id = created["Client"]["Id"].as_str().expect("id").to_owned();
    let (status, error) = server.call(Method::GET, &format!("/AuthorizationCodeClients/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_contract_error(&error);
    for path in [
        format!("/HybridClients/{}", uuid::Uuid::new_v4()),
        "/HybridClients/not-a-guid".into(),
        "/NoSuchClients".into(),
    ] {
        let (status, error) = server.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_contract_error(&error);
    }
    let (status, body) = server.call(Method::DELETE, &format!("/HybridClients/{id}"), None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, _) = server.call(Method::GET, &format!("/HybridClients/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.call(Method::DELETE, &format!("/HybridClients/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn machine_clients_always_keep_tenant_member() {
    let server = TestServer::start().await;
    let (status, role) = server.call(Method::POST, "/Roles", Some(json!({ "Name": "Readers" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let readers = role["Id"].as_str().expect("id").to_owned();
    let (_, created) =
        server.call(Method::POST, "/ClientCredentialClients", Some(json!({ "Name": "m", "RoleIds": [readers] }))).await;
    let id = created["Client"]["Id"].as_str().expect("id").to_owned();
    assert_eq!(created["Client"]["RoleIds"], json!([TENANT_MEMBER, readers]));

    let roles = format!("/ClientCredentialClients/{id}/Roles");
    let (status, listed) = server.call(Method::PUT, &roles, Some(json!([]))).await;
    assert_eq!((status, listed), (StatusCode::OK, json!([TENANT_MEMBER])));
    let (_, listed) = server.call(Method::PUT, &roles, Some(json!([readers]))).await;
    assert_eq!(listed, json!([TENANT_MEMBER, readers]));
    let (status, _) = server.call(Method::PUT, &roles, Some(json!([uuid::Uuid::new_v4()]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, listed) = server.call(Method::GET, &roles, None).await;
    assert_eq!(listed, json!([TENANT_MEMBER, readers]));
    let (status, _) =
        server.call(Method::PUT, &format!("/ClientCredentialClients/{id}"), Some(json!({ "RoleIds": [] }))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, client) = server.call(Method::GET, &format!("/ClientCredentialClients/{id}"), None).await;
    assert_eq!(client["RoleIds"], json!([TENANT_MEMBER]));
    // Deleting a role removes it from the clients that held it.
    server.call(Method::PUT, &roles, Some(json!([readers]))).await;
    let (status, _) = server.call(Method::DELETE, &format!("/Roles/{readers}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = server.call(Method::GET, &roles, None).await;
    assert_eq!(listed, json!([TENANT_MEMBER]));
    let (status, _) = server.call(Method::DELETE, &format!("/Roles/{TENANT_MEMBER}"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
