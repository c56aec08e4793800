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
