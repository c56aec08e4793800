//! The authorize endpoint's rules that need a client of each kind, on the wire: response
//! types and modes, PKCE and nonce per kind, `iss` everywhere, `prompt`, loopback ports, and
//! a fresh sign-in that cannot be skipped.

use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{hidden, Browser, Landing};
use crate::flows::{authorize_url, code_request, register, APP};
use crate::support::{claims, TestServer, ADMIN_PASSWORD};

/// The parameters of a Hybrid `code id_token` request (no PKCE: the client has a secret);
/// `extra` replaces or adds parameters, and an empty value removes one.
fn hybrid_request<'a>(client: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut changes = vec![
        ("code_challenge", ""),
        ("code_challenge_method", ""),
        ("response_type", "code id_token"),
        ("nonce", "n-1"),
    ];
    changes.extend_from_slice(extra);
    code_request(client, &changes)
}

/// The value of `name` in a form_post page, or in the redirect's query or fragment.
fn answered(landing: &Landing, name: &str) -> Option<String> {
    match landing {
        Landing::Redirect(url) => Landing::param(url, name),
        Landing::Page(_, page) => hidden(page, name),
    }
}

#[tokio::test]
async fn each_kind_gets_its_response_types_modes_and_checks() {
    let server = TestServer::start().await;
    let (hybrid, _) = register(&server, "HybridClients", json!({})).await;
    let browser = Browser::new(&server);
    let issuer = format!("{}/identity", server.base);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        // A Hybrid client asking for `code` alone must use PKCE, as a browser app does.
        (hybrid_request(&hybrid, &[("response_type", "code")]), "invalid_request"),
        // Response types with an ID token need a nonce.
        (hybrid_request(&hybrid, &[("nonce", "")]), "invalid_request"),
        (hybrid_request(&hybrid, &[("response_mode", "jwt")]), "invalid_request"),
        (hybrid_request(&hybrid, &[("prompt", "none login")]), "invalid_request"),
        (hybrid_request(&hybrid, &[("response_mode", "query")]), "invalid_request"),
    ];
    for (pairs, error) in cases {
        let landed = browser.visit(&authorize_url(&server, &pairs)).await.redirect();
        assert!(landed.as_str().starts_with(APP), "{landed}");
        assert_eq!(Landing::param(&landed, "error").as_deref(), Some(error), "{pairs:?}: {landed}");
        // Tokens never travel in a query string, nor do the errors of a request for them.
        let fragment = pairs.contains(&("response_type", "code id_token"));
        assert_eq!(landed.fragment().is_some(), fragment, "{pairs:?}: {landed}");
        assert_eq!(Landing::param(&landed, "iss").as_deref(), Some(issuer.as_str()));
        assert_eq!(Landing::param(&landed, "state").as_deref(), Some("s-123"));
    }
    // An error in form_post mode is a form_post, with iss and state.
    let errored = browser
        .visit(&authorize_url(&server, &hybrid_request(&hybrid, &[("response_mode", "form_post"), ("nonce", "")])))
        .await;
    let Landing::Page(StatusCode::OK, ref page) = errored else { panic!("a form_post page: {errored:?}") };
    assert!(page.contains(&format!("action=\"{APP}\"")), "{page}");
    for (name, value) in [("error", "invalid_request"), ("iss", issuer.as_str()), ("state", "s-123")] {
        assert_eq!(answered(&errored, name).as_deref(), Some(value), "{name}");
    }

    // Signed in: the hybrid default is the fragment; form_post carries iss too.
    let landed = browser.authorize_as_admin(&authorize_url(&server, &hybrid_request(&hybrid, &[]))).await;
    let Landing::Redirect(ref url) = landed else { panic!("a redirect: {landed:?}") };
    assert!(url.query().is_none() && url.fragment().is_some_and(|f| f.contains("code=")), "{url}");
    let id_token = answered(&landed, "id_token").expect("id_token");
    assert_eq!(claims(&id_token)["nonce"], "n-1");
    let posted =
        browser.visit(&authorize_url(&server, &hybrid_request(&hybrid, &[("response_mode", "form_post")]))).await;
    for name in ["code", "id_token", "state", "iss"] {
        assert!(answered(&posted, name).is_some(), "{name} in {posted:?}");
    }
    assert_eq!(answered(&posted, "iss").as_deref(), Some(issuer.as_str()));
}

