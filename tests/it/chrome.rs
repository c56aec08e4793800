//! Headless Chromium driven over WebDriver (chromedriver), for every page we serve: the
//! console, and the sign-in, logout and form_post pages as apps on other origins meet them.
//! `.ci/run` installs Debian's `chromium` and `chromium-driver`; set `CHROMEDRIVER` to use
//! another driver binary, `CHROMIUM` another browser.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::process::{Child, Command};

pub struct Chrome {
    driver: Child,
    _profile: tempfile::TempDir,
    pub client: Client,
}

impl Drop for Chrome {
    /// chromedriver starts Chromium as its child, in its process group: the whole group
    /// ends with the test (whether it passed or panicked), or every test would leave a
    /// browser behind.
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

pub async fn chrome() -> Chrome {
    // fantoccini's TLS stack needs a process-wide provider; chromedriver itself is plain http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    // Port 0: chromedriver binds a free port itself and names it, so no other process can
    // take it between our choosing and its binding.
    let mut driver = Command::new(&driver_bin)
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {driver_bin} ({e}): install chromium and chromium-driver (see .ci/run)")
        });
    let port = driver_port(&mut driver).await;
    let profile = tempfile::tempdir().expect("profile");
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let caps = json!({
        "goog:chromeOptions": {
            "binary": binary,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,860", format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let caps = caps.as_object().expect("object").clone();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if let Ok(client) = ClientBuilder::rustls().expect("tls").capabilities(caps.clone()).connect(&url).await {
            return Chrome { driver, _profile: profile, client };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url}");
}

/// The port chromedriver says it listens on ("... started successfully on port N.").
async fn driver_port(driver: &mut Child) -> u16 {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut lines = BufReader::new(driver.stdout.take().expect("stdout")).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("on port ").nth(1).filter(|_| line.contains("started successfully")) {
                return rest.trim_end_matches('.').trim().parse().ok();
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("chromedriver did not say which port it listens on");
    // Keep reading, so that chromedriver never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    port
}

pub async fn shot(c: &Client, name: &str) {
    if std::env::var_os("GATEHOUSE_SCREENSHOTS").is_none() {
        return;
    }
    let png = c.screenshot().await.expect("screenshot");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write");
}

pub async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

pub async fn fill(c: &Client, css: &str, text: &str) {
    let field = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

/// Waits until the element has non-empty text, and answers it.
pub async fn text_of(c: &Client, css: &str) -> String {
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                if !t.trim().is_empty() {
                    return t.trim().to_owned();
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} stayed empty");
}
