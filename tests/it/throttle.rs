//! The sign-in throttle: every attempt is counted before its password is checked, in the
//! store, so neither many attempts at once nor several instances get more checks than the
//! limits (5 per user name, 50 per address, in 15 minutes).

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::browser::{hidden, Browser, Landing};
use crate::support::{TestServer, ADMIN_PASSWORD};

/// A fresh browser's sign-in attempt as `user`: the status of the answer.
async fn attempt(server: &TestServer, user: &str, password: &str) -> StatusCode {
    attempt_page(server, user, password).await.0
}

/// A fresh browser's sign-in attempt as `user`: the status and the page it ends on.
async fn attempt_page(server: &TestServer, user: &str, password: &str) -> (StatusCode, String) {
    let browser = Browser::new(server);
    let Landing::Page(StatusCode::OK, page) = browser.visit(&server.url("/identity/account/login")).await else {
        panic!("the sign-in page")
    };
    match browser.sign_in(&page, user, password).await {
        Landing::Page(status, page) => (status, page),
        Landing::Redirect(url) => panic!("unexpected redirect to {url}"),
    }
}

/// A sign-in attempt through a load balancer that says the client is `client`.
async fn attempt_via_balancer(server: &TestServer, user: &str, client: &str) -> StatusCode {
    let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let page = http.get(server.url("/identity/account/login")).send().await.expect("get").text().await.expect("page");
    let form = [
        ("csrf", hidden(&page, "csrf").expect("csrf")),
        ("tenant", String::new()),
        ("return", String::new()),
        ("username", user.to_owned()),
        ("password", "wrong-password".to_owned()),
    ];
    let response = http
        .post(server.url("/identity/account/login"))
        .header("X-Forwarded-For", format!("203.0.113.66, {client}"))
        .form(&form)
        .send()
        .await
        .expect("post");
    response.status()
}

/// As [`attempt_via_balancer`], coming back after a 503 (the password threads were busy) as
/// its `Retry-After` asks, until the attempt is checked.
async fn checked_attempt_via_balancer(server: &TestServer, user: &str, client: &str) -> StatusCode {
    loop {
        match attempt_via_balancer(server, user, client).await {
            StatusCode::SERVICE_UNAVAILABLE => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            checked => return checked,
        }
    }
}

#[tokio::test]
async fn behind_a_trusted_balancer_each_client_address_has_its_own_counter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"), ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD)];
    let server = TestServer::start_with(dir.path(), &env).await;
    // 50 failures from one client (over many user names) use up its address's share.
    let statuses = join_all((0..50).map(|i| {
        let user = format!("user-{i}");
        let server = &server;
        async move { checked_attempt_via_balancer(server, &user, "198.51.100.1").await }
    }))
    .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert_eq!(attempt_via_balancer(&server, "another", "198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same balancer is not blocked by it; the address the client
    // wrote itself (left of the balancer's) counts for nothing.
    assert_eq!(attempt_via_balancer(&server, "another", "198.51.100.2").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forty_wrong_passwords_at_once_get_five_checks() {
    let server = TestServer::start().await;
    let statuses = join_all((0..40).map(|_| attempt(&server, "admin", "wrong-password"))).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, throttled), (5, 35), "{statuses:?}");
    // Even the right password waits now.
    assert_eq!(attempt(&server, "ADMIN", ADMIN_PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
    // Another user name from the same address is not blocked by this one.
    assert_eq!(attempt(&server, "someone-else", "wrong-password").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_sixth_failure_in_a_row_is_throttled_and_a_success_starts_the_count_again() {
    let server = TestServer::start().await;
    for n in 1..=4 {
        let (status, page) = attempt_page(&server, "admin", "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
        assert!(page.contains("The user name or password is incorrect."), "attempt {n}: {page}");
    }
    // A success clears the user name's count: five more failures are each checked.
    let (status, page) = attempt_page(&server, "admin", ADMIN_PASSWORD).await;
    assert!(status == StatusCode::OK && page.contains("You are signed in."), "{status}: {page}");
    for n in 1..=5 {
        assert_eq!(attempt(&server, "admin", "wrong-password").await, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let (status, page) = attempt_page(&server, "admin", "wrong-password").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "attempt 6");
    assert!(page.contains("Too many failed attempts. Wait a few minutes, then try again."), "{page}");
}

#[tokio::test]
async fn the_throttle_is_shared_by_instances_on_one_database() {
    let first = TestServer::start().await;
    let second = TestServer::start_with(&first.dir, &[]).await;
    for _ in 0..5 {
        assert_eq!(attempt(&first, "admin", "wrong-password").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attempt(&second, "admin", ADMIN_PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_overlong_user_name_is_refused_before_anything_is_counted() {
    let server = TestServer::start().await;
    let long = "a".repeat(129);
    for _ in 0..6 {
        assert_eq!(attempt(&server, &long, "whatever").await, StatusCode::UNAUTHORIZED);
    }
    // A success clears its user name, so sign-ins go on.
    for _ in 0..6 {
        assert_eq!(attempt(&server, "admin", ADMIN_PASSWORD).await, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_sign_ins_keep_memory_bounded_and_discovery_answering() {
    // Each attempt from its own address and user name, so the throttle does not hide the work.
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"), ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD)];
    let server = TestServer::start_with(dir.path(), &env).await;
    let before = server.rss_mib();
    let mut after_first = None;
    let mut statuses = Vec::new();
    for burst in 0..4 {
        let attempts = join_all((0..40).map(|i| {
            let server = &server;
            async move {
                let client = format!("198.51.{burst}.{}", i + 1);
                attempt_via_balancer(server, &format!("user-{burst}-{i}"), &client).await
            }
        }));
        let discovery = async {
            let started = std::time::Instant::now();
            let answer = server.http.get(server.url("/identity/.well-known/openid-configuration")).send().await;
            (answer.expect("discovery").status(), started.elapsed())
        };
        let (done, (status, took)) = tokio::join!(attempts, discovery);
        assert_eq!(status, StatusCode::OK);
        assert!(took < std::time::Duration::from_secs(2), "discovery waited {took:?} behind the sign-ins");
        statuses.extend(done);
        after_first.get_or_insert_with(|| server.rss_mib());
    }
    // Each attempt was checked (401) or told to come back (503 with Retry-After), never lost.
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    // The password threads reuse their memory: after the first burst it stays where it is
    // (it was 2.8 GiB after these four bursts when every blocking thread could hash).
    let (first, after) = (after_first.unwrap_or(before), server.rss_mib());
    eprintln!("resident memory: {before} MiB at the start, {first} after the first burst, {after} after four");
    assert!(after <= first + 32, "memory grew from {first} MiB after the first burst to {after} MiB");
    // One argon2 memory (19 MiB) per password thread, one thread per core, and a little more;
    // within the ~150 MB the hardening issue allows in any case (measured here: +43 MiB on
    // 2 cores, where it was +176 MiB when each check allocated its own memory).
    let cores = std::thread::available_parallelism().map_or(2, usize::from) as u64;
    let bound = (20 * cores + 40).min(150);
    assert!(after <= before + bound, "resident memory went from {before} MiB to {after} MiB (bound +{bound})");
}
