//! A log destination that fails (a full disk, a closed pipe) loses log lines, never requests;
//! and no secret, password, token or code ever reaches the log (protocol.md, Security floor).

use std::process::Stdio;
use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::browser::{hidden, Browser, Landing};
use crate::flows::{offline_authorize_url, token, APP, VERIFIER};
use crate::support::{TestServer, ADMIN_PASSWORD, BOOT_ID, BOOT_SECRET};

const BYE: &str = "https://app.example.com/bye";

async fn serves_with_its_log_broken(stderr: Stdio) {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("GATEHOUSE_LOG", "debug"),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOT_SECRET),
        ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let server = TestServer::start_logging_to(dir.path(), &env, stderr).await;
    for _ in 0..50 {
        let discovery = server.http.get(server.url("/identity/.well-known/openid-configuration")).send().await;
        assert_eq!(discovery.expect("the connection stays up").status(), StatusCode::OK);
        server.admin_token().await;
        let refused = server.client_credentials(BOOT_ID, "wrong-secret-wrong-secret-wrong-secret").await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_full_disk_under_the_log_loses_lines_not_requests() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    serves_with_its_log_broken(Stdio::from(full)).await;
}

#[tokio::test]
async fn a_closed_log_pipe_loses_lines_not_requests() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    serves_with_its_log_broken(Stdio::from(writer)).await;
}

#[tokio::test]
async fn a_body_trickled_a_byte_a_second_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let mut stream = tokio::net::TcpStream::connect(server.listen()).await.expect("connect");
    stream
        .write_all(
            b"POST /identity/connect/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
        )
        .await
        .expect("head");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut byte = [0u8; 1024];
    loop {
        // One byte a second, as a slow-loris client sends; the server ends it.
        let _ = stream.write_all(b"a").await;
        match tokio::time::timeout(std::time::Duration::from_secs(1), stream.read(&mut byte)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&byte[..n]),
            Err(_) => {}
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the connection was never cut off");
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// Every credential that crossed the wire in a test, by what it was, to look for in a log.
#[derive(Default)]
struct Crossed(Vec<(String, String)>);

impl Crossed {
    fn add(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 16, "{what} is too short to look for: {value:?}");
        self.0.push((what.to_owned(), value.to_owned()));
    }

    /// A client's id and secret, and the Basic credentials they make.
    fn client(&mut self, what: &str, id: &str, secret: &str) {
        use base64::Engine;
        self.add(what, secret);
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        self.add(&format!("{what} as Basic credentials"), &basic);
    }

    /// `what`'s fields of a token response.
    fn tokens(&mut self, what: &str, response: &Value) {
        for field in ["access_token", "refresh_token", "id_token"] {
            if let Some(value) = response[field].as_str() {
                self.add(&format!("{what} {field}"), value);
            }
        }
    }

    /// The cookies `jar` holds for `server`: the CSRF and session cookies.
    fn cookies(&mut self, what: &str, server: &TestServer, jar: &reqwest::cookie::Jar) {
        use reqwest::cookie::CookieStore;
        let url = url::Url::parse(&server.url("/identity/connect/authorize")).expect("url");
        let header = jar.cookies(&url).expect("cookies");
        for pair in header.to_str().expect("ascii").split("; ") {
            let (name, value) = pair.split_once('=').expect("name=value");
            self.add(&format!("{what} cookie {name}"), value);
        }
    }

    /// What must not appear: each value whole, its first and its last 16 characters. (Our JWTs
    /// share their first 16 characters, the header: any JWT in the log is caught by each.)
    fn fragments(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().flat_map(|(what, value)| {
            let tail = &value[value.len() - 16..];
            [value.as_str(), &value[..16], tail].map(|f| (what.as_str(), f))
        })
    }
}

