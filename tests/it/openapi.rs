//! The admin API's OpenAPI document (`GET /api/openapi.json`): a valid OpenAPI 3.1 document
//! (checked by `openapi-spec-validator`, which `.ci/run` installs in `target/pyenv`), naming
//! every route the server registers and no other, and describing what the server answers:
//! live answers validated against the document's own schemas and headers.
//! `tests/it/schemathesis.rs` then lets schemathesis loose on it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::TestServer;

pub fn pyenv_tool(name: &str) -> PathBuf {
    let tool = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin").join(name);
    assert!(tool.exists(), "{} is missing: `bash .ci/run` installs it into target/pyenv", tool.display());
    tool
}

/// The document, as the server serves it to anyone.
pub async fn fetch_document(server: &TestServer) -> Value {
    let response = server.http.get(server.url("/api/openapi.json")).send().await.expect("get document");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.expect("the document is JSON")
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1_and_public() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    assert_eq!(doc["openapi"], "3.1.0");
    // Folded like every admin path; HEAD too; unknown paths under /api are still 404.
    let folded = server.http.get(server.url("/API/OpenAPI.JSON")).send().await.expect("get");
    assert_eq!(folded.status(), StatusCode::OK);
    assert!(folded.headers().contains_key("Operation-Id"));
    assert_eq!(folded.json::<Value>().await.expect("json"), doc, "the same document");
    let head = server.http.head(server.url("/api/openapi.json")).send().await.expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    for unknown in ["/api/openapi.yaml", "/api/v1/openapi.json", "/api/nothing"] {
        let response = server.http.get(server.url(unknown)).send().await.expect("get");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{unknown}");
        crate::support::assert_contract_error(&response.json().await.expect("error body"));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
    let output = tokio::process::Command::new(pyenv_tool("openapi-spec-validator"))
        .arg("--schema")
        .arg("3.1.0")
        .arg(&file)
        .output()
        .await
        .expect("run openapi-spec-validator");
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "openapi-spec-validator:\n{printed}");
}

/// A path pattern with every parameter written `{}`.
fn shape(path: &str) -> String {
    path.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/")
}

/// Whether an answer says the route exists: neither 405 nor the 404 of a path that names
/// nothing (an unknown item is also 404, with another `Error`).
async fn registered(response: Response) -> bool {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    status != StatusCode::METHOD_NOT_ALLOWED
        && !(status == StatusCode::NOT_FOUND && body["Error"] == "The resource was not found.")
}

#[tokio::test]
async fn every_registered_route_and_method_is_in_the_document_and_no_other() {
    use gatehouse_server::admin::dialect::{
        AUTHORIZATION_CODE_CLIENTS, CLIENT_CREDENTIAL_CLIENTS, DEVICE_CODE_CLIENTS, HYBRID_CLIENTS,
    };
    let server = TestServer::start().await;
    let token = server.admin_token().await;
    let doc = fetch_document(&server).await;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().expect("path item").keys().map(move |m| (m.to_uppercase(), shape(path)))
        })
        .collect();

    // Every path pattern actix-web registers, each `{collection}` as the four collections,
    // probed with each method (unknown item ids: nothing is changed).
    let collections = [AUTHORIZATION_CODE_CLIENTS, HYBRID_CLIENTS, CLIENT_CREDENTIAL_CLIENTS, DEVICE_CODE_CLIENTS];
    let mut served = BTreeSet::new();
    for pattern in gatehouse_server::admin::registered_paths() {
        let expanded: Vec<String> = if pattern.contains("{collection}") {
            collections.iter().map(|c| pattern.replace("{collection}", c)).collect()
        } else {
            vec![pattern]
        };
        for path in expanded {
            let concrete: String = path
                .split('/')
                .map(|s| match s {
                    "{tenant_id}" => server.tenant.clone(),
                    "{secret_id}" => "1".to_owned(),
                    s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
                    s => s.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("/");
            let mut get_served = false;
            for method in [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::DELETE] {
                let response = server
                    .http
                    .request(method.clone(), server.url(&concrete))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("probe");
                // HEAD has no body to tell the 404s apart: it is served where GET is, unless 405.
                let yes = if method == Method::HEAD {
                    get_served && response.status() != StatusCode::METHOD_NOT_ALLOWED
                } else {
                    registered(response).await
                };
                if method == Method::GET {
                    get_served = yes;
                }
                if yes {
                    served.insert((method.to_string(), shape(&path)));
                }
            }
        }
    }
    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "served but not in the document (add them to admin/openapi/operations.rs): {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(extra.is_empty(), "in the document but not served: {extra:?}");
}

/// Checks one live answer against the document: its status is documented for the operation,
/// the documented required headers are there and match, and the body matches the schema.
pub struct Conformance {
    doc: Value,
}

impl Conformance {
    pub fn new(doc: Value) -> Self {
        Self { doc }
    }

    fn validate(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        let validator =
            jsonschema::options().should_validate_formats(true).build(&root).expect("the document's schema compiles");
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
    }

    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) => self.doc.pointer(pointer.trim_start_matches('#')).expect("a $ref that resolves"),
            None => value,
        }
    }

    /// `template` is the document's path (`/api/v1/Tenants/{tenantId}/Users`).
    pub async fn check(&self, method: &str, template: &str, response: Response) -> (StatusCode, Value) {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body: Value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("a JSON body") };
        let what = format!("{method} {template} answered {status} {body}");
        let operation = &self.doc["paths"][template][method.to_lowercase()];
        assert!(operation.is_object(), "{what}: no such operation in the document");
        let documented = &operation["responses"][status.as_str()];
        assert!(documented.is_object(), "{what}: status not in the document");
        let documented = self.resolve(documented);
        for (name, header) in documented["headers"].as_object().into_iter().flatten() {
            let header = self.resolve(header);
            let value = headers.get(name.as_str()).map(|v| v.to_str().expect("ascii header"));
            match value {
                Some(value) => {
                    let schema = &header["schema"];
                    let value = if schema["type"] == "integer" {
                        json!(value.parse::<u64>().expect("a number"))
                    } else {
                        json!(value)
                    };
                    let errors = self.validate(schema, &value);
                    assert!(errors.is_empty(), "{what}: header {name}: {errors:?}");
                }
                None => assert!(header["required"] != json!(true), "{what}: required header {name} missing"),
            }
        }
        match documented["content"]["application/json"]["schema"].as_object() {
            Some(_) if method != "HEAD" => {
                assert_eq!(headers["content-type"], "application/json", "{what}");
                let errors = self.validate(&documented["content"]["application/json"]["schema"], &body);
                assert!(errors.is_empty(), "{what}: {errors:?}");
            }
            _ => assert!(body.is_null(), "{what}: a body the document does not describe"),
        }
        (status, body)
    }
}

