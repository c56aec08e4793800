//! Health for load balancers: no credentials, a word, no details.

use reqwest::StatusCode;

use crate::support::TestServer;

#[tokio::test]
async fn live_and_ready_answer_without_credentials_and_without_details() {
    let server = TestServer::start().await;
    for (path, word) in [("/health/live", "live"), ("/health/ready", "ready")] {
        let response = server.http.get(server.url(path)).send().await.expect("get");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.text().await.expect("body"), word);
        let head = server.http.head(server.url(path)).send().await.expect("head");
        assert_eq!(head.status(), StatusCode::OK, "HEAD {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_while_the_database_is_gone_and_says_nothing_more() {
    let Some(db) = gatehouse_store_postgres::testing::TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db.url().to_owned();
    let server = TestServer::start_with(dir.path(), &[("GATEHOUSE_DATABASE", &url)]).await;
    let ready = || async { server.http.get(server.url("/health/ready")).send().await.expect("get") };
    assert_eq!(ready().await.status(), StatusCode::OK);
    // The database goes away (dropped, its connections ended).
    drop(db);
    let response = ready().await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.text().await.expect("body"), "not ready");
    let live = server.http.get(server.url("/health/live")).send().await.expect("live");
    assert_eq!(live.status(), StatusCode::OK, "the process still serves");
}