/// The administrator's request with `token`: status and JSON body (Null for none).
async fn admin(server: &TestServer, token: &str, method: Method, rest: &str, body: Value) -> (StatusCode, Value) {
    let mut request = server.http.request(method.clone(), server.api(rest)).bearer_auth(token);
    if method != Method::GET {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin request");
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json") })
}

/// A token request of `client` (id, secret), authenticated in the body.
async fn token_in_body(server: &TestServer, client: (&str, &str), form: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = form.to_vec();
    form.extend([("client_id", client.0), ("client_secret", client.1)]);
    token(server, &form).await
}

/// Signs `user` in with `password` in a browser whose cookies `jar` keeps; answers the code.
async fn sign_in(server: &TestServer, jar: &Arc<Jar>, client: &str, user: &str, password: &str) -> (String, String) {
    let browser = Browser::with_jar(server, Arc::clone(jar));
    let Landing::Page(StatusCode::OK, page) = browser.visit(&offline_authorize_url(server, client)).await else {
        panic!("the sign-in page")
    };
    let csrf = hidden(&page, "csrf").expect("csrf");
    let landed = browser.sign_in(&page, user, password).await.redirect();
    (Landing::param(&landed, "code").expect("code"), csrf)
}

#[tokio::test]
async fn nothing_secret_that_crossed_the_wire_reaches_the_log_at_the_most_verbose_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("stderr.log");
    let env = [
        ("GATEHOUSE_LOG", "trace"),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOT_SECRET),
        ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let stderr = std::fs::File::create(&log).expect("log file");
    let server = TestServer::start_logging_to(dir.path(), &env, Stdio::from(stderr)).await;
    let mut crossed = Crossed::default();
    crossed.client("bootstrap secret", BOOT_ID, BOOT_SECRET);
    crossed.add("administrator password", ADMIN_PASSWORD);
    let admin_token = server.admin_token().await;
    crossed.add("administrator's access token", &admin_token);

    // Admin API: a machine client, its secret shown once, and a second secret.
    let (status, created) =
        admin(&server, &admin_token, Method::POST, "/ClientCredentialClients", json!({ "Name": "m" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let machine = created["Client"]["Id"].as_str().expect("id").to_owned();
    let first = created["Secret"].as_str().expect("secret").to_owned();
    crossed.client("machine secret", &machine, &first);
    let secrets = format!("/ClientCredentialClients/{machine}/Secrets");
    let (status, added) = admin(&server, &admin_token, Method::POST, &secrets, json!({ "Expires": false })).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let second = added["Secret"].as_str().expect("secret").to_owned();
    crossed.add("second machine secret", &second);

    // client_credentials: Basic, in the body, and a wrong secret.
    crossed.add("machine token", &server.token_for(&machine, &first).await);
    let (status, body) =
        token(&server, &[("grant_type", "client_credentials"), ("client_id", &machine), ("client_secret", &second)])
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    crossed.tokens("machine (secret in the body)", &body);
    let wrong = "wrong-secret-0123456789-wrong-secret-0123456789";
    assert_eq!(server.client_credentials(&machine, wrong).await.status(), StatusCode::UNAUTHORIZED);
    crossed.client("wrong machine secret", &machine, wrong);

    // A Hybrid client, and a user created with a password.
    let hybrid_body = json!({
        "Name": "web", "RedirectUris": [APP], "PostLogoutRedirectUris": [BYE], "AllowOfflineAccess": true,
    });
    let (status, created) = admin(&server, &admin_token, Method::POST, "/HybridClients", hybrid_body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let web = created["Client"]["Id"].as_str().expect("id").to_owned();
    let web_secret = created["Secret"].as_str().expect("secret").to_owned();
    crossed.client("web secret", &web, &web_secret);
    let first_password = "alice-first-password-7f3a9c21";
    let user = json!({ "UserName": "alice", "Password": first_password, "Email": "alice@example.com" });
    let (status, alice) = admin(&server, &admin_token, Method::POST, "/Users", user.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{alice}");
    let alice = alice["Id"].as_str().expect("id").to_owned();
    crossed.add("alice's first password", first_password);
    // Refusals log their reason: never the password beside it.
    let (status, _) = admin(&server, &admin_token, Method::POST, "/Users", user).await;
    assert_eq!(status, StatusCode::CONFLICT, "the user name is taken");
    let refused = "refused-password-93c0e5a1";
    let body = json!({ "Password": refused, "Colour": "red" });
    let (status, _) = admin(&server, &admin_token, Method::PUT, &format!("/Users/{alice}/Password"), body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown property");
    crossed.add("a refused password", refused);

    // Authorization code + PKCE, after a wrong password.
    let jar = Arc::new(Jar::default());
    let browser = Browser::with_jar(&server, Arc::clone(&jar));
    let Landing::Page(StatusCode::OK, page) = browser.visit(&offline_authorize_url(&server, &web)).await else {
        panic!("the sign-in page")
    };
    crossed.add("CSRF token", &hidden(&page, "csrf").expect("csrf"));
    let typo = "alice-first-passwrod-7f3a9c21";
    let Landing::Page(StatusCode::UNAUTHORIZED, page) = browser.sign_in(&page, "alice", typo).await else {
        panic!("a wrong password is refused")
    };
    crossed.add("alice's mistyped password", typo);
    crossed.add("second CSRF token", &hidden(&page, "csrf").expect("csrf"));
    let landed = browser.sign_in(&page, "alice", first_password).await.redirect();
    let code = Landing::param(&landed, "code").expect("code");
    crossed.add("authorization code", &code);
    crossed.add("PKCE verifier", VERIFIER);
    crossed.cookies("alice's browser", &server, &jar);
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP),
        ("code_verifier", VERIFIER),
    ];
    let response = server
        .http
        .post(server.url("/identity/connect/token"))
        .basic_auth(&web, Some(&web_secret))
        .form(&exchange)
        .send()
        .await
        .expect("exchange");
    assert_eq!(response.status(), StatusCode::OK);
    let issued: Value = response.json().await.expect("json");
    crossed.tokens("code exchange", &issued);

    // Refresh, userinfo (header and form), introspection, revocation.
    let client = (web.as_str(), web_secret.as_str());
    let refresh_token = issued["refresh_token"].as_str().expect("refresh token");
    let (status, refreshed) =
        token_in_body(&server, client, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    crossed.tokens("refresh", &refreshed);
    let access = refreshed["access_token"].as_str().expect("access token").to_owned();
    let latest_refresh = refreshed["refresh_token"].as_str().expect("refresh token").to_owned();
    let userinfo = server.url("/identity/connect/userinfo");
    let info = server.http.get(&userinfo).bearer_auth(&access).send().await.expect("userinfo");
    assert_eq!(info.status(), StatusCode::OK);
    let info = server.http.post(&userinfo).form(&[("access_token", &access)]).send().await.expect("userinfo");
    assert_eq!(info.status(), StatusCode::OK);
    let mut forged = access.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let info = server.http.get(&userinfo).bearer_auth(&forged).send().await.expect("userinfo");
    assert_eq!(info.status(), StatusCode::UNAUTHORIZED);
    for presented in [&access, &latest_refresh] {
        let answer = server
            .http
            .post(server.url("/identity/connect/introspect"))
            .basic_auth(&web, Some(&web_secret))
            .form(&[("token", presented)])
            .send()
            .await
            .expect("introspect");
        assert_eq!(answer.json::<Value>().await.expect("json")["active"], true);
    }
    let revoked = server
        .http
        .post(server.url("/identity/connect/revocation"))
        .basic_auth(&web, Some(&web_secret))
        .form(&[("token", &latest_refresh)])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::OK);
    let form = [("grant_type", "refresh_token"), ("refresh_token", latest_refresh.as_str())];
    let (status, _) = token_in_body(&server, client, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a revoked refresh token");

    // End session with the ID token as the hint: straight back to the app.
    let id_token = refreshed["id_token"].as_str().expect("id token");
    let logout = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("id_token_hint", id_token), ("post_logout_redirect_uri", BYE), ("state", "bye")])
        .finish();
    let landed = browser.visit(&server.url(&format!("/identity/connect/endsession?{logout}"))).await.redirect();
    assert!(landed.as_str().starts_with(BYE), "{landed}");

    // A password reset, a sign-in with the new password, and that code presented twice.
    let second_password = "alice-second-password-5e81b0d4";
    let reset = format!("/Users/{alice}/Password");
    let (status, body) =
        admin(&server, &admin_token, Method::PUT, &reset, json!({ "Password": second_password })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    crossed.add("alice's second password", second_password);
    let jar = Arc::new(Jar::default());
    let (code, csrf) = sign_in(&server, &jar, &web, "alice", second_password).await;
    crossed.add("third CSRF token", &csrf);
    crossed.add("second authorization code", &code);
    crossed.cookies("alice's second browser", &server, &jar);
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP),
        ("code_verifier", VERIFIER),
    ];
    let (status, issued) = token_in_body(&server, client, &exchange).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    crossed.tokens("second code exchange", &issued);
    assert_eq!(token_in_body(&server, client, &exchange).await.0, StatusCode::BAD_REQUEST, "a code is used once");

    // A password of the wrong JSON type: the 400 names the property and may quote the value
    // back to the caller, but the log must not.
    for (what, wrong) in [
        ("a password as a number", json!(7_340_215_998_104_117_u64)),
        ("a password in a list", json!(["mistyped-password-8f2e61c0a9"])),
        ("a password as a boolean field's value", json!("enabled-password-4c1d9b7e20")),
    ] {
        let body = if what.contains("boolean") {
            json!({ "UserName": "mallory", "Enabled": wrong })
        } else {
            json!({ "UserName": "mallory", "Password": wrong })
        };
        let (status, refused) = admin(&server, &admin_token, Method::POST, "/Users", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {refused}");
        let text = match &wrong {
            Value::Array(items) => items[0].as_str().unwrap_or_default().to_owned(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        crossed.add(what, &text);
    }

    let printed = Arc::clone(&server.printed);
    let banner = server.banner.clone();
    server.stop().await;
    let logged = std::fs::read_to_string(&log).expect("log");
    // The log is there, at its most verbose, with a line per request.
    assert!(logged.contains(" TRACE ") && logged.contains(" DEBUG "), "not verbose:\n{logged}");
    let access = |l: &&str| l.contains("gatehouse::access") && l.contains("\"/identity/connect/introspect\"");
    assert!(logged.lines().filter(access).any(|l| l.contains("status=200")), "{logged}");
    let printed = printed.lock().expect("printed").clone();
    let output = [banner, printed].concat().join("\n") + "\n" + &logged;
    for (what, fragment) in crossed.fragments() {
        if let Some(line) = output.lines().find(|l| l.contains(fragment)) {
            panic!("{what} ({fragment}) is in the output: {line}");
        }
    }
}
