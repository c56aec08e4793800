//! First start, restart, and the local users of the embedded directory.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_contract_error, claims, TestServer, BOOT_ID, BOOT_SECRET};

const TENANT_ADMINISTRATOR: &str = "2b7c4e6d-8f14-4c39-b0a2-5d6e7f8a9b02";

#[tokio::test]
async fn a_restart_keeps_clients_secrets_keys_and_the_tenant() {
    let server = TestServer::start().await;
    let (id, secret) = server.new_machine_client(json!({ "AccessTokenLifetime": 120, "Tags": ["kept"] })).await;
    let (_, web) = server
        .call(
            Method::POST,
            "/AuthorizationCodeClients",
            Some(json!({ "Name": "web", "RedirectUris": ["https://a.example.com/cb"] })),
        )
        .await;
    let (_, user) = server
        .call(
            Method::POST,
            "/Users",
            Some(json!({ "ContactEmail": "kept@example.com", "ContactGivenName": "Kept", "ContactSurname": "User" })),
        )
        .await;
    let (_, role) = server.call(Method::POST, "/Roles", Some(json!({ "Name": "Kept", "RoleScope": 1 }))).await;
    let old_token = server.token_for(&id, &secret).await;
    let tenant = server.tenant.clone();
    let server = server.restart().await;
    assert!(server.banner.iter().all(|l| !l.contains("first start")), "no second bootstrap: {:?}", server.banner);
    assert_eq!(server.tenant, tenant);
    let (status, fetched) =
        server.call(Method::GET, &format!("/AuthorizationCodeClients/{}", web["Id"].as_str().expect("id")), None).await;
    assert_eq!((status, fetched), (StatusCode::OK, web));
    let user_id = user["Id"].as_str().expect("user id");
    assert_eq!(server.call(Method::GET, &format!("/Users/{user_id}"), None).await, (StatusCode::OK, user));
    let role_id = role["Id"].as_str().expect("role id");
    assert_eq!(server.call(Method::GET, &format!("/Roles/{role_id}"), None).await, (StatusCode::OK, role));
    let token = server.token_for(&id, &secret).await;
    assert_eq!(
        claims(&token)["exp"].as_i64().unwrap_or_default() - claims(&token)["iat"].as_i64().unwrap_or_default(),
        120
    );
    // The signing key survived: a token from before the restart still works.
    let response = server
        .http
        .get(server.api("/ClientCredentialClients?tag=kept"))
        .bearer_auth(&old_token)
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["Total-Count"], "1");
}

#[tokio::test]
async fn first_start_prints_generated_credentials_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tenant = "3c4d5e6f-0000-4000-8000-000000000001";
    let server = TestServer::start_with(
        tmp.path(),
        &[("GATEHOUSE_TENANT_ID", tenant), ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID)],
    )
    .await;
    assert_eq!(server.banner[0], format!("gatehouse: first start, created tenant {tenant}"));
    let password_line =
        server.banner.iter().find(|l| l.contains("administrator password (generated")).expect("password shown");
    let secret_line =
        server.banner.iter().find(|l| l.contains("bootstrap client secret (generated")).expect("secret shown");
    let secret = secret_line.rsplit(' ').next().expect("secret").to_owned();
    assert!(password_line.rsplit(' ').next().expect("password").len() >= 32);
    let token = server.token_for(BOOT_ID, &secret).await;
    assert_eq!(claims(&token)["roles"], json!(["f1a9c6a2-2d2f-4a53-9a7b-7c3d5e0b1a01", TENANT_ADMINISTRATOR]));
    server.stop().await;

    let again = TestServer::start_with(
        tmp.path(),
        &[("GATEHOUSE_TENANT_ID", tenant), ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID)],
    )
    .await;
    assert_eq!(again.banner.len(), 1, "only the listening line: {:?}", again.banner);
    assert!(!again.banner[0].contains(&secret));
    again.token_for(BOOT_ID, &secret).await;
}