/// RFC 8252 §7.3: a registered loopback IP literal (v4 or v6) matches on any port; a host
/// name (`localhost`) or an https URI only as registered.
#[tokio::test]
async fn loopback_ip_literals_match_on_any_port_and_nothing_else_does() {
    let server = TestServer::start().await;
    let registered =
        json!(["http://127.0.0.1/cb", "http://[::1]:8/cb", "http://localhost:7/cb", "https://app.example.com:8443/cb"]);
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({ "RedirectUris": registered })).await;
    let browser = Browser::new(&server);
    // An error answer is a redirect to the client only when the URI matched.
    let goes_back = |uri: &'static str| {
        let url = authorize_url(&server, &code_request(&id, &[("redirect_uri", uri), ("scope", "openid bogus")]));
        let browser = &browser;
        async move {
            match browser.visit(&url).await {
                Landing::Redirect(to) => to.as_str().starts_with(uri),
                Landing::Page(status, _) => {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
                    false
                }
            }
        }
    };
    for uri in ["http://127.0.0.1/cb", "http://127.0.0.1:9/cb", "http://[::1]:1/cb", "http://[::1]/cb"] {
        assert!(goes_back(uri).await, "{uri} matches");
    }
    for uri in
        ["http://localhost:1/cb", "http://localhost/cb", "https://app.example.com:1/cb", "http://127.0.0.1:9/cb/"]
    {
        assert!(!goes_back(uri).await, "{uri} does not match");
    }
}

/// `prompt=login` and `max_age`: the sign-in page's way back keeps them and is bound to a
/// sign-in after the request started, so replaying it with the old session signs in again
/// (issue 9, item 5); the ID token's `auth_time` is that new sign-in.
#[tokio::test]
async fn a_fresh_sign_in_asked_for_cannot_be_skipped() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    browser.authorize_as_admin(&authorize_url(&server, &code_request(&id, &[]))).await.redirect();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for ask in [("prompt", "login"), ("max_age", "0")] {
        let started = time::OffsetDateTime::now_utc().unix_timestamp();
        let Landing::Page(StatusCode::OK, page) =
            browser.visit(&authorize_url(&server, &code_request(&id, &[ask]))).await
        else {
            panic!("{ask:?}: the sign-in page")
        };
        let way_back = hidden(&page, "return").expect("return");
        assert!(way_back.contains(&format!("{}={}", ask.0, ask.1)), "{way_back}");
        // The old session, replaying the way back (as it is, or without its mark): sign in again.
        let stripped: Vec<(String, String)> =
            url::form_urlencoded::parse(way_back.split_once('?').expect("query").1.as_bytes())
                .into_owned()
                .filter(|(k, _)| !k.starts_with("gatehouse_"))
                .collect();
        let stripped = format!(
            "/identity/connect/authorize?{}",
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&stripped).finish()
        );
        let mut page = page;
        for replay in [&way_back, &stripped] {
            page = match browser.visit(&server.url(replay)).await {
                Landing::Page(StatusCode::OK, page) if page.contains("name=\"password\"") => page,
                other => panic!("{ask:?}: replaying {replay} with the old session answered {other:?}"),
            };
        }
        let landed = browser.sign_in(&page, "admin", ADMIN_PASSWORD).await.redirect();
        let code = Landing::param(&landed, "code").expect("a code after the sign-in");
        let body = crate::flows::exchange_code(&server, &code, &id).await;
        let auth_time = claims(body["id_token"].as_str().expect("id_token"))["auth_time"].as_i64().expect("auth_time");
        assert!(auth_time >= started, "{ask:?}: auth_time {auth_time} is the new sign-in (after {started})");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
}
