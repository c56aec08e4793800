//! Property-based testing of the admin API from its own OpenAPI document: schemathesis
//! (pinned in `.ci/run`, installed in `target/pyenv`) generates requests for every operation
//! and fails on any 5xx and on any answer that contradicts the document (its status, content
//! type, headers or body). Short here (`GATEHOUSE_SCHEMATHESIS_EXAMPLES`, default 25 per
//! operation); the long run's figures are in docs/security.md.

use std::path::PathBuf;
use std::time::Duration;

use crate::openapi::pyenv_tool;
use crate::support::{against, TestServer};

/// The checks that make the run fail (schemathesis's names).
pub const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                          response_headers_conformance,response_schema_conformance";

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_contradiction_of_the_document() {
    let schemathesis = pyenv_tool("schemathesis");
    let examples = std::env::var("GATEHOUSE_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into());
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    let server = TestServer::start().await;
    let work = tempfile::tempdir().expect("tempdir");
    let mut cmd = tokio::process::Command::new(schemathesis);
    cmd.current_dir(work.path())
        .arg("--config-file")
        .arg(config.join("schemathesis.toml"))
        .args(["run", &server.url("/api/openapi.json"), "--checks", CHECKS])
        .args(["--max-examples", &examples, "--workers", "1", "--seed", "1", "--no-color"])
        .args(["--generation-database", "none", "--request-timeout", "15"])
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", &config);
    let run = against(&mut cmd, &server).output();
    let output = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis did not finish within 600 s")
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "schemathesis found problems:\n{stdout}\n{stderr}");
}
