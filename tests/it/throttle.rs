//! The sign-in throttle: every attempt is counted before its password is checked, in the
//! store, so neither many attempts at once nor several instances get more checks than the
//! limits (5 per user name, 50 per address, in 15 minutes).

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::browser::{Browser, Landing};
use crate::support::{TestServer, ADMIN_PASSWORD};

/// A fresh browser's sign-in attempt as `user`: the status of the answer.
async fn attempt(server: &TestServer, user: &str, password: &str) -> StatusCode {
    let browser = Browser::new(server);
    let Landing::Page(StatusCode::OK, page) = browser.visit(&server.url("/identity/account/login")).await else {
        panic!("the sign-in page")
    };
    match browser.sign_in(&page, user, password).await {
        Landing::Page(status, _) => status,
        Landing::Redirect(url) => panic!("unexpected redirect to {url}"),
    }
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
