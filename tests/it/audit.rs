//! The audit trail: a scripted admin session (clients, secrets, users, passwords, roles,
//! deletes, a refused change), a sign-in, a failed one and a logout, then `AuditEvents`:
//! each is there with its actor, action, target, outcome, source and the `Operation-Id` of
//! the request that made it, and no secret or password appears anywhere in the answer.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Landing};
use crate::support::{assert_contract_error, TestServer, ADMIN_PASSWORD, BOOT_ID};

const TENANT_MEMBER: &str = "f1a9c6a2-2d2f-4a53-9a7b-7c3d5e0b1a01";
const TENANT_ADMINISTRATOR: &str = "2b7c4e6d-8f14-4c39-b0a2-5d6e7f8a9b02";

/// An admin API request with `token`: status, JSON body (Null when empty), `Operation-Id`.
async fn send(
    server: &TestServer,
    token: &str,
    method: Method,
    rest: &str,
    body: Option<Value>,
) -> (StatusCode, Value, String) {
    let mut request = server.http.request(method, server.api(rest)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let operation = response.headers()["operation-id"].to_str().expect("operation id").to_owned();
    let text = response.text().await.expect("body");
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json") }, operation)
}

/// The events `query` selects, with `Total-Count`, and the answer's raw text.
async fn events(server: &TestServer, token: &str, query: &str) -> (StatusCode, Vec<Value>, Option<u64>, String) {
    let url = format!("{}?{query}", server.api("/AuditEvents"));
    let response = server.http.get(url).bearer_auth(token).send().await.expect("list");
    let status = response.status();
    let total = response.headers().get("Total-Count").map(|v| v.to_str().expect("text").parse().expect("number"));
    let text = response.text().await.expect("body");
    let items = serde_json::from_str::<Value>(&text).ok().and_then(|v| v.as_array().cloned()).unwrap_or_default();
    (status, items, total, text)
}

/// The one event of `action` on `target`.
fn find<'a>(all: &'a [Value], action: &str, target: &str) -> &'a Value {
    let found: Vec<&Value> = all.iter().filter(|e| e["Action"] == action && e["Target"] == target).collect();
    assert_eq!(found.len(), 1, "one {action} of {target} in {all:#?}");
    found[0]
}

/// Asserts an event's actor, outcome, source and operation.
fn check(event: &Value, actor: &str, outcome: &str, operation: Option<&str>) {
    assert_eq!(event["Actor"], actor, "{event}");
    assert_eq!(event["Outcome"], outcome, "{event}");
    assert_eq!(event["Source"], "127.0.0.1", "{event}");
    let id = event["OperationId"].as_str().expect("OperationId");
    uuid::Uuid::parse_str(id).expect("a GUID");
    if let Some(operation) = operation {
        assert_eq!(id, operation, "{event}");
    }
    time::OffsetDateTime::parse(event["Time"].as_str().expect("Time"), &time::format_description::well_known::Rfc3339)
        .expect("an ISO 8601 time");
}

#[tokio::test]
async fn a_scripted_admin_session_leaves_its_trail_and_no_secret() {
    scripted_session(&TestServer::start().await).await;
}

