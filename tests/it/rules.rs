//! The rules of protocol.md, one negative case at a time, on the wire.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{Browser, Landing};
use crate::flows::{authorize_url, code_request, register, APP, VERIFIER};
use crate::support::{TestServer, ADMIN_PASSWORD};

/// Signs `browser` in for the public client `id` and answers its (ID token, access token).
async fn sign_in_for_id_token(server: &TestServer, browser: &Browser, id: &str) -> (String, String) {
    let landed = browser.authorize_as_admin(&authorize_url(server, &code_request(id, &[]))).await.redirect();
    let code = Landing::param(&landed, "code").expect("code");
    let body = crate::flows::exchange_code(server, &code, id).await;
    (body["id_token"].as_str().expect("id_token").to_owned(), body["access_token"].as_str().expect("at").to_owned())
}

/// Whether `browser` is signed in: `prompt=none` gets a code.
async fn signed_in(server: &TestServer, browser: &Browser, id: &str) -> bool {
    let url = authorize_url(server, &code_request(id, &[("prompt", "none")]));
    Landing::param(&browser.visit(&url).await.redirect(), "error").is_none()
}

async fn exchange(server: &TestServer, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = server.http.post(server.url("/identity/connect/token")).form(form).send().await.expect("token");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn unknown_clients_and_unregistered_redirects_get_our_page_never_a_redirect() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    let unknown = uuid::Uuid::new_v4().to_string();
    for pairs in [
        code_request(&id, &[("redirect_uri", "https://evil.example.com/callback")]),
        code_request(&id, &[("redirect_uri", "https://app.example.com/callback/")]),
        code_request(&id, &[("redirect_uri", "")]),
        code_request(&unknown, &[]),
    ] {
        match browser.visit(&authorize_url(&server, &pairs)).await {
            Landing::Page(status, _) => assert_eq!(status, StatusCode::BAD_REQUEST, "{pairs:?}"),
            Landing::Redirect(url) => panic!("redirected to {url} for {pairs:?}"),
        }
    }
    server.call(Method::PUT, &format!("/AuthorizationCodeClients/{id}"), Some(json!({ "Enabled": false }))).await;
    let Landing::Page(status, _) = browser.visit(&authorize_url(&server, &code_request(&id, &[]))).await else {
        panic!("a disabled client is never redirected to");
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A machine client may not use the authorize endpoint at all.
    let (m2m, _) = server.new_machine_client(json!({})).await;
    assert!(matches!(
        browser.visit(&authorize_url(&server, &code_request(&m2m, &[]))).await,
        Landing::Page(StatusCode::BAD_REQUEST, _)
    ));
}

#[tokio::test]
async fn request_errors_go_back_to_the_client_with_state_and_iss() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (code_request(&id, &[("code_challenge", ""), ("code_challenge_method", "")]), "invalid_request"),
        (code_request(&id, &[("code_challenge_method", "plain")]), "invalid_request"),
        (code_request(&id, &[("scope", "openid offline_access")]), "invalid_scope"),
        (code_request(&id, &[("scope", "openid admin")]), "invalid_scope"),
        (code_request(&id, &[("response_type", "code id_token"), ("nonce", "n")]), "unsupported_response_type"),
        (code_request(&id, &[("response_type", "token")]), "unsupported_response_type"),
        (code_request(&id, &[("acr_values", "tenant:00000000-0000-4000-8000-000000000000")]), "invalid_request"),
        (code_request(&id, &[("prompt", "none")]), "login_required"),
    ];
    for (pairs, error) in cases {
        let landed = browser.visit(&authorize_url(&server, &pairs)).await.redirect();
        assert!(landed.as_str().starts_with(APP), "{landed}");
        assert_eq!(Landing::param(&landed, "error").as_deref(), Some(error), "{pairs:?}");
        assert_eq!(Landing::param(&landed, "state").as_deref(), Some("s-123"));
        assert_eq!(Landing::param(&landed, "iss"), Some(format!("{}/identity", server.base)));
    }
}

