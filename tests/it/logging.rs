//! A log destination that fails (a full disk, a closed pipe) loses log lines, never requests.

use std::process::Stdio;

use reqwest::StatusCode;

use crate::support::{TestServer, ADMIN_PASSWORD, BOOT_ID, BOOT_SECRET};

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
