//! The vendor's own Python client library (`adh_sample_library_preview`, unmodified) against
//! the real server: `tests/python/adh_library.py` drives its Roles and Users services and its
//! BaseClient. `bash .ci/run` installs the library into `target/pyenv`.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::{against, TestServer};

/// The library's version that `.ci/run` pins.
const LIBRARY: &str = "adh_sample_library_preview==0.10.19rc0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn the_vendors_python_library_works_unmodified() {
    let python = root().join("target/pyenv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: the vendor's Python library is installed by `bash .ci/run`, or by hand with \
         `python3 -m venv target/pyenv && target/pyenv/bin/pip install {LIBRARY}`",
        python.display()
    );
    let server = TestServer::start().await;
    let mut cmd = tokio::process::Command::new(&python);
    let run = against(cmd.arg(root().join("tests/python/adh_library.py")), &server).output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the Python script did not finish within 120 s")
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'adh_sample_library_preview'"),
        "the library is not installed in target/pyenv: run `bash .ci/run`, or \
         `target/pyenv/bin/pip install {LIBRARY}`"
    );
    assert!(output.status.success(), "the library's script failed:\n{stdout}\n{stderr}");
    for part in ["roles: ok", "users: ok", "clients: ok"] {
        assert!(stdout.contains(part), "{part} missing from:\n{stdout}");
    }
}
