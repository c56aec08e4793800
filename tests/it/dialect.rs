//! The product's dialect as its client libraries speak it: paths in any case, an
//! `Operation-Id` on every admin answer, roles and users in the product's shape.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_contract_error, TestServer};

const ADMIN_TYPE: &str = "2dc742ab-39ea-4fc0-a39e-2bcb71c26a5f";
const MEMBER_TYPE: &str = "7ad2b9ef-5386-4ead-ac9f-ad99c5c5b977";
const TENANT_ADMINISTRATOR: &str = "2b7c4e6d-8f14-4c39-b0a2-5d6e7f8a9b02";

/// Sends `method` to `path` (from the server's root) as the administrator.
async fn send(server: &TestServer, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut request = server.http.request(method, server.url(path)).bearer_auth(server.admin_token().await);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

async fn status_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json") })
}

/// The `Operation-Id` header, asserting it is a GUID.
fn operation_id(response: &Response) -> String {
    let value = response.headers().get("Operation-Id").expect("Operation-Id header").to_str().expect("ascii");
    uuid::Uuid::parse_str(value).expect("Operation-Id is a GUID");
    value.to_owned()
}

/// Asserts an error answer: the contract body, whose `OperationId` is the header's.
async fn assert_named_error(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status, "{}", response.url());
    let header = operation_id(&response);
    let body: Value = response.json().await.expect("json error body");
    let reason = assert_contract_error(&body);
    assert_eq!(body["OperationId"], json!(header), "header and body name the same operation");
    reason
}