/// The session and its checks, on any store (tests/it/postgres.rs runs it on PostgreSQL).
pub async fn scripted_session(server: &TestServer) {
    let admin = server.admin_token().await;
    let mut secrets: Vec<String> = vec![ADMIN_PASSWORD.to_owned()];

    // A client with its first secret, a second secret, then the secret and the client deleted.
    let body =
        json!({ "Name": "audited", "RedirectUris": ["https://app.example.com/cb"], "SecretDescription": "first" });
    let (status, created, create_op) = send(server, &admin, Method::POST, "/HybridClients", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    secrets.push(created["Secret"].as_str().expect("secret").to_owned());
    let client = created["Client"]["Id"].as_str().expect("id").to_owned();
    let client_target = format!("HybridClients/{client}");
    let (status, secret, secret_op) = send(
        server,
        &admin,
        Method::POST,
        &format!("/{client_target}/Secrets"),
        Some(json!({ "Description": "second", "Expires": false })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{secret}");
    secrets.push(secret["Secret"].as_str().expect("secret").to_owned());
    let secret_target = format!("{client_target}/Secrets/{}", secret["Id"]);
    let (status, _, delete_secret_op) = send(server, &admin, Method::DELETE, &format!("/{secret_target}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A machine client whose roles change.
    let (status, machine, _) =
        send(server, &admin, Method::POST, "/ClientCredentialClients", Some(json!({ "Name": "machine" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    secrets.push(machine["Secret"].as_str().expect("secret").to_owned());
    let machine_target = format!("ClientCredentialClients/{}", machine["Client"]["Id"].as_str().expect("id"));
    let roles = json!([TENANT_MEMBER, TENANT_ADMINISTRATOR]);
    let (status, _, roles_op) =
        send(server, &admin, Method::PUT, &format!("/{machine_target}/Roles"), Some(roles)).await;
    assert_eq!(status, StatusCode::OK);

    // A user with a password, whose password is reset.
    let first_password = "first-password-of-dora";
    let body = json!({ "UserName": "dora", "Password": first_password, "ContactEmail": "dora@example.com" });
    let (status, user, user_op) = send(server, &admin, Method::POST, "/Users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let user_id = user["Id"].as_str().expect("id").to_owned();
    let user_target = format!("Users/{user_id}");
    let password = "second-password-of-dora";
    secrets.extend([first_password.to_owned(), password.to_owned()]);
    let (status, _, password_op) =
        send(server, &admin, Method::PUT, &format!("/{user_target}/Password"), Some(json!({ "Password": password })))
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A refused change: nothing changes, and it is recorded as refused.
    let missing = format!("HybridClients/{}", uuid::Uuid::new_v4());
    let (status, _, refused_op) = send(server, &admin, Method::DELETE, &format!("/{missing}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, delete_op) = send(server, &admin, Method::DELETE, &format!("/{client_target}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The user signs in, fails once, and signs out.
    let browser = Browser::new(server);
    let Landing::Page(StatusCode::OK, page) = browser.visit(&server.url("/identity/account/login")).await else {
        panic!("the sign-in page")
    };
    let wrong = "not-the-password-of-dora";
    secrets.push(wrong.to_owned());
    let Landing::Page(StatusCode::UNAUTHORIZED, page) = browser.sign_in(&page, "dora", wrong).await else {
        panic!("a failed sign-in")
    };
    let Landing::Page(StatusCode::OK, _) = browser.sign_in(&page, "dora", password).await else { panic!("signed in") };
    let Landing::Page(StatusCode::OK, confirm) = browser.visit(&server.url("/identity/connect/endsession")).await
    else {
        panic!("the logout confirmation")
    };
    let Landing::Page(StatusCode::OK, _) = browser.submit(&confirm).await else { panic!("signed out") };

    let (status, all, total, text) = events(server, &admin, "count=1000").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(total, Some(all.len() as u64));
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret or password in the audit trail: {secret}");
    }

    check(find(&all, "Client.Create", &client_target), BOOT_ID, "Succeeded", Some(&create_op));
    assert_eq!(find(&all, "Client.Create", &client_target)["ActorType"], "Client");
    check(find(&all, "Secret.Create", &secret_target), BOOT_ID, "Succeeded", Some(&secret_op));
    check(find(&all, "Secret.Delete", &secret_target), BOOT_ID, "Succeeded", Some(&delete_secret_op));
    check(find(&all, "Client.SetRoles", &machine_target), BOOT_ID, "Succeeded", Some(&roles_op));
    check(find(&all, "User.Create", &user_target), BOOT_ID, "Succeeded", Some(&user_op));
    check(find(&all, "User.SetPassword", &user_target), BOOT_ID, "Succeeded", Some(&password_op));
    // The reset ends what the old password obtained: in the same operation.
    check(find(&all, "TokenFamily.Revoke", &user_target), BOOT_ID, "Succeeded", Some(&password_op));
    let refused = find(&all, "Client.Delete", &missing);
    check(refused, BOOT_ID, "Refused", Some(&refused_op));
    assert!(refused["Detail"].as_str().expect("reason").starts_with("404"), "{refused}");
    check(find(&all, "Client.Delete", &client_target), BOOT_ID, "Succeeded", Some(&delete_op));
    let failed = find(&all, "SignIn.Failed", &user_target);
    check(failed, "dora", "Failed", None);
    assert_eq!(failed["ActorType"], "Name");
    let signed_in = find(&all, "SignIn", &user_target);
    check(signed_in, &user_id, "Succeeded", None);
    assert_eq!(signed_in["ActorType"], "User");
    check(find(&all, "Logout", &user_target), &user_id, "Succeeded", None);
    // Newest first.
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let times: Vec<time::OffsetDateTime> = all
        .iter()
        .map(|e| time::OffsetDateTime::parse(e["Time"].as_str().expect("time"), rfc3339).expect("a time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(all[0]["Action"], "Logout");

    // Paging, filters, and bad filters.
    let (_, page, total, _) = events(server, &admin, "skip=1&count=2").await;
    assert_eq!((page.len(), total), (2, Some(all.len() as u64)));
    assert_eq!(page, all[1..3].to_vec());
    let (_, failed_only, total, _) = events(server, &admin, "action=SignIn.Failed").await;
    assert_eq!((failed_only.len(), total), (1, Some(1)));
    let (_, by_user, _, _) = events(server, &admin, &format!("actor={user_id}")).await;
    let actions: Vec<&str> = by_user.iter().map(|e| e["Action"].as_str().expect("action")).collect();
    assert_eq!(actions, ["Logout", "SignIn"]);
    let (_, none, total, _) = events(server, &admin, "from=2999-01-01T00:00:00Z").await;
    assert_eq!((none.len(), total), (0, Some(0)));
    let (_, before, _, _) = events(server, &admin, "to=2000-01-01T00:00:00Z").await;
    assert!(before.is_empty());
    for bad in ["action=Client", "from=yesterday", "count=1001", "to=2025-01-01"] {
        let (status, _, _, text) = events(server, &admin, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_contract_error(&serde_json::from_str(&text).expect("json"));
    }

    // A Tenant Member may read clients but not the trail; HEAD answers the same headers.
    let member_token = server.machine_token(json!({ "RoleIds": [TENANT_MEMBER] })).await;
    let (status, _, _, text) = events(server, &member_token, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    let head = server.http.head(server.api("/auditevents")).bearer_auth(&admin).send().await.expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.headers().contains_key("Total-Count"));
}

/// `gatehouse rotate-keys` is recorded, as the command's act, for every tenant.
#[tokio::test]
async fn a_key_rotation_is_recorded() {
    let server = TestServer::start().await;
    let database = server.dir.join("gatehouse.db");
    let env = [("GATEHOUSE_DATABASE", database.to_str().expect("path"))];
    let out = crate::support::run_gatehouse(&["rotate-keys"], &env).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let admin = server.admin_token().await;
    let (status, rotations, total, _) = events(&server, &admin, "action=Keys.Rotate").await;
    assert_eq!((status, total), (StatusCode::OK, Some(2)), "one per algorithm");
    for e in &rotations {
        assert_eq!((&e["Actor"], &e["ActorType"]), (&json!("gatehouse rotate-keys"), &json!("System")));
        assert_eq!((&e["TenantId"], &e["Outcome"]), (&Value::Null, &json!("Succeeded")));
        assert!(e["Target"].as_str().expect("target").starts_with("SigningKeys/"), "{e}");
    }
}

/// The texts of the Audit log's rows (action, then target), once some row has `action`
/// and targets `needle` (at most 10 s; the page loads after the click).
async fn audit_rows_with(c: &fantoccini::Client, action: &str, needle: &str) -> Vec<(String, String)> {
    use fantoccini::Locator;
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows.clear();
        for row in c.find_all(Locator::Css("#audit tbody tr[data-action]")).await.expect("rows") {
            let action = row.attr("data-action").await.expect("attr").unwrap_or_default();
            let target = row.find(Locator::Css(".a-target")).await.expect("target").text().await.expect("text");
            rows.push((action, target));
        }
        if rows.iter().any(|(a, t)| a == action && t.contains(needle)) {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {action} of {needle} in {rows:?}");
}

/// The console's Audit log shows an admin change made a moment before, and filters by action.
#[tokio::test]
async fn the_console_audit_log_shows_a_change() {
    use crate::chrome::{chrome, click, shot};
    let server = TestServer::start().await;
    let chrome = chrome().await;
    let c = &chrome.client;
    crate::console::sign_in(c, &server).await;
    let (id, _) = server.new_machine_client(json!({ "Name": "seen in the log" })).await;
    click(c, "#nav-audit").await;
    let rows = audit_rows_with(c, "Client.Create", &id).await;
    assert!(rows.iter().any(|(a, _)| a == "SignIn"), "the console's own sign-in: {rows:?}");
    shot(c, "09-audit-log").await;
    let select = c.find(fantoccini::Locator::Css("#audit-action")).await.expect("action filter");
    select.select_by_value("Client.Create").await.expect("choose");
    for _ in 0..100 {
        let rows = audit_rows_with(c, "Client.Create", &id).await;
        if rows.iter().all(|(a, _)| a == "Client.Create") {
            let _ = c.clone().close().await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the filter kept other actions");
}
