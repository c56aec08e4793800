//! Running it: the command line (`--help`), the configuration file under the environment,
//! and the log as JSON, one object a line, each request's lines under the id its answer names.

use std::process::Stdio;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{claims, run_gatehouse, TestServer, ADMIN_PASSWORD, BOOT_ID, BOOT_SECRET};

#[tokio::test]
async fn help_says_what_each_command_does() {
    let out = run_gatehouse(&["--help"], &[]).await;
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    for says in ["serve", "Start the server", "rotate-keys", "signing keys", "copy-data", "--config <FILE>"] {
        assert!(help.contains(says), "--help does not say {says}: {help}");
    }
    let out = run_gatehouse(&["copy-data", "--help"], &[]).await;
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && help.contains("--to <DATABASE>") && help.contains("--config"), "{help}");
    let out = run_gatehouse(&["serve-forever"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "an unknown command is a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand 'serve-forever'"));
}

/// Every key of the file takes effect unless its variable is set; `GATEHOUSE_CONFIG` names the
/// file as `--config` does.
#[tokio::test]
async fn the_server_starts_from_a_configuration_file_under_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = "7a1d2c3e-0000-4000-8000-0000000000c0";
    let file = dir.path().join("gatehouse.toml");
    std::fs::write(
        &file,
        format!(
            "# the environment's names without GATEHOUSE_, in lower case\n\
             tenant_id = \"{tenant}\"\n\
             admin_username = \"operator\"\n\
             admin_password = \"{ADMIN_PASSWORD}\"\n\
             bootstrap_client_id = \"{BOOT_ID}\"\n\
             bootstrap_client_secret = \"{BOOT_SECRET}\"\n\
             public_url = \"https://from-the-file.example.com\"\n\
             session_hours = 2\n\
             trusted_proxies = [\"10.0.0.0/8\"]\n"
        ),
    )
    .expect("write the file");
    let config = file.to_str().expect("path");
    let public = "https://from-the-environment.example.com";
    for how in ["--config", "GATEHOUSE_CONFIG"] {
        let db = tempfile::tempdir().expect("tempdir");
        let (args, mut env) = match how {
            "--config" => (vec!["serve", "--config", config], vec![]),
            _ => (vec![], vec![("GATEHOUSE_CONFIG", config)]),
        };
        env.push(("GATEHOUSE_PUBLIC_URL", public));
        let server = TestServer::start_command(db.path(), &args, &env, Stdio::inherit()).await;
        assert_eq!(server.tenant, tenant, "{how}: the tenant of the file");
        let token = server.admin_token().await;
        assert_eq!(claims(&token)["iss"], format!("{public}/identity"), "{how}: the variable overrides the file");
        let (status, users) = server.call(Method::GET, "/Users", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(users[0]["UserName"], "operator", "{how}: {users}");
    }
}

#[tokio::test]
async fn a_bad_configuration_file_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("g.toml");
    let path = file.to_str().expect("path");
    for (text, says) in [
        ("lisen = \"127.0.0.1:0\"\n", "unknown key `lisen`"),
        ("session_hours = \"many\"\n", ": session_hours: must be a whole number"),
        ("tenant_id = 7\n", ": tenant_id: not a GUID"),
        ("listen = \n", "not valid TOML"),
    ] {
        std::fs::write(&file, text).expect("write");
        let db = dir.path().join("never.db");
        let out =
            run_gatehouse(&["serve", "--config", path], &[("GATEHOUSE_DATABASE", db.to_str().expect("db"))]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text}: {stderr}");
        assert!(stderr.starts_with(&format!("gatehouse: {path}")) && stderr.contains(says), "{text}: {stderr}");
        assert!(!db.exists(), "nothing is created");
    }
    let out = run_gatehouse(&["--config", "/nonexistent/gatehouse.toml"], &[]).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/gatehouse.toml: cannot read it"));
}

/// `GATEHOUSE_LOG_FORMAT=json`: every line is a JSON object with its time, level, target and
/// message; a request's access line names its id (the admin API's `Operation-Id`), route
/// template, status and duration; what is logged while serving it carries the same id.
#[tokio::test]
async fn json_log_lines_carry_the_request_id_the_answer_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("stderr.log");
    let env = [
        ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOT_ID),
        ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOT_SECRET),
        ("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("GATEHOUSE_LOG", "info"),
        ("GATEHOUSE_LOG_FORMAT", "json"),
    ];
    let stderr = std::fs::File::create(&log).expect("log file");
    let server = TestServer::start_command(dir.path(), &[], &env, Stdio::from(stderr)).await;
    // A refused admin request: logged while served ("admin API refused"), and its access line.
    let missing = "00000000-0000-4000-8000-000000000404";
    let response = server.as_admin(Method::GET, &format!("/Users/{missing}")).await.send().await.expect("get");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let operation = response.headers()["operation-id"].to_str().expect("id").to_owned();
    let body: Value = response.json().await.expect("body");
    assert_eq!(body["OperationId"], operation.as_str());
    let secret = "wrong-secret-that-must-never-be-logged-0123";
    assert_eq!(server.client_credentials(BOOT_ID, secret).await.status(), StatusCode::UNAUTHORIZED);
    let _ = server.stop().await;

    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains(secret) && !text.contains(BOOT_SECRET), "a secret in the log");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line.get(field).is_some(), "no {field}: {line}");
        }
    }
    let access = lines
        .iter()
        .find(|l| l["target"] == "gatehouse::access" && l["request_id"] == operation.as_str())
        .unwrap_or_else(|| panic!("no access line for {operation}: {text}"));
    assert_eq!(access["route"], "/api/v1/Tenants/{tenant_id}/Users/{user_id}", "{access}");
    assert_eq!((access["method"].as_str(), access["status"].as_u64()), (Some("GET"), Some(404)), "{access}");
    assert!(access["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{access}");
    assert_eq!(access["client"], "127.0.0.1");
    let refused =
        lines.iter().find(|l| l["message"] == "admin API refused").unwrap_or_else(|| panic!("no refusal line: {text}"));
    assert_eq!(refused["span"]["request_id"], operation.as_str(), "{refused}");
    let token = lines
        .iter()
        .find(|l| l["target"] == "gatehouse::access" && l["path"] == "/identity/connect/token" && l["status"] == 401)
        .unwrap_or_else(|| panic!("no refused token request: {text}"));
    assert_eq!(token["route"], "/identity/connect/token");
}