#[tokio::test]
async fn live_answers_match_the_documents_schemas_headers_and_statuses() {
    let server = TestServer::start().await;
    let token = server.admin_token().await;
    let check = Conformance::new(fetch_document(&server).await);
    let tenant = "/api/v1/Tenants/{tenantId}";
    let send = |method: Method, rest: &str, body: Option<Value>| {
        let mut request = server.http.request(method, server.api(rest)).bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    macro_rules! call {
        ($method:ident, $template:expr, $rest:expr, $body:expr) => {
            check
                .check(
                    stringify!($method),
                    &format!("{tenant}{}", $template),
                    send(Method::$method, &$rest, $body).await.expect("send"),
                )
                .await
        };
    }

    let (status, _) = call!(GET, "", "", None);
    assert_eq!(status, StatusCode::OK);
    call!(HEAD, "", "", None);
    // One client of each kind: create (with and without a first secret), get, list, update.
    let bodies = [
        (
            "AuthorizationCodeClients",
            json!({ "Name": "spa", "RedirectUris": ["https://app.example.com/cb"], "AllowedCorsOrigins": ["https://app.example.com"] }),
        ),
        (
            "HybridClients",
            json!({ "Name": "web", "RedirectUris": ["http://127.0.0.1/cb"], "ClientUri": "https://example.com" }),
        ),
        ("ClientCredentialClients", json!({ "Name": "machine", "Tags": ["a"], "SecretExpires": false })),
        ("DeviceCodeClients", json!({ "Name": "tv", "DeviceCodeLifetime": 600, "IdTokenSigningAlgorithm": "ES256" })),
    ];
    for (collection, body) in bodies {
        let list = format!("/{collection}");
        let (status, created) = call!(POST, list, list, Some(body.clone()));
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["Client"]["Id"].as_str().or(created["Id"].as_str()).expect("id").to_owned();
        let item = format!("/{collection}/{id}");
        let template = format!("/{collection}/{{clientId}}");
        assert_eq!(call!(GET, template, item, None).0, StatusCode::OK);
        assert_eq!(call!(HEAD, template, item, None).0, StatusCode::OK);
        assert_eq!(call!(PUT, template, item, Some(json!({ "Name": "renamed", "Tags": null }))).0, StatusCode::OK);
        assert_eq!(call!(GET, list, format!("{list}?count=1&tag=a"), None).0, StatusCode::OK);
        assert_eq!(call!(HEAD, list, list, None).0, StatusCode::OK);
        // Errors: a broken rule, an unknown property, a duplicate id, an unknown item.
        assert_eq!(call!(PUT, template, item, Some(json!({ "AccessTokenLifetime": 59 }))).0, StatusCode::BAD_REQUEST);
        assert_eq!(call!(PUT, template, item, Some(json!({ "Nope": 1 }))).0, StatusCode::BAD_REQUEST);
        let mut again = body;
        again["Id"] = json!(id);
        assert_eq!(call!(POST, list, list, Some(again)).0, StatusCode::CONFLICT);
        let unknown = format!("/{collection}/{}", uuid::Uuid::new_v4());
        assert_eq!(call!(GET, template, unknown, None).0, StatusCode::NOT_FOUND);
        assert_eq!(call!(HEAD, template, unknown, None).0, StatusCode::NOT_FOUND);
        if collection == "ClientCredentialClients" {
            let roles = format!("{item}/Roles");
            let roles_template = format!("{template}/Roles");
            assert_eq!(call!(GET, roles_template, roles, None).0, StatusCode::OK);
            assert_eq!(call!(PUT, roles_template, roles, Some(json!([]))).0, StatusCode::OK);
        }
        if matches!(collection, "HybridClients" | "ClientCredentialClients") {
            let secrets = format!("{item}/Secrets");
            let secrets_template = format!("{template}/Secrets");
            let (status, secret) =
                call!(POST, secrets_template, secrets, Some(json!({ "Description": "second", "Expires": false })));
            assert_eq!(status, StatusCode::CREATED);
            let secret = format!("{secrets}/{}", secret["Id"]);
            let secret_template = format!("{secrets_template}/{{secretId}}");
            assert_eq!(call!(GET, secrets_template, format!("{secrets}?skip=1"), None).0, StatusCode::OK);
            assert_eq!(call!(GET, secret_template, secret, None).0, StatusCode::OK);
            assert_eq!(
                call!(PUT, secret_template, secret, Some(json!({ "Description": "changed" }))).0,
                StatusCode::OK
            );
            assert_eq!(call!(DELETE, secret_template, secret, None).0, StatusCode::NO_CONTENT);
            assert_eq!(call!(GET, secret_template, secret, None).0, StatusCode::NOT_FOUND);
        }
        assert_eq!(call!(DELETE, template, item, None).0, StatusCode::NO_CONTENT);
    }

    // Roles and users.
    let (status, role) = call!(POST, "/Roles", "/Roles", Some(json!({ "Name": "Readers" })));
    assert_eq!(status, StatusCode::CREATED);
    let role = format!("/Roles/{}", role["Id"].as_str().expect("id"));
    assert_eq!(call!(GET, "/Roles", "/Roles", None).0, StatusCode::OK);
    assert_eq!(call!(PUT, "/Roles/{roleId}", role, Some(json!({ "Description": "reads" }))).0, StatusCode::OK);
    let member = format!("/Roles/{}", gatehouse_registry::TENANT_MEMBER);
    assert_eq!(call!(PUT, "/Roles/{roleId}", member, Some(json!({ "Name": "x" }))).0, StatusCode::BAD_REQUEST);
    assert_eq!(call!(DELETE, "/Roles/{roleId}", role, None).0, StatusCode::NO_CONTENT);
    let (status, user) = call!(
        POST,
        "/Users",
        "/Users",
        Some(json!({ "ContactEmail": "ada@example.com", "Password": "correct horse" }))
    );
    assert_eq!(status, StatusCode::CREATED);
    let user = format!("/Users/{}", user["Id"].as_str().expect("id"));
    assert_eq!(call!(POST, "/Users", "/Users", Some(json!({ "UserName": "ADA@example.com" }))).0, StatusCode::CONFLICT);
    assert_eq!(call!(GET, "/Users", "/Users?id=00000000-0000-0000-0000-000000000000", None).0, StatusCode::OK);
    assert_eq!(call!(GET, "/Users", "/Users?count=1001", None).0, StatusCode::BAD_REQUEST);
    assert_eq!(call!(PUT, "/Users/{userId}", user, Some(json!({ "Surname": "Lovelace" }))).0, StatusCode::OK);
    let password = format!("{user}/Password");
    assert_eq!(
        call!(PUT, "/Users/{userId}/Password", password, Some(json!({ "Password": "another one" }))).0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call!(PUT, "/Users/{userId}/Password", password, Some(json!({ "Password": "short" }))).0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(call!(DELETE, "/Users/{userId}", user, None).0, StatusCode::NO_CONTENT);

    // 401 without a token or with a bad one, 403 for a reader writing, 404 for another tenant.
    let users = format!("{tenant}/Users");
    let anonymous = server.http.get(server.api("/Users")).send().await.expect("send");
    assert_eq!(check.check("GET", &users, anonymous).await.0, StatusCode::UNAUTHORIZED);
    let forged = server.http.head(server.api("/Users")).bearer_auth("not-a-token").send().await.expect("send");
    assert_eq!(check.check("HEAD", &users, forged).await.0, StatusCode::UNAUTHORIZED);
    let reader = server.machine_token(json!({ "RoleIds": [] })).await;
    let refused = server
        .http
        .post(server.api("/Roles"))
        .bearer_auth(&reader)
        .json(&json!({ "Name": "x" }))
        .send()
        .await
        .expect("send");
    assert_eq!(check.check("POST", &format!("{tenant}/Roles"), refused).await.0, StatusCode::FORBIDDEN);
    let elsewhere = server
        .http
        .get(server.url(&format!("/api/v1/Tenants/{}/Users", uuid::Uuid::new_v4())))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(check.check("GET", &users, elsewhere).await.0, StatusCode::NOT_FOUND);
}
