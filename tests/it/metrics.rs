//! Prometheus metrics on their own listener (`GATEHOUSE_METRICS_LISTEN`): counters move with
//! the requests they count, labels carry route templates and closed sets (never an id), the
//! text is what Prometheus's own `promtool` accepts, and without the key nothing more listens.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::browser::{Browser, Landing};
use crate::support::{TestServer, ADMIN_PASSWORD, BOOT_ID, BOOT_SECRET};

/// A server like `TestServer::start`'s, with a metrics listener on a free port; answers it
/// and the metrics URL it printed.
async fn start(dir: &std::path::Path, extra: &[(&str, &str)]) -> (TestServer, String) {
    let mut env = vec![
        ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOT_SECRET),
        ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("GATEHOUSE_METRICS_LISTEN", "127.0.0.1:0"),
    ];
    env.extend_from_slice(extra);
    let server = TestServer::start_with(dir, &env).await;
    let url = server
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("gatehouse: metrics on "))
        .unwrap_or_else(|| panic!("no metrics line in {:?}", server.banner))
        .trim()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"), "{url}");
    assert_ne!(url.trim_end_matches("/metrics"), server.base, "a listener of its own");
    (server, url)
}

async fn scrape(server: &TestServer, url: &str) -> String {
    let response = server.http.get(url).send().await.expect("scrape");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().expect("content type").to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    response.text().await.expect("text")
}

/// Every sample: (name, labels) -> value.
type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

/// Reads the text format's samples (the check of the format itself is promtool's). Our label
/// values hold no quote, so a value is what lies between `="` and the next `"`.
fn samples(text: &str) -> Samples {
    let mut all = Samples::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').expect("sample value");
        let (name, mut rest) = series.split_once('{').unwrap_or((series, "}"));
        let mut labels = BTreeMap::new();
        while let Some((key, after)) = rest.split_once("=\"") {
            let (value, after) = after.split_once('"').expect("closing quote");
            labels.insert(key.trim_start_matches(',').to_owned(), value.to_owned());
            rest = after;
        }
        all.insert((name.to_owned(), labels), value.parse().expect("number"));
    }
    all
}

/// The value of the sample `name` whose labels are exactly `labels`; 0 when there is none yet.
fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    samples.get(&(name.to_owned(), labels)).copied().unwrap_or(0.0)
}

/// Whether some sample of `name` has these labels (among others).
fn has(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> bool {
    samples.keys().any(|(n, l)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
}

/// `promtool check metrics`: Prometheus's own check of the text format and its conventions.
/// Debian's `prometheus` package has it (.ci/run installs it); missing outside CI, the check
/// is skipped with a word on stderr.
async fn promtool_accepts(text: &str) {
    use tokio::io::AsyncWriteExt;
    let spawned = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping promtool's check: {e} (apt-get install prometheus)");
            return;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(text.as_bytes()).await.expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn token_requests_move_their_counters_and_labels_carry_no_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, url) = start(dir.path(), &[]).await;
    let (id, secret) = server.new_machine_client(json!({})).await;
    for missing in [
        "/api/v1/Tenants/9b2f1c4e-0000-4000-8000-00000000dead/Nothing/7d3c".to_owned(),
        format!("/nowhere/{}", server.tenant),
    ] {
        assert_eq!(server.http.get(server.url(&missing)).send().await.expect("get").status(), StatusCode::NOT_FOUND);
    }
    let before = samples(&scrape(&server, &url).await);

    assert_eq!(server.client_credentials(&id, &secret).await.status(), StatusCode::OK);
    let wrong = "wrong-secret-for-tests-0123456789abcdef";
    assert_eq!(server.client_credentials(&id, wrong).await.status(), StatusCode::UNAUTHORIZED);
    let text = scrape(&server, &url).await;
    let after = samples(&text);

    let tokens = |s: &Samples, outcome: &str| {
        value(s, "gatehouse_token_requests_total", &[("grant_type", "client_credentials"), ("outcome", outcome)])
    };
    assert_eq!(tokens(&after, "success") - tokens(&before, "success"), 1.0, "{text}");
    assert_eq!(tokens(&after, "invalid_client") - tokens(&before, "invalid_client"), 1.0, "{text}");
    let token_route = [("route", "/identity/connect/token"), ("method", "POST"), ("status", "200")];
    let http = |s: &Samples| value(s, "gatehouse_http_requests_total", &token_route);
    assert_eq!(http(&after) - http(&before), 1.0, "{text}");
    assert!(has(&after, "gatehouse_http_request_duration_seconds_bucket", &[("route", "/identity/connect/token")]));

    // The admin API's route is its template; a path that matched nothing is `unmatched`.
    let template = "/api/v1/Tenants/{tenant_id}/{collection}";
    assert!(
        has(&after, "gatehouse_http_requests_total", &[("route", template), ("method", "POST"), ("status", "201")]),
        "{text}"
    );
    let member = "/api/v1/Tenants/{tenant_id}/{collection}/{client_id}";
    assert!(has(&after, "gatehouse_http_requests_total", &[("route", member), ("status", "404")]), "{text}");
    assert!(has(&after, "gatehouse_http_requests_total", &[("route", "unmatched"), ("status", "404")]), "{text}");
    for secret_or_id in [server.tenant.as_str(), id.as_str(), secret.as_str(), wrong, "dead", "7d3c", BOOT_SECRET] {
        assert!(!text.contains(secret_or_id), "{secret_or_id} in the metrics:\n{text}");
    }

    // The store's timings and pool, and the process's own figures.
    assert!(has(&after, "gatehouse_store_transaction_seconds_bucket", &[("backend", "sqlite"), ("op", "find_client")]));
    assert!(has(&after, "gatehouse_store_connection_wait_seconds_count", &[("backend", "sqlite")]));
    assert!(value(&after, "gatehouse_store_pool_connections", &[("backend", "sqlite")]) >= 1.0, "{text}");
    assert!(has(&after, "process_cpu_seconds_total", &[]), "{text}");
    for name in ["process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
        assert!(value(&after, name, &[]) > 0.0, "{name}:\n{text}");
    }
    promtool_accepts(&text).await;

    // Only GET /metrics there.
    let other = server.http.get(url.replace("/metrics", "/health/live")).send().await.expect("get");
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_ins_are_counted_by_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, url) = start(dir.path(), &[]).await;
    let sign_in = |password: &'static str| {
        let server = &server;
        async move {
            let browser = Browser::new(server);
            let Landing::Page(StatusCode::OK, page) = browser.visit(&server.url("/identity/account/login")).await
            else {
                panic!("the sign-in page")
            };
            browser.sign_in(&page, "admin", password).await
        }
    };
    let before = samples(&scrape(&server, &url).await);
    let Landing::Page(StatusCode::UNAUTHORIZED, _) = sign_in("not-the-password").await else { panic!("refused") };
    let Landing::Page(StatusCode::OK, _) = sign_in(ADMIN_PASSWORD).await else { panic!("signed in") };
    let text = scrape(&server, &url).await;
    let after = samples(&text);
    for outcome in ["bad_credentials", "success"] {
        let count = |s: &Samples| value(s, "gatehouse_sign_ins_total", &[("outcome", outcome)]);
        assert_eq!(count(&after) - count(&before), 1.0, "{outcome}:\n{text}");
    }
    assert!(!text.contains(ADMIN_PASSWORD) && !text.contains("not-the-password"));
    promtool_accepts(&text).await;
}

