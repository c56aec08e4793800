//! Device code clients in headless Chromium (crate::chrome): an administrator adds one in the
//! console, and a person connects a device on the verification page, typing the code as a
//! person does (lower case, no dash), signing in on our sign-in page, and approving.

use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::chrome::{chrome, click, fill, shot, text_of};
use crate::console::{choose_type, sign_in};
use crate::device::{authorize_device, poll};
use crate::support::{claims, TestServer, ADMIN_PASSWORD};

#[tokio::test]
async fn a_device_client_is_added_in_the_console_and_a_person_connects_a_device() {
    let server = TestServer::start().await;
    let chrome = chrome().await;
    let c = &chrome.client;

    // Add Client, Device Code: Name, Token Lifetime, Device Code Lifetime, Allow Refresh Token.
    sign_in(c, &server).await;
    click(c, "#nav-clients").await;
    choose_type(c, "Device Code").await;
    click(c, "#add-client").await;
    assert!(!c.find(Locator::Css("#ac-redirect-input")).await.expect("field").is_displayed().await.expect("shown"));
    fill(c, "#ac-name", "Factory panel").await;
    fill(c, "#ac-lifetime", "1200").await;
    fill(c, "#ac-device-lifetime", "600").await;
    click(c, "#ac-refresh").await;
    shot(c, "09-add-client-device-code").await;
    click(c, "#ac-submit").await;
    let id = text_of(c, "#success-client-id").await;
    click(c, "#success-close").await;
    let (status, created) = server.call(Method::GET, &format!("/DeviceCodeClients/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    for (key, value) in [
        ("Name", json!("Factory panel")),
        ("AccessTokenLifetime", json!(1200)),
        ("DeviceCodeLifetime", json!(600)),
        ("AllowOfflineAccess", json!(true)),
    ] {
        assert_eq!(created[key], value, "{key}");
    }
    // The details pane shows the new client (the console selects it after a create), and
    // saves a changed Device Code Lifetime. Typing waits for the pane to be filled in, or the
    // late rendering would put the stored value back.
    let mut shown = None;
    for _ in 0..100 {
        let field = c.find(Locator::Css("#d-device-lifetime")).await.expect("field");
        shown = field.prop("value").await.expect("value");
        if shown.as_deref() == Some("600") && text_of(c, "#d-title").await == "Factory panel" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(shown.as_deref(), Some("600"), "the details pane shows the stored lifetime");
    fill(c, "#d-device-lifetime", "900").await;
    click(c, "#d-save").await;
    let mut saved = 0;
    for _ in 0..50 {
        saved = server.call(Method::GET, &format!("/DeviceCodeClients/{id}"), None).await.1["DeviceCodeLifetime"]
            .as_u64()
            .unwrap_or_default();
        if saved == 900 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(saved, 900);
    click(c, "#signout").await;
    c.wait().for_element(Locator::Css("#signin")).await.expect("signed out");

    // The device shows its code; the person opens the verification page and types it.
    let (status, codes) = authorize_device(&server, &id, "openid offline_access").await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    assert_eq!(codes["expires_in"], 900);
    let user_code = codes["user_code"].as_str().expect("user code");
    c.goto(codes["verification_uri"].as_str().expect("uri")).await.expect("open the verification page");
    fill(c, "#user_code", &user_code.replace('-', "").to_lowercase()).await;
    click(c, "#next").await;
    fill(c, "input[name=username]", "admin").await;
    fill(c, "input[name=password]", ADMIN_PASSWORD).await;
    click(c, "button[type=submit]").await;
    assert_eq!(text_of(c, "#app").await, "Factory panel");
    assert_eq!(text_of(c, "#code").await, user_code);
    shot(c, "10-device-confirm").await;
    click(c, "#approve").await;
    assert_eq!(text_of(c, "#result").await, "Device connected");

    let (status, tokens) = poll(&server, &id, codes["device_code"].as_str().expect("device code")).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(claims(tokens["access_token"].as_str().expect("token"))["client_id"], id.as_str());
    assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string(), "{tokens}");
    let _ = c.clone().close().await;
}