#[tokio::test]
async fn code_exchange_is_bound_to_client_redirect_and_verifier() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let (other, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    let wrong_verifier = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let elsewhere = "https://app.example.com/other";
    // Each case on a fresh code, failing for its own reason; the failed attempt spends it.
    for (client, redirect, verifier, reason) in [
        (id.as_str(), APP, wrong_verifier.as_str(), "code_verifier does not match"),
        (&id, elsewhere, VERIFIER, "redirect_uri differs"),
        (&other, APP, VERIFIER, "issued to another client"),
        (&id, APP, VERIFIER, ""),
    ] {
        let landed = browser.authorize_as_admin(&authorize_url(&server, &code_request(&id, &[]))).await.redirect();
        let code = Landing::param(&landed, "code").expect("code");
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ];
        let (status, body) = exchange(&server, &pairs).await;
        if reason.is_empty() {
            assert_eq!(status, StatusCode::OK, "{body}");
        } else {
            assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{reason}");
            let description = body["error_description"].as_str().unwrap_or_default();
            assert!(description.contains(reason), "{reason}: {body}");
        }
        let right = [pairs[0], pairs[1], ("client_id", &id), ("redirect_uri", APP), ("code_verifier", VERIFIER)];
        let (status, body) = exchange(&server, &right).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "spent: {body}");
        assert!(body["error_description"].as_str().unwrap_or_default().contains("already used"), "{body}");
    }
}

