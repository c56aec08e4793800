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
