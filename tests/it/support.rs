//! `TestServer`: the real `gatehouse` binary on `127.0.0.1:0` with a fresh database,
//! driven over HTTP. Each test starts its own; nothing is shared between tests.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BOOT_ID: &str = "0b0075f2-0000-4000-8000-00000000b007";
pub const BOOT_SECRET: &str = "bootstrap-secret-for-tests-only-0123456789";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

pub struct TestServer {
    child: Child,
    pub base: String,
    pub tenant: String,
    /// Everything the server printed on stdout before it listened.
    pub banner: Vec<String>,
    /// Every line printed on stdout after the banner.
    pub printed: Arc<Mutex<Vec<String>>>,
    pub dir: PathBuf,
    _tmp: Option<TempDir>,
    pub http: Client,
}

impl TestServer {
    /// A fresh server with the bootstrap client configured.
    pub async fn start() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut server = Self::start_with(
            &dir,
            &[
                ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID),
                ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOT_SECRET),
                ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ],
        )
        .await;
        server._tmp = Some(tmp);
        server
    }

    /// A server on the database in `dir`, with extra environment.
    pub async fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        Self::start_logging_to(dir, env, Stdio::inherit()).await
    }

    /// As [`TestServer::start_with`], its log (standard error) going to `stderr`.
    pub async fn start_logging_to(dir: &std::path::Path, env: &[(&str, &str)], stderr: Stdio) -> Self {
        Self::start_command(dir, &[], env, stderr).await
    }

    /// As [`TestServer::start_logging_to`], with command-line arguments (`serve --config F`).
    pub async fn start_command(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.args(args)
            .env_clear()
            .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
            .env("GATEHOUSE_DATABASE", dir.join("gatehouse.db"))
            .env("GATEHOUSE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn gatehouse");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                banner.push(line.clone());
                if let Some(rest) = line.strip_prefix("gatehouse: listening on ") {
                    return rest.split(' ').next().expect("url").to_owned();
                }
            }
            panic!("gatehouse exited before listening: {banner:?}");
        })
        .await
        .expect("gatehouse did not start within 60 s");
        // Keep draining stdout so the server never blocks on a full pipe.
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&printed);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().expect("printed").push(line);
            }
        });
        let http = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client");
        let tenant = String::new();
        let mut server = Self { child, base, tenant, banner, printed, dir: dir.to_path_buf(), _tmp: None, http };
        let given = env.iter().find(|(k, _)| *k == "GATEHOUSE_TENANT_ID").map(|(_, v)| (*v).to_owned());
        server.tenant = match given {
            Some(t) => t,
            None => server.find_tenant().await,
        };
        server
    }

    /// The `host:port` the server listens on, to restart another on the same address.
    pub fn listen(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    async fn find_tenant(&self) -> String {
        if let Some(line) = self.banner.iter().find_map(|l| l.strip_prefix("gatehouse: first start, created tenant ")) {
            return line.trim().to_owned();
        }
        // A restart prints no banner: read the tenant from a token.
        let token = self.token_for(BOOT_ID, BOOT_SECRET).await;
        claims(&token)["tid"].as_str().expect("tid").to_owned()
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// The server process's resident memory, in MiB (Linux: `/proc/<pid>/status`).
    pub fn rss_mib(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kib / 1024
    }

    /// Stops the server; its database stays in `dir`.
    pub async fn stop(mut self) -> Option<TempDir> {
        let _ = self.child.kill().await;
        self._tmp.take()
    }

    /// Stops the server and starts another on the same database and with the same issuer,
    /// listening on a new port: the old port may be taken by another test by then. The
    /// issuer is kept by pinning the public URL to the old address (tokens carry it).
    pub async fn restart(self) -> Self {
        let (dir, public_url) = (self.dir.clone(), self.base.clone());
        let tmp = self.stop().await;
        let mut server = Self::start_with(&dir, &[("GATEHOUSE_PUBLIC_URL", &public_url)]).await;
        server._tmp = tmp;
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `/api/v1/Tenants/{tenant}` + `rest`.
    pub fn api(&self, rest: &str) -> String {
        self.url(&format!("/api/v1/Tenants/{}{rest}", self.tenant))
    }

    /// `GET path` (no credentials) as JSON, whatever the status.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.http.get(self.url(path)).send().await.expect("get").json().await.expect("json body")
    }

    /// A client-credentials token, asserting success.
    pub async fn token_for(&self, id: &str, secret: &str) -> String {
        let response = self.client_credentials(id, secret).await;
        assert_eq!(response.status(), StatusCode::OK, "token for {id}");
        response.json::<Value>().await.expect("json")["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn client_credentials(&self, id: &str, secret: &str) -> Response {
        self.http
            .post(self.url("/identity/connect/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request")
    }

    /// The bootstrap client's token: Tenant Administrator.
    pub async fn admin_token(&self) -> String {
        self.token_for(BOOT_ID, BOOT_SECRET).await
    }

    pub async fn as_admin(&self, method: Method, rest: &str) -> RequestBuilder {
        self.http.request(method, self.api(rest)).bearer_auth(self.admin_token().await)
    }

    /// Sends `body` as the administrator; answers status and JSON (Null for no body).
    pub async fn call(&self, method: Method, rest: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.as_admin(method, rest).await;
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json body") })
    }

    /// Creates a client-credentials client and answers (id, secret).
    /// An access token of a new ClientCredential client made with `extra`.
    pub async fn machine_token(&self, extra: Value) -> String {
        let (id, secret) = self.new_machine_client(extra).await;
        self.token_for(&id, &secret).await
    }

    pub async fn new_machine_client(&self, extra: Value) -> (String, String) {
        let mut body = json!({ "Name": "machine" });
        merge(&mut body, extra);
        let (status, created) = self.call(Method::POST, "/ClientCredentialClients", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        (
            created["Client"]["Id"].as_str().expect("id").to_owned(),
            created["Secret"].as_str().expect("secret").to_owned(),
        )
    }
}

/// `cmd`, a Python program of the vendor's or a tool, pointed at `server` as the bootstrap
/// client (`GATEHOUSE_URL`, `_TENANT`, `_CLIENT_ID`, `_CLIENT_SECRET`), straight to the test
/// server whatever proxy the environment names, and killed with its handle.
pub fn against<'a>(cmd: &'a mut Command, server: &TestServer) -> &'a mut Command {
    cmd.env("GATEHOUSE_URL", &server.base)
        .env("GATEHOUSE_TENANT", &server.tenant)
        .env("GATEHOUSE_CLIENT_ID", BOOT_ID)
        .env("GATEHOUSE_CLIENT_SECRET", BOOT_SECRET)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .kill_on_drop(true)
}

/// Runs the binary to its end (it must end within 60 s) with only `env` set: the commands
/// that do not serve (`rotate-keys`, `copy-data`), or a start expected to fail.
pub async fn run_gatehouse(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.args(args).env_clear().env("GATEHOUSE_LISTEN", "127.0.0.1:0").env("GATEHOUSE_LOG", "warn").kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("gatehouse ended within 60 s")
        .expect("run gatehouse")
}

pub fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

/// The claims of a JWT, unverified (verification has its own tests).
pub fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64");
    serde_json::from_slice(&bytes).expect("claims json")
}

/// Asserts the admin API's error body (admin-api.md, Errors) and answers its Reason.
pub fn assert_contract_error(body: &Value) -> String {
    for key in ["OperationId", "Error", "Reason", "Resolution"] {
        assert!(body[key].is_string(), "missing {key} in {body}");
    }
    uuid::Uuid::parse_str(body["OperationId"].as_str().unwrap_or_default()).expect("OperationId is a GUID");
    body["Reason"].as_str().unwrap_or_default().to_owned()
}