#[tokio::test]
async fn sign_in_resists_csrf_open_redirects_guessing_and_framing() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    let Landing::Page(StatusCode::OK, page) = browser.visit(&authorize_url(&server, &code_request(&id, &[]))).await
    else {
        panic!("login page");
    };
    let response = browser.http.get(server.url("/identity/account/login")).send().await.expect("get");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    // The session cookie: HttpOnly, SameSite=Lax, and (plain http on loopback) not Secure.
    let fresh = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let login = fresh.get(server.url("/identity/account/login")).send().await.expect("get");
    let csrf_cookie = login.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    let form_page = login.text().await.expect("page");
    let csrf = crate::browser::hidden(&form_page, "csrf").expect("csrf");
    let signed_in = fresh
        .post(server.url("/identity/account/login"))
        .header("cookie", csrf_cookie.split(';').next().expect("pair"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("tenant", ""),
            ("return", ""),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = signed_in.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    assert!(session.starts_with("gatehouse_session="), "{session}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/identity"] {
        assert!(session.contains(attr), "{attr} in {session}");
    }
    assert!(!session.contains("Secure"), "plain http on loopback: {session}");
    assert!(response.headers()["content-security-policy"].to_str().expect("csp").contains("frame-ancestors 'none'"));

    // A forged form (wrong CSRF token) signs no one in. Each answer is a fresh form.
    let Landing::Page(status, page) = browser.sign_in_with(&page, "admin", ADMIN_PASSWORD, Some("forged")).await else {
        panic!("no redirect on CSRF failure");
    };
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Wrong user and wrong password read the same.
    let Landing::Page(_, wrong_user) = browser.sign_in(&page, "nobody", ADMIN_PASSWORD).await else { panic!() };
    let Landing::Page(_, wrong_pass) = browser.sign_in(&wrong_user, "admin", "not-the-password").await else {
        panic!()
    };
    assert!(wrong_user.contains("The user name or password is incorrect."), "{wrong_user}");
    assert!(wrong_pass.contains("The user name or password is incorrect."), "{wrong_pass}");

    // An open redirect in `return` is ignored.
    let fresh = Browser::new(&server);
    let Landing::Page(_, login) =
        fresh.visit(&server.url("/identity/account/login?return=https%3A%2F%2Fevil.example.com%2F")).await
    else {
        panic!()
    };
    let landed = fresh.sign_in(&login, "admin", ADMIN_PASSWORD).await;
    assert!(matches!(landed, Landing::Page(StatusCode::OK, ref body) if body.contains("signed in")), "{landed:?}");

    // Guessing is throttled: after five failures even the right password waits.
    let guesser = Browser::new(&server);
    let Landing::Page(_, mut page) = guesser.visit(&authorize_url(&server, &code_request(&id, &[]))).await else {
        panic!()
    };
    for _ in 0..5 {
        let Landing::Page(_, next) = guesser.sign_in(&page, "admin", "guess").await else { panic!() };
        page = next;
    }
    let Landing::Page(status, _) = guesser.sign_in(&page, "admin", ADMIN_PASSWORD).await else { panic!("throttled") };
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn registrations_are_enforced_live_between_two_requests() {
    let server = TestServer::start().await;
    let (id, secret) = register(&server, "HybridClients", json!({ "AllowOfflineAccess": true })).await;
    let secret = secret.expect("secret");
    let browser = Browser::new(&server);
    let pairs = code_request(&id, &[("scope", "openid offline_access")]);
    let code = Landing::param(&browser.authorize_as_admin(&authorize_url(&server, &pairs)).await.redirect(), "code")
        .expect("code");
    let (status, tokens) = exchange(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &id),
            ("client_secret", &secret),
            ("redirect_uri", APP),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    // A user's token without the ocsapi scope does not reach the admin API, whatever the
    // user's roles (the administrator here).
    let access = tokens["access_token"].as_str().expect("access");
    let admin = server.http.get(server.api("/Roles")).bearer_auth(access).send().await.expect("get");
    assert_eq!(admin.status(), StatusCode::UNAUTHORIZED);

    // A new redirect URI: the old one is refused at once, the new one accepted.
    let item = format!("/HybridClients/{id}");
    server.call(Method::PUT, &item, Some(json!({ "RedirectUris": ["https://app.example.com/new"] }))).await;
    assert!(matches!(browser.visit(&authorize_url(&server, &pairs)).await, Landing::Page(StatusCode::BAD_REQUEST, _)));
    let moved = code_request(&id, &[("redirect_uri", "https://app.example.com/new")]);
    let landed = browser.visit(&authorize_url(&server, &moved)).await.redirect();
    assert!(landed.as_str().starts_with("https://app.example.com/new?code="));

    // A new lifetime is in the next refresh; losing AllowOfflineAccess ends refreshes.
    server.call(Method::PUT, &item, Some(json!({ "AccessTokenLifetime": 90 }))).await;
    let refresh_form = |r: &str| {
        vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".into(), r.to_owned()),
            ("client_id".into(), id.clone()),
            ("client_secret".into(), secret.clone()),
        ]
    };
    let f = refresh_form(&refresh);
    let (status, body) = exchange(&server, &f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!((status, body["expires_in"].as_i64()), (StatusCode::OK, Some(90)), "{body}");
    let next = body["refresh_token"].as_str().expect("successor").to_owned();
    server.call(Method::PUT, &item, Some(json!({ "AllowOfflineAccess": false }))).await;
    let f = refresh_form(&next);
    let (status, body) = exchange(&server, &f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn logout_redirects_only_to_registered_uris_and_ends_the_session() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    browser.authorize_as_admin(&authorize_url(&server, &code_request(&id, &[]))).await.redirect();
    let logout = |target: &str, client: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("client_id", client), ("post_logout_redirect_uri", target), ("state", "bye-1")])
            .finish();
        server.url(&format!("/identity/connect/endsession?{query}"))
    };
    // Without an ID token of this session, a link cannot sign anyone out: the person is
    // asked (RP-Initiated Logout 1.0 §2).
    let Landing::Page(StatusCode::OK, ask) = browser.visit(&logout("https://evil.example.com/", &id)).await else {
        panic!("a confirmation page")
    };
    assert!(ask.contains("Sign out?"), "{ask}");
    assert!(signed_in(&server, &browser, &id).await, "still signed in until the person answers");
    // A forged answer (no CSRF cookie) ends nothing.
    let stranger = Browser::new(&server);
    let Landing::Page(status, _) = stranger.submit(&ask).await else { panic!("a page") };
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(signed_in(&server, &browser, &id).await);
    // Unregistered: no redirect, but signed out all the same.
    let Landing::Page(StatusCode::OK, done) = browser.submit(&ask).await else { panic!("signed-out page") };
    assert!(done.contains("You are signed out"), "{done}");
    assert!(!signed_in(&server, &browser, &id).await);
    // Registered: back to the app with state, after the person says yes.
    browser.authorize_as_admin(&authorize_url(&server, &code_request(&id, &[]))).await.redirect();
    let Landing::Page(StatusCode::OK, ask) = browser.visit(&logout("https://app.example.com/bye", &id)).await else {
        panic!("a confirmation page")
    };
    let landed = browser.submit(&ask).await.redirect();
    assert_eq!(landed.as_str(), "https://app.example.com/bye?state=bye-1");
    assert!(!signed_in(&server, &browser, &id).await);
}