/// The TCP sockets the process listens on (Linux: its descriptors' inodes among the
/// listening sockets of /proc/net/tcp and tcp6).
fn listening_sockets(pid: u32) -> usize {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fds")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| Some(l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned()))
        .collect();
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|t| t.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(3) == Some(&"0A") && f.get(9).is_some_and(|i| inodes.iter().any(|n| n == i))
        })
        .count()
}

#[tokio::test]
async fn without_the_key_nothing_more_listens() {
    let server = TestServer::start().await;
    assert!(!server.banner.iter().any(|l| l.contains("metrics")), "{:?}", server.banner);
    assert_eq!(listening_sockets(server.pid()), 1, "the main listener only");
    let response = server.http.get(server.url("/metrics")).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "no metrics on the main listener");

    let dir = tempfile::tempdir().expect("tempdir");
    let (with, _) = start(dir.path(), &[]).await;
    assert_eq!(listening_sockets(with.pid()), 2, "the main listener and the metrics one");
}

#[tokio::test]
async fn a_metrics_address_that_cannot_be_had_fails_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let database = dir.path().join("gatehouse.db");
    let out = crate::support::run_gatehouse(
        &[],
        &[("GATEHOUSE_METRICS_LISTEN", &addr), ("GATEHOUSE_DATABASE", database.to_str().expect("path"))],
    )
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot listen on {addr}")), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).is_empty(), "nothing bootstrapped, nothing shown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_the_pool_and_the_statements_are_measured() {
    let Some(db) = gatehouse_store_postgres::testing::TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, url) = start(dir.path(), &[("GATEHOUSE_DATABASE", db.url())]).await;
    let (status, _) = server.call(Method::GET, "/ClientCredentialClients", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = scrape(&server, &url).await;
    let after = samples(&text);
    assert!(value(&after, "gatehouse_store_pool_connections", &[("backend", "postgres")]) >= 1.0, "{text}");
    assert!(has(&after, "gatehouse_store_pool_waiting", &[("backend", "postgres")]), "{text}");
    assert!(has(
        &after,
        "gatehouse_store_statement_seconds_count",
        &[("backend", "postgres"), ("statement", "select")]
    ));
    assert!(has(&after, "gatehouse_store_connection_wait_seconds_count", &[("backend", "postgres")]));
    promtool_accepts(&text).await;
}