#[tokio::test]
async fn the_admin_account_exists_and_passwords_never_come_back() {
    let server = TestServer::start().await;
    let (status, users) = server.call(Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users[0]["UserName"], "admin");
    assert!(users[0]["RoleIds"].as_array().expect("roles").contains(&json!(TENANT_ADMINISTRATOR)));
    let body = json!({ "UserName": "alice", "Password": "alice-password-1", "Email": "alice@example.com" });
    let (status, alice) = server.call(Method::POST, "/Users", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{alice}");
    let text = alice.to_string();
    assert!(!text.contains("alice-password-1") && !text.contains("argon2") && alice.get("Password").is_none());
    let (status, error) =
        server.call(Method::POST, "/Users", Some(json!({ "UserName": "ALICE", "Password": "another-password" }))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_contract_error(&error);
    let (status, error) =
        server.call(Method::POST, "/Users", Some(json!({ "UserName": "bob", "Password": "short" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_contract_error(&error).starts_with("Password"));
    // Without a Password, as the product creates users: it cannot sign in until it gets one.
    let (status, bob) = server.call(Method::POST, "/Users", Some(json!({ "UserName": "bob" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(bob.get("Password").is_none());
    let id = alice["Id"].as_str().expect("id");
    let (status, _) =
        server.call(Method::PUT, &format!("/Users/{id}/Password"), Some(json!({ "Password": "a-new-password" }))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, updated) = server.call(Method::PUT, &format!("/Users/{id}"), Some(json!({ "Enabled": false }))).await;
    assert_eq!(
        (status, &updated["Enabled"], &updated["Email"]),
        (StatusCode::OK, &json!(false), &json!("alice@example.com"))
    );
    let (status, _) = server.call(Method::DELETE, &format!("/Users/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let _ = BOOT_SECRET;
}

#[tokio::test]
async fn rotate_keys_publishes_new_keys_and_old_tokens_keep_working() {
    let server = TestServer::start().await;
    let token = server.admin_token().await;
    let jwks = |s: &TestServer| {
        let url = s.url("/identity/.well-known/openid-configuration/jwks");
        let http = s.http.clone();
        async move { http.get(url).send().await.expect("jwks").json::<serde_json::Value>().await.expect("json") }
    };
    assert_eq!(jwks(&server).await["keys"].as_array().map(Vec::len), Some(2));
    let dir = server.dir.clone();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("rotate-keys")
        .env_clear()
        .env("GATEHOUSE_DATABASE", dir.join("gatehouse.db"))
        .output()
        .await
        .expect("run rotate-keys");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("new signing keys"));
    // The running server publishes them within about a second, without a restart.
    let started = std::time::Instant::now();
    while jwks(&server).await["keys"].as_array().map(Vec::len) != Some(4) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the rotation was not seen by the running server"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let server = server.restart().await;
    let keys = jwks(&server).await;
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(4), "old and new keys are both published");
    let response = server.http.get(server.api("/Roles")).bearer_auth(&token).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::OK, "a token signed before the rotation still verifies");
}

#[tokio::test]
async fn a_deleted_user_created_again_with_its_id_does_not_inherit_its_tokens() {
    use crate::browser::{Browser, Landing};
    use crate::flows::{offline_authorize_url, register, token};
    let server = TestServer::start().await;
    let (client, _) = register(&server, "AuthorizationCodeClients", json!({ "AllowOfflineAccess": true })).await;
    let carol =
        json!({ "Id": "c0ffee00-0000-4000-8000-0000000ca201", "UserName": "carol", "Password": "carol-password-1" });
    assert_eq!(server.call(Method::POST, "/Users", Some(carol.clone())).await.0, StatusCode::CREATED);
    // Carol signs in and gets an access token.
    let browser = Browser::new(&server);
    let Landing::Page(_, page) = browser.visit(&offline_authorize_url(&server, &client)).await else { panic!("login") };
    let landed = browser.sign_in(&page, "carol", "carol-password-1").await.redirect();
    let code = Landing::param(&landed, "code").expect("code");
    let form = crate::flows::exchange_form(&code, &client);
    let (status, tokens) = token(&server, &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access token").to_owned();
    let userinfo = |token: String| {
        let request = server.http.get(server.url("/identity/connect/userinfo")).bearer_auth(token);
        async move { request.send().await.expect("userinfo").status() }
    };
    assert_eq!(userinfo(access.clone()).await, StatusCode::OK);
    // Deleted, then created again with the same id, a second later.
    let item = "/Users/c0ffee00-0000-4000-8000-0000000ca201";
    assert_eq!(server.call(Method::DELETE, item, None).await.0, StatusCode::NO_CONTENT);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(server.call(Method::POST, "/Users", Some(carol)).await.0, StatusCode::CREATED);
    assert_eq!(userinfo(access).await, StatusCode::UNAUTHORIZED, "the old token died with the old user");
    // The refresh token too.
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", client.as_str())];
    assert_eq!(token(&server, &form).await.0, StatusCode::BAD_REQUEST);
}