#[tokio::test]
async fn logout_with_the_sessions_id_token_needs_no_confirmation() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    let (hint, _) = sign_in_for_id_token(&server, &browser, &id).await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("id_token_hint", hint.as_str()), ("post_logout_redirect_uri", "https://app.example.com/bye")])
        .finish();
    let landed = browser.visit(&server.url(&format!("/identity/connect/endsession?{query}"))).await.redirect();
    assert_eq!(landed.as_str(), "https://app.example.com/bye");
    // An ID token of another session of the same person is not enough.
    let (old_hint, _) = sign_in_for_id_token(&server, &browser, &id).await;
    let again = Browser::new(&server);
    sign_in_for_id_token(&server, &again, &id).await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("id_token_hint", old_hint.as_str()),
            ("post_logout_redirect_uri", "https://app.example.com/bye"),
        ])
        .finish();
    let Landing::Page(StatusCode::OK, ask) =
        again.visit(&server.url(&format!("/identity/connect/endsession?{query}"))).await
    else {
        panic!("a confirmation page")
    };
    assert!(ask.contains("Sign out?"), "{ask}");
}

#[tokio::test]
async fn request_objects_are_refused_to_the_client_and_discovery_says_so() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    for (param, error) in [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")] {
        let url = authorize_url(&server, &code_request(&id, &[(param, "eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6Im8ifQ.")]));
        let landed = browser.visit(&url).await.redirect();
        assert_eq!(Landing::param(&landed, "error").as_deref(), Some(error), "{landed}");
        assert!(Landing::param(&landed, "code").is_none());
    }
    let doc: Value = server.get_json("/identity/.well-known/openid-configuration").await;
    assert_eq!(doc["request_parameter_supported"], false);
    assert_eq!(doc["request_uri_parameter_supported"], false);
}

