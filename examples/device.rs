//! A device client, as a command-line tool or a TV would be (RFC 8628): it asks Gatehouse
//! for a device code with the `openidconnect` crate, prints the code and the address where a
//! person approves it, polls the token endpoint (`authorization_pending`, `slow_down`) until
//! the person has decided, then checks the ID token and prints who signed in.
//!
//! Environment:
//! - `GATEHOUSE_URL`  the server's base URL (default `http://127.0.0.1:5000`)
//! - `CLIENT_ID`      a Device Code client's id (required)
//! - `SCOPE`          the scopes to ask for (default `openid profile`; add `offline_access`
//!   for a refresh token if the client has `AllowOfflineAccess`)
//!
//! Register the client with the admin API (`TOKEN` is an access token of the bootstrap
//! client, `TENANT` the tenant id the first start printed; see README.md):
//!
//! ```text
//! BASE=http://127.0.0.1:5000
//! curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!   $BASE/api/v1/Tenants/$TENANT/DeviceCodeClients \
//!   -d '{"Name": "Example device", "AllowOfflineAccess": true}'
//! CLIENT_ID=<the answer's Id> SCOPE='openid profile offline_access' cargo run --example device
//! ```
//!
//! then open the printed address in a browser (a phone will do), sign in and approve.

#![allow(clippy::print_stdout)]

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreDeviceAuthorizationResponse,
    CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthType, ClientId, DeviceAuthorizationUrl, IssuerUrl, Nonce, OAuth2TokenResponse,
    ProviderMetadata, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

type Error = Box<dyn std::error::Error>;

/// The discovery document's `device_authorization_endpoint` (RFC 8628 §4).
#[derive(Clone, Debug, Deserialize, Serialize)]
struct DeviceEndpoint {
    device_authorization_endpoint: DeviceAuthorizationUrl,
}
impl AdditionalProviderMetadata for DeviceEndpoint {}

type DeviceProviderMetadata = ProviderMetadata<
    DeviceEndpoint,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let base = env_var("GATEHOUSE_URL").unwrap_or_else(|| "http://127.0.0.1:5000".into());
    let client_id = env_var("CLIENT_ID").ok_or("set CLIENT_ID to a Device Code client's id")?;
    let scope = env_var("SCOPE").unwrap_or_else(|| "openid profile".into());
    // Following redirects would open the client to SSRF; the protocol needs none.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;

    let issuer = IssuerUrl::new(format!("{}/identity", base.trim_end_matches('/')))?;
    let metadata = DeviceProviderMetadata::discover_async(issuer, &http).await?;
    let device_endpoint = metadata.additional_metadata().device_authorization_endpoint.clone();
    // A public client: its id in the body, no secret.
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(client_id), None)
        .set_device_authorization_url(device_endpoint)
        .set_auth_type(AuthType::RequestBody);

    let mut request = client.exchange_device_code();
    for s in scope.split_whitespace() {
        request = request.add_scope(Scope::new(s.to_owned()));
    }
    let details: CoreDeviceAuthorizationResponse = request.request_async(&http).await?;
    println!(
        "To sign in, open {} and enter the code {}",
        details.verification_uri().as_str(),
        details.user_code().secret()
    );
    if let Some(complete) = details.verification_uri_complete() {
        println!("(or open {} )", complete.secret());
    }
    println!("Waiting for you to approve (the code lives {} s)...", details.expires_in().as_secs());

    // Polls every `interval`, growing it on `slow_down`, until approved, denied or expired.
    let token = client.exchange_device_access_token(&details)?.request_async(&http, tokio::time::sleep, None).await?;
    println!("Approved. Access token lifetime: {:?}", token.expires_in());
    if token.refresh_token().is_some() {
        println!("A refresh token came too (offline_access).");
    }
    if let Some(id_token) = token.id_token() {
        // The device flow has no nonce (RFC 8628 has no authorization request to carry one).
        let claims = id_token.claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok::<(), String>(()))?;
        let name = claims.preferred_username().map(|u| u.as_str().to_owned());
        println!("Signed in as {} ({})", name.unwrap_or_default(), claims.subject().as_str());
    }
    Ok(())
}