#[tokio::test]
async fn admin_paths_match_whatever_their_case() {
    let server = TestServer::start().await;
    let t = server.tenant.clone();
    let (status, canonical) = server.call(Method::GET, "/HybridClients", None).await;
    assert_eq!(status, StatusCode::OK);
    for path in [format!("/api/v1/tenants/{t}/hybridclients"), format!("/API/V1/TENANTS/{t}/HYBRIDCLIENTS")] {
        assert_eq!(
            status_json(send(&server, Method::GET, &path, None).await).await,
            (StatusCode::OK, canonical.clone())
        );
    }
    let (status, tenant) = status_json(send(&server, Method::GET, &format!("/api/v1/tenants/{t}"), None).await).await;
    assert_eq!((status, tenant["Id"].as_str()), (StatusCode::OK, Some(t.as_str())));

    // Create, read and list an item, and its secrets, through other spellings.
    let create = send(
        &server,
        Method::POST,
        &format!("/api/v1/tenants/{t}/clientcredentialclients"),
        Some(json!({ "Name": "lower" })),
    )
    .await;
    let (status, created) = status_json(create).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["Client"]["Id"].as_str().expect("id").to_owned();
    let (status, item) = status_json(
        send(&server, Method::GET, &format!("/Api/V1/Tenants/{t}/CLIENTCREDENTIALCLIENTS/{id}"), None).await,
    )
    .await;
    assert_eq!((status, &item), (StatusCode::OK, &created["Client"]));
    // The query string survives the rewrite untouched.
    let listed =
        send(&server, Method::GET, &format!("/api/v1/tenants/{t}/clientcredentialclients?count=1&id={id}"), None).await;
    assert_eq!(listed.headers()["Total-Count"], "1");
    assert_eq!(listed.json::<Value>().await.expect("json")[0]["Id"], json!(id));

    let secrets = format!("/api/v1/tenants/{t}/clientcredentialclients/{id}/SECRETS");
    let (status, added) =
        status_json(send(&server, Method::POST, &secrets, Some(json!({ "Expires": false }))).await).await;
    assert_eq!((status, &added["Id"]), (StatusCode::CREATED, &json!(2)));
    let (status, listed) = status_json(send(&server, Method::GET, &secrets.to_lowercase(), None).await).await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
    let (status, secret) = status_json(send(&server, Method::GET, &format!("{secrets}/2"), None).await).await;
    assert_eq!((status, &secret["Expires"]), (StatusCode::OK, &json!(false)));
    let (status, _) =
        status_json(send(&server, Method::DELETE, &format!("{}/2", secrets.to_uppercase()), None).await).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "an upper-case path, GUIDs and all");
    let (status, _) = server.call(Method::GET, &format!("/ClientCredentialClients/{id}/Secrets/2"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the canonical path saw the delete");

    // Roles of a client, users, roles, a user's password.
    let (status, roles) = status_json(
        send(&server, Method::GET, &format!("/api/v1/tenants/{t}/clientcredentialclients/{id}/roles"), None).await,
    )
    .await;
    assert_eq!((status, roles.as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    let (status, roles) =
        status_json(send(&server, Method::GET, &format!("/api/v1/tenants/{t}/ROLES"), None).await).await;
    assert_eq!((status, roles.as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
    let (status, users) =
        status_json(send(&server, Method::GET, &format!("/api/v1/tenants/{t}/users"), None).await).await;
    assert_eq!(status, StatusCode::OK);
    let admin = users[0]["Id"].as_str().expect("admin id");
    let (status, _) = status_json(
        send(
            &server,
            Method::PUT,
            &format!("/api/v1/tenants/{t}/users/{admin}/password"),
            Some(json!({ "Password": "a-lower-case-path" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A path that names nothing is still the contract's 404, whatever its case.
    let reason =
        assert_named_error(send(&server, Method::GET, "/API/v2/whatever", None).await, StatusCode::NOT_FOUND).await;
    assert!(reason.contains("resource"), "{reason}");
    let response = send(&server, Method::GET, &format!("/api/v1/tenants/{t}/hybridclientz"), None).await;
    assert_named_error(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn protocol_paths_match_whatever_their_case_and_the_issuer_keeps_its_spelling() {
    let server = TestServer::start().await;
    let doc: Value = server.get_json("/IDENTITY/.Well-Known/OpenID-Configuration").await;
    assert_eq!(doc["issuer"], format!("{}/identity", server.base));
    assert_eq!(doc["token_endpoint"], format!("{}/identity/connect/token", server.base));
    let jwks =
        server.http.get(server.url("/identity/.well-known/openid-configuration/JWKS")).send().await.expect("get");
    assert_eq!(jwks.status(), StatusCode::OK);
    let token = server
        .http
        .post(server.url("/Identity/Connect/Token"))
        .basic_auth(crate::support::BOOT_ID, Some(crate::support::BOOT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(token.status(), StatusCode::OK);
    assert!(token.headers().get("Operation-Id").is_none(), "the protocol endpoints are not the admin API");
    let unknown = server.http.get(server.url("/identity/connect/nothing")).send().await.expect("get");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_admin_answer_names_its_operation_and_errors_name_the_same() {
    let server = TestServer::start().await;
    let ok = server.as_admin(Method::GET, "/Roles").await.send().await.expect("get");
    assert_eq!(ok.status(), StatusCode::OK);
    let first = operation_id(&ok);
    let head = server.as_admin(Method::HEAD, "/Roles").await.send().await.expect("head");
    assert_ne!(operation_id(&head), first, "one operation per request");
    let created =
        server.as_admin(Method::POST, "/Roles").await.json(&json!({ "Name": "Auditors" })).send().await.expect("post");
    assert_eq!(created.status(), StatusCode::CREATED);
    operation_id(&created);

    // 400, 401, 403, 404 (unknown item, unknown route), 405, and a CORS answer.
    let bad = server.as_admin(Method::POST, "/Roles").await.json(&json!({ "Name": "" })).send().await.expect("post");
    assert!(assert_named_error(bad, StatusCode::BAD_REQUEST).await.starts_with("Name"));
    let anonymous = server.http.get(server.api("/Users")).send().await.expect("get");
    assert_named_error(anonymous, StatusCode::UNAUTHORIZED).await;
    let reader = server.machine_token(json!({})).await;
    let refused = server
        .http
        .post(server.api("/Roles"))
        .bearer_auth(&reader)
        .json(&json!({ "Name": "x" }))
        .send()
        .await
        .expect("post");
    assert_named_error(refused, StatusCode::FORBIDDEN).await;
    let missing = server.as_admin(Method::GET, &format!("/Users/{}", uuid::Uuid::new_v4())).await.send().await;
    assert_named_error(missing.expect("get"), StatusCode::NOT_FOUND).await;
    let nowhere = server.http.get(server.url("/api/v2/whatever")).send().await.expect("get");
    assert_named_error(nowhere, StatusCode::NOT_FOUND).await;
    let patch = server.as_admin(Method::PATCH, "/HybridClients").await.send().await.expect("patch");
    assert_named_error(patch, StatusCode::METHOD_NOT_ALLOWED).await;

    let origin = "https://spa.example.com";
    let (status, _) = server
        .call(
            Method::POST,
            "/AuthorizationCodeClients",
            Some(json!({ "Name": "spa", "RedirectUris": [format!("{origin}/cb")], "AllowedCorsOrigins": [origin] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let cors = server.as_admin(Method::GET, "/roles").await.header("Origin", origin).send().await.expect("get");
    assert_eq!(cors.headers()["access-control-allow-origin"], origin);
    let exposed = cors.headers()["access-control-expose-headers"].to_str().expect("ascii").to_owned();
    assert!(exposed.contains("Operation-Id") && exposed.contains("Total-Count"), "{exposed}");
    operation_id(&cors);
}

#[tokio::test]
async fn roles_show_the_products_type_scope_and_tenant() {
    let server = TestServer::start().await;
    let t = server.tenant.clone();
    let (_, roles) = server.call(Method::GET, "/Roles", None).await;
    let admin = roles.as_array().expect("list").iter().find(|r| r["Id"] == TENANT_ADMINISTRATOR).expect("admin");
    assert_eq!(
        (&admin["RoleTypeId"], &admin["RoleScope"], &admin["TenantId"], &admin["BuiltIn"]),
        (&json!(ADMIN_TYPE), &json!(1), &json!(t), &json!(true))
    );
    assert!(roles.as_array().expect("list").iter().any(|r| r["RoleTypeId"] == MEMBER_TYPE));

    // What the product's client library sends: Id null, RoleScope 1, TenantId.
    let body = json!({ "Id": null, "Name": "Auditors", "Description": "read only", "RoleScope": 1, "TenantId": t });
    let (status, created) = server.call(Method::POST, "/Roles", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (&created["RoleTypeId"], &created["RoleScope"], &created["TenantId"], &created["CommunityId"]),
        (&Value::Null, &json!(1), &json!(t), &Value::Null)
    );
    let id = created["Id"].as_str().expect("id");
    assert_eq!(server.call(Method::GET, &format!("/Roles/{id}"), None).await, (StatusCode::OK, created.clone()));
    let (status, _) =
        server.call(Method::POST, "/Roles", Some(json!({ "Name": "No scope", "RoleTypeId": null }))).await;
    assert_eq!(status, StatusCode::CREATED, "RoleScope may be absent, RoleTypeId null");

    for (body, field) in [
        (json!({ "Name": "r", "RoleScope": 2 }), "RoleScope"),
        (json!({ "Name": "r", "RoleScope": 0 }), "RoleScope"),
        (json!({ "Name": "r", "RoleScope": "Tenant" }), "RoleScope"),
        (json!({ "Name": "r", "RoleTypeId": MEMBER_TYPE }), "RoleTypeId"),
        (json!({ "Name": "r", "TenantId": uuid::Uuid::new_v4() }), "TenantId"),
        (json!({ "Name": "r", "CommunityId": uuid::Uuid::new_v4() }), "CommunityId"),
    ] {
        let (status, error) = server.call(Method::POST, "/Roles", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let reason = assert_contract_error(&error);
        assert!(reason.starts_with(field), "{body}: {reason}");
    }
    let (_, roles) = server.call(Method::GET, "/Roles", None).await;
    assert_eq!(roles.as_array().map(Vec::len), Some(4), "the refused creates wrote nothing");

    // PUT: a GET body sent back with changes (what the library's updateRole sends).
    let mut edited = created.clone();
    edited["Description"] = json!("reads everything");
    let (status, updated) = server.call(Method::PUT, &format!("/Roles/{id}"), Some(edited.clone())).await;
    assert_eq!((status, &updated), (StatusCode::OK, &edited));
    let (status, renamed) = server.call(Method::PUT, &format!("/roles/{id}"), Some(json!({ "Name": "Readers" }))).await;
    assert_eq!(
        (status, &renamed["Name"], &renamed["Description"]),
        (StatusCode::OK, &json!("Readers"), &json!("reads everything"))
    );
    for (body, field) in [
        (json!({ "RoleTypeId": MEMBER_TYPE }), "RoleTypeId"),
        (json!({ "RoleScope": 3 }), "RoleScope"),
        (json!({ "Id": uuid::Uuid::new_v4() }), "Id"),
    ] {
        let (status, error) = server.call(Method::PUT, &format!("/Roles/{id}"), Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(assert_contract_error(&error).starts_with(field), "{body}");
    }
    let (status, error) =
        server.call(Method::PUT, &format!("/Roles/{TENANT_ADMINISTRATOR}"), Some(json!({ "Name": "Owner" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).contains("built-in"));
    assert_eq!(server.call(Method::GET, &format!("/Roles/{id}"), None).await, (StatusCode::OK, renamed));
}

#[tokio::test]
async fn users_speak_contact_email_and_have_only_the_local_directory() {
    let server = TestServer::start().await;
    let body = json!({
        "UserName": "dana", "Password": "dana-password-1", "ContactEmail": "dana@example.com",
        "ContactGivenName": "Dana", "ContactSurname": "Contact", "GivenName": "Dana", "Surname": "Signer",
        "IdentityProviderId": null,
    });
    let (status, dana) = server.call(Method::POST, "/Users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{dana}");
    for (key, value) in [
        ("ContactEmail", json!("dana@example.com")),
        ("Email", json!("dana@example.com")),
        ("ContactGivenName", json!("Dana")),
        ("ContactSurname", json!("Contact")),
        ("Surname", json!("Signer")),
        ("IdentityProviderId", Value::Null),
    ] {
        assert_eq!(dana[key], value, "{key} in {dana}");
    }
    let id = dana["Id"].as_str().expect("id").to_owned();

    // `Email` is an alias on input.
    let (status, erin) =
        server.call(Method::POST, "/Users", Some(json!({ "UserName": "erin", "Email": "erin@example.com" }))).await;
    assert_eq!((status, &erin["ContactEmail"]), (StatusCode::CREATED, &json!("erin@example.com")));
    let both = json!({ "UserName": "fay", "Email": "fay@example.com", "ContactEmail": "fay@example.org" });
    let (status, error) = server.call(Method::POST, "/Users", Some(both)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).starts_with("ContactEmail and Email"));

    // As the product's library creates users: no UserName, no Password. The address becomes
    // the user name; a password comes later.
    let (status, gus) =
        server.call(Method::POST, "/Users", Some(json!({ "Id": null, "ContactEmail": "gus@example.com" }))).await;
    assert_eq!((status, &gus["UserName"]), (StatusCode::CREATED, &json!("gus@example.com")), "{gus}");
    let gus_id = gus["Id"].as_str().expect("id");
    let (status, _) = server
        .call(Method::PUT, &format!("/Users/{gus_id}/Password"), Some(json!({ "Password": "gus-password-1" })))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = server.call(Method::POST, "/Users", Some(json!({ "GivenName": "Nobody" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).starts_with("UserName"));

    let elsewhere = json!({ "UserName": "hal", "IdentityProviderId": "e2398938-bf8f-40fa-b380-d538ece2bfc2" });
    let (status, error) = server.call(Method::POST, "/Users", Some(elsewhere)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let reason = assert_contract_error(&error);
    assert!(reason.starts_with("IdentityProviderId") && reason.contains("only its local directory"), "{reason}");

    // A GET body sent back with ContactEmail edited changes the address; the stale Email
    // beside it is the old value, not a conflict.
    let mut edited = dana.clone();
    edited["ContactEmail"] = json!("dana@example.org");
    edited["ContactGivenName"] = json!("Dee");
    let (status, updated) = server.call(Method::PUT, &format!("/Users/{id}"), Some(edited)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!((&updated["Email"], &updated["ContactGivenName"]), (&json!("dana@example.org"), &json!("Dee")));
    let (status, updated) =
        server.call(Method::PUT, &format!("/Users/{id}"), Some(json!({ "ContactSurname": "Renamed" }))).await;
    assert_eq!(
        (status, &updated["ContactGivenName"], &updated["ContactSurname"]),
        (StatusCode::OK, &json!("Dee"), &json!("Renamed"))
    );
    let (status, error) = server
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({ "IdentityProviderId": "e2398938-bf8f-40fa-b380-d538ece2bfc2" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).starts_with("IdentityProviderId"));
    let (status, error) =
        server.call(Method::PUT, &format!("/Users/{id}"), Some(json!({ "ContactGivenName": "x".repeat(257) }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).starts_with("ContactGivenName"));
    assert_eq!(server.call(Method::GET, &format!("/Users/{id}"), None).await, (StatusCode::OK, updated));
}