#[tokio::test]
async fn discovery_cors_revocation_and_introspection() {
    let server = TestServer::start().await;
    let doc: Value = server.get_json("/identity/.well-known/openid-configuration").await;
    assert_eq!(doc["issuer"], format!("{}/identity", server.base));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    // Discovery and JWKS may be read from any origin (protocol.md, CORS).
    for path in ["/identity/.well-known/openid-configuration", "/identity/.well-known/openid-configuration/jwks"] {
        let r =
            server.http.get(server.url(path)).header("Origin", "https://any.example.com").send().await.expect("get");
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
    }
    for key in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "jwks_uri",
    ] {
        assert!(doc[key].as_str().is_some_and(|u| u.starts_with(&server.base)), "{key}");
    }

    let (_, _) =
        register(&server, "AuthorizationCodeClients", json!({ "AllowedCorsOrigins": ["https://spa.example.com"] }))
            .await;
    let preflight = |origin: &'static str| {
        server
            .http
            .request(Method::OPTIONS, server.url("/identity/connect/token"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
    };
    let ok = preflight("https://spa.example.com").await.expect("preflight");
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://spa.example.com");
    let no = preflight("https://evil.example.com").await.expect("preflight");
    assert!(no.headers().get("access-control-allow-origin").is_none());

    let (id, secret) = server.new_machine_client(json!({})).await;
    let token = server.token_for(&id, &secret).await;
    let introspect = |t: String| {
        server
            .http
            .post(server.url("/identity/connect/introspect"))
            .basic_auth(&id, Some(&secret))
            .form(&[("token", t)])
            .send()
    };
    let active: Value = introspect(token.clone()).await.expect("post").json().await.expect("json");
    assert_eq!((active["active"].as_bool(), active["client_id"].as_str()), (Some(true), Some(id.as_str())));
    let inactive: Value = introspect("nonsense".into()).await.expect("post").json().await.expect("json");
    assert_eq!(inactive, json!({ "active": false }));
    // Introspection is for confidential clients: a public one is refused.
    let (spa, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let public = server
        .http
        .post(server.url("/identity/connect/introspect"))
        .form(&[("client_id", spa.as_str()), ("token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(public.status(), StatusCode::BAD_REQUEST);
    assert_eq!(public.json::<Value>().await.expect("json")["error"], "unauthorized_client");
    let revoked = server
        .http
        .post(server.url("/identity/connect/revocation"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", "unknown")])
        .send()
        .await
        .expect("post");
    assert_eq!(revoked.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_password_reset_ends_sessions_and_post_authorize_becomes_a_get() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    browser.authorize_as_admin(&authorize_url(&server, &code_request(&id, &[]))).await.redirect();
    let silent = authorize_url(&server, &code_request(&id, &[("prompt", "none")]));
    assert!(Landing::param(&browser.visit(&silent).await.redirect(), "code").is_some(), "signed in");

    // POST is answered with a 303 to the same request as a GET (which carries the cookie).
    let form: Vec<(&str, &str)> = code_request(&id, &[("prompt", "none")]);
    let posted = browser.http.post(server.url("/identity/connect/authorize")).form(&form).send().await.expect("post");
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    assert!(posted.headers()["location"]
        .to_str()
        .expect("location")
        .starts_with("/identity/connect/authorize?client_id="));

    let (_, users) = server.call(Method::GET, "/Users", None).await;
    let admin = users[0]["Id"].as_str().expect("id").to_owned();
    let (status, _) = server
        .call(Method::PUT, &format!("/Users/{admin}/Password"), Some(json!({ "Password": "a-brand-new-password" })))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after = browser.visit(&silent).await.redirect();
    assert_eq!(Landing::param(&after, "error").as_deref(), Some("login_required"), "the old session ended");
}

#[tokio::test]
async fn a_sign_in_answers_browsers_with_a_page_and_programs_with_a_redirect() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    for browser_says in [Some("navigate"), None] {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let login = http.get(authorize_url(&server, &code_request(&id, &[]))).send().await.expect("authorize");
        let location = login.headers()["location"].to_str().expect("location").to_owned();
        let page = http.get(server.url(&location)).send().await.expect("login").text().await.expect("page");
        let form = [
            ("csrf", crate::browser::hidden(&page, "csrf").expect("csrf")),
            ("tenant", crate::browser::hidden(&page, "tenant").expect("tenant")),
            ("return", crate::browser::hidden(&page, "return").expect("return")),
            ("username", "admin".to_owned()),
            ("password", ADMIN_PASSWORD.to_owned()),
        ];
        let mut post = http.post(server.url("/identity/account/login")).form(&form);
        if let Some(mode) = browser_says {
            post = post.header("Sec-Fetch-Mode", mode);
        }
        let answer = post.send().await.expect("sign in");
        let return_to = crate::browser::hidden(&page, "return").expect("return");
        match browser_says {
            // A browser: a page of ours, whose CSP allows no redirect chain to the app.
            Some(_) => {
                assert_eq!(answer.status(), StatusCode::OK);
                let csp = answer.headers()["content-security-policy"].to_str().expect("csp").to_owned();
                assert!(csp.contains("form-action 'self'") && csp.contains("script-src 'nonce-"), "{csp}");
                let body = answer.text().await.expect("body");
                assert_eq!(crate::browser::continue_link(&body), Some(return_to));
            }
            // A program: the redirect it follows.
            None => {
                assert_eq!(answer.status(), StatusCode::SEE_OTHER);
                assert_eq!(answer.headers()["location"].to_str().expect("location"), return_to);
            }
        }
    }
}

#[tokio::test]
async fn redirect_uris_are_compared_as_the_registered_string() {
    let server = TestServer::start().await;
    let registered = "http://127.0.0.1:9/cb";
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({ "RedirectUris": [registered] })).await;
    let browser = Browser::new(&server);
    // RFC 9700 §4.1.3: nothing a URL parser would forgive matches; each is our 400 page, not a
    // redirect and not a server error.
    for presented in [
        "\thttp://127.0.0.1:9/cb",
        "\0http://127.0.0.1:9/cb",
        "http://127.0.0.1:9/cb ",
        "http://127.0.0.1:9/x/../cb",
        "http://127.0.0.1:9/c%09b",
    ] {
        let url = authorize_url(&server, &code_request(&id, &[("redirect_uri", presented)]));
        let Landing::Page(status, _) = browser.visit(&url).await else { panic!("{presented:?} was redirected to") };
        assert_eq!(status, StatusCode::BAD_REQUEST, "{presented:?}");
    }
    // RFC 8252 §7.3: the loopback IP literal on another port is the one exception.
    let url = authorize_url(&server, &code_request(&id, &[("redirect_uri", "http://127.0.0.1:51234/cb")]));
    let Landing::Page(StatusCode::OK, page) = browser.visit(&url).await else { panic!("the sign-in page") };
    assert!(page.contains("name=\"password\""));
}

#[tokio::test]
async fn oversized_state_nonce_and_authorize_bodies_are_refused() {
    let server = TestServer::start().await;
    let (id, _) = register(&server, "AuthorizationCodeClients", json!({})).await;
    let browser = Browser::new(&server);
    let long = "x".repeat(3000);
    // A long state goes back to the client as an error, without the state itself.
    let landed = browser.visit(&authorize_url(&server, &code_request(&id, &[("state", &long)]))).await.redirect();
    assert_eq!(Landing::param(&landed, "error").as_deref(), Some("invalid_request"));
    assert!(Landing::param(&landed, "state").is_none() && landed.as_str().len() < 1000, "{landed}");
    // A long nonce too, with the state.
    let landed = browser.visit(&authorize_url(&server, &code_request(&id, &[("nonce", &long)]))).await.redirect();
    assert_eq!(Landing::param(&landed, "error").as_deref(), Some("invalid_request"));
    assert_eq!(Landing::param(&landed, "state").as_deref(), Some("s-123"));
    // A POST is not turned into a 20 KB Location.
    let body = format!("client_id={id}&padding={}", "y".repeat(20 * 1024));
    let response = server
        .http
        .post(server.url("/identity/connect/authorize"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn over_https_the_cookies_are_secure_and_the_csrf_cookie_host_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_with(dir.path(), &[("GATEHOUSE_PUBLIC_URL", "https://id.example.com")]).await;
    let page = server.http.get(server.url("/identity/account/login")).send().await.expect("login");
    let set = page.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    assert!(set.starts_with("__Host-gatehouse_csrf="), "{set}");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/;"] {
        assert!(set.contains(attr) || (attr == "Path=/;" && set.ends_with("Path=/")), "{attr} in {set}");
    }
    assert!(!set.contains("Domain"), "{set}");
}
