//! A machine client: gets an access token with the client credentials grant
//! (`client_secret_basic`) and calls the admin API with it, listing the tenant's
//! Client Credentials clients (`GET /api/v1/Tenants/{tenant}/ClientCredentialClients`).
//! It prints the `Total-Count` header and the clients' names.
//!
//! Environment:
//! - `GATEHOUSE_URL`  the server's base URL (default `http://127.0.0.1:5000`)
//! - `CLIENT_ID`      a Client Credentials client's id (required)
//! - `CLIENT_SECRET`  one of its secrets (required)
//! - `TENANT_ID`      the tenant (optional; by default the access token's `tid` claim)
//!
//! The client needs the Tenant Member role to read the list (every Client Credentials
//! client has it). The bootstrap administration client is the quickest to try with:
//!
//! ```text
//! export GATEHOUSE_BOOTSTRAP_CLIENT_ID=$(uuidgen)
//! export GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=$(openssl rand -hex 32)
//! cargo run                                 # first start, on an empty database
//!
//! # in another shell, with the same two variables exported:
//! CLIENT_ID=$GATEHOUSE_BOOTSTRAP_CLIENT_ID CLIENT_SECRET=$GATEHOUSE_BOOTSTRAP_CLIENT_SECRET \
//!   cargo run --example machine_client
//! ```
//!
//! To run it as a client of its own instead, register one with the admin API (`TOKEN` is an
//! access token of the bootstrap client, `TENANT` the tenant id the first start printed):
//!
//! ```text
//! BASE=http://127.0.0.1:5000
//! TOKEN=$(curl -s -u "$GATEHOUSE_BOOTSTRAP_CLIENT_ID:$GATEHOUSE_BOOTSTRAP_CLIENT_SECRET" \
//!   -d grant_type=client_credentials $BASE/identity/connect/token | jq -r .access_token)
//! curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!   $BASE/api/v1/Tenants/$TENANT/ClientCredentialClients \
//!   -d '{"Name": "Example machine client", "SecretDescription": "machine_client example"}'
//! ```
//!
//! and use the answer's `Client.Id` as `CLIENT_ID` and its `Secret` as `CLIENT_SECRET`.

#![allow(clippy::print_stdout)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

type Error = Box<dyn std::error::Error>;

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &str) -> Result<String, Error> {
    env_var(name).ok_or_else(|| format!("set {name} (see the comment at the top of examples/machine_client.rs)").into())
}

/// `client_secret_basic` (RFC 6749 §2.3.1): id and secret are form-url-encoded, then
/// joined with a colon and base64-encoded.
fn basic_auth(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(id), encode(secret))))
}

/// The claims of a JWT, read without verifying it: the client only needs its own token's
/// `tid` (the admin API verifies the token).
fn jwt_claims(token: &str) -> Result<Value, Error> {
    let payload = token.split('.').nth(1).ok_or("the access token is not a JWT")?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let base = env_var("GATEHOUSE_URL").unwrap_or_else(|| "http://127.0.0.1:5000".to_owned());
    let base = base.trim_end_matches('/');
    let client_id = required("CLIENT_ID")?;
    let client_secret = required("CLIENT_SECRET")?;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;

    // 1. The token.
    let response = http
        .post(format!("{base}/identity/connect/token"))
        .header(AUTHORIZATION, basic_auth(&client_id, &client_secret))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=ocsapi")
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    if !status.is_success() {
        return Err(format!("token endpoint answered {status}: {answer}").into());
    }
    let access_token = answer["access_token"].as_str().ok_or("no access_token in the answer")?;
    println!(
        "token: {} for {} s, scope {}",
        answer["token_type"].as_str().unwrap_or("?"),
        answer["expires_in"],
        answer["scope"].as_str().unwrap_or("?")
    );

    // 2. The tenant: given, or the token's `tid`.
    let tenant = match env_var("TENANT_ID") {
        Some(t) => t,
        None => jwt_claims(access_token)?["tid"].as_str().ok_or("the access token has no tid claim")?.to_owned(),
    };
    println!("tenant: {tenant}");

    // 3. The admin API call.
    let response = http
        .get(format!("{base}/api/v1/Tenants/{tenant}/ClientCredentialClients"))
        .query(&[("skip", "0"), ("count", "100")])
        .bearer_auth(access_token)
        .send()
        .await?;
    let status = response.status();
    let total = response.headers().get("Total-Count").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = response.json().await?;
    if !status.is_success() {
        // Admin API errors are { OperationId, Error, Reason, Resolution }.
        return Err(format!("admin API answered {status}: {body}").into());
    }
    println!("Total-Count: {}", total.as_deref().unwrap_or("(missing)"));
    for client in body.as_array().into_iter().flatten() {
        println!(
            "  {}  {}{}",
            client["Id"].as_str().unwrap_or("?"),
            client["Name"].as_str().unwrap_or("?"),
            if client["Enabled"] == Value::Bool(false) { " (disabled)" } else { "" }
        );
    }
    Ok(())
}
