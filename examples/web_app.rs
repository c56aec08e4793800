//! A server-side web application that signs its users in with Gatehouse, using the
//! `openidconnect` crate as the relying party: authorization code flow with PKCE (S256),
//! `state` and `nonce`, a confidential (Hybrid) client authenticating with
//! `client_secret_basic`, refresh tokens, and RP-initiated logout.
//!
//! Routes, on http://127.0.0.1:8080:
//! - `/`         a link to sign in, or the verified ID token claims when signed in
//! - `/login`    redirects the browser to the authorize endpoint
//! - `/callback` the redirect URI: checks `state` (and `iss`), exchanges the code, verifies the ID token
//! - `/refresh`  uses the refresh token and shows the new access token expiry
//! - `/logout`   redirects to the `end_session_endpoint` with `id_token_hint`, `post_logout_redirect_uri` and `state`
//!
//! Tokens are kept in memory, keyed by a random cookie (`webapp_session`); they are lost when
//! the app stops.
//!
//! Environment:
//! - `GATEHOUSE_ISSUER`  the issuer (default `http://127.0.0.1:5000/identity`)
//! - `CLIENT_ID`         the Hybrid client's id (required)
//! - `CLIENT_SECRET`     one of its secrets (required)
//!
//! How to run it:
//!
//! 1. Start Gatehouse with a bootstrap administration client and a known admin password
//!    (these variables are read only on the first start, on an empty database). The
//!    secret is hex so that `curl -u` sends it unchanged (a `+` in a base64 secret would be
//!    form-decoded to a space):
//!
//!    ```text
//!    export GATEHOUSE_BOOTSTRAP_CLIENT_ID=$(uuidgen)
//!    export GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=$(openssl rand -hex 32)
//!    GATEHOUSE_ADMIN_PASSWORD='change-me-please' cargo run
//!    ```
//!
//!    It prints `gatehouse: first start, created tenant <tenant id>`.
//!
//! 2. In another shell (with the same two variables exported), register the app as a Hybrid
//!    client that may have refresh tokens:
//!
//!    ```text
//!    BASE=http://127.0.0.1:5000
//!    TENANT=<tenant id>
//!    TOKEN=$(curl -s -u "$GATEHOUSE_BOOTSTRAP_CLIENT_ID:$GATEHOUSE_BOOTSTRAP_CLIENT_SECRET" \
//!      -d grant_type=client_credentials $BASE/identity/connect/token | jq -r .access_token)
//!    curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!      $BASE/api/v1/Tenants/$TENANT/HybridClients -d '{
//!        "Name": "Example web app",
//!        "RedirectUris": ["http://127.0.0.1:8080/callback"],
//!        "PostLogoutRedirectUris": ["http://127.0.0.1:8080/"],
//!        "AllowOfflineAccess": true,
//!        "SecretDescription": "web_app example"
//!      }'
//!    ```
//!
//!    The answer's `Client.Id` is the client id and its `Secret` the client secret (shown
//!    only this once).
//!
//! 3. Run the app and open http://127.0.0.1:8080/ in a browser; sign in as `admin`:
//!
//!    ```text
//!    CLIENT_ID=<Client.Id> CLIENT_SECRET=<Secret> cargo run --example web_app
//!    ```

#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use html_escape::encode_text as text;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreTokenResponse};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, RefreshToken,
    Scope, SubjectIdentifier, TokenResponse,
};
use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const LISTEN: &str = "127.0.0.1:8080";
const CALLBACK: &str = "http://127.0.0.1:8080/callback";
const SIGNED_OUT: &str = "http://127.0.0.1:8080/";
const DEFAULT_ISSUER: &str = "http://127.0.0.1:5000/identity";
/// Distinct from Gatehouse's own cookies: browsers do not separate cookies by port.
const COOKIE: &str = "webapp_session";

/// The client `from_provider_metadata` builds: the authorize URL is set, the token and
/// userinfo URLs are set if discovery gave them.
type OidcClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// What `/login` remembers for `/callback`.
struct Pending {
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

/// A signed-in user's tokens.
struct SignedIn {
    id_token: CoreIdToken,
    subject: SubjectIdentifier,
    /// The verified ID token claims, for display.
    claims: Value,
    access_token: AccessToken,
    access_expires: Option<OffsetDateTime>,
    refresh_token: Option<RefreshToken>,
}

#[derive(Default)]
struct Session {
    pending: Option<Pending>,
    signed_in: Option<SignedIn>,
    /// The `state` sent to the end-session endpoint, checked when the browser comes back.
    logout_state: Option<String>,
}

struct AppState {
    client: OidcClient,
    http: reqwest::Client,
    issuer: IssuerUrl,
    end_session: Option<EndSessionUrl>,
    sessions: Mutex<HashMap<String, Session>>,
}

impl AppState {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().expect("session map poisoned")
    }
}

/// An error shown to the user as a page.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn upstream(what: &str, error: impl fmt::Debug) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, format!("{what}: {error:?}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        page(
            self.status,
            "Something went wrong",
            &format!("<p>{}</p><p><a href=\"/\">Back to the start</a></p>", text(&self.message)),
        )
    }
}

/// An HTML page; every value in `body` must already be escaped.
fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'",
        ))
        // The callback URL carries the code: never send it on as a Referer.
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
             <style>body{{font-family:system-ui,sans-serif;margin:2rem}}td{{padding:.2rem .8rem;\
             vertical-align:top;font-family:monospace}}</style></head><body><h1>{title}</h1>{body}</body></html>",
            title = text(title)
        ))
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, location)).finish()
}

/// The session cookie: not `Secure` because this example runs on plain http.
fn session_cookie(id: String) -> Cookie<'static> {
    Cookie::build(COOKIE, id).path("/").http_only(true).same_site(SameSite::Lax).finish()
}

fn new_session_id() -> String {
    CsrfToken::new_random_len(32).secret().clone()
}

fn session_id(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE).map(|c| c.value().to_owned())
}

fn format_expiry(at: Option<OffsetDateTime>) -> String {
    match at {
        Some(at) => {
            let left = (at - OffsetDateTime::now_utc()).whole_seconds();
            let at = at.replace_nanosecond(0).unwrap_or(at);
            format!("{} (in {left} s)", at.format(&Rfc3339).unwrap_or_default())
        }
        None => "not given".to_owned(),
    }
}

fn expiry_of(tokens: &CoreTokenResponse) -> Option<OffsetDateTime> {
    tokens.expires_in().map(|d| OffsetDateTime::now_utc() + d)
}

/// `GET /`: the sign-in link, the signed-in user's claims, or the end of a sign-out.
async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let mut sessions = state.sessions();
    let session = session_id(&req).and_then(|id| sessions.get_mut(&id));
    if let Some(signed_in) = session.as_ref().and_then(|s| s.signed_in.as_ref()) {
        let rows: String = signed_in
            .claims
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                format!("<tr><td>{}</td><td>{}</td></tr>", text(name), text(&shown))
            })
            .collect();
        let refresh = if signed_in.refresh_token.is_some() {
            "<a href=\"/refresh\">Refresh the access token</a> | "
        } else {
            "(no refresh token) | "
        };
        let body = format!(
            "<p>Signed in as <b>{}</b>. The access token expires {}.</p>\
             <h2>ID token claims (verified)</h2><table>{rows}</table><p>{refresh}<a href=\"/logout\">Sign out</a></p>",
            text(signed_in.claims["preferred_username"].as_str().unwrap_or(signed_in.subject.as_str())),
            text(&format_expiry(signed_in.access_expires)),
        );
        return page(StatusCode::OK, "Example web app", &body);
    }
    // Back from the end-session endpoint: the state must be the one we sent.
    let mut notice = String::new();
    if let Some(returned) = query.get("state") {
        let expected = session.and_then(|s| s.logout_state.take());
        notice = if expected.as_deref() == Some(returned.as_str()) {
            "<p>You are signed out.</p>".to_owned()
        } else {
            "<p>A sign-out answer with an unknown state was ignored.</p>".to_owned()
        };
    }
    page(StatusCode::OK, "Example web app", &format!("{notice}<p><a href=\"/login\">Sign in with Gatehouse</a></p>"))
}

/// `GET /login`: remembers a fresh state, nonce and PKCE verifier and redirects to authorize.
async fn login(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let id = session_id(&req).unwrap_or_else(new_session_id);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = state
        .client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    state.sessions().entry(id.clone()).or_default().pending = Some(Pending { state: csrf, nonce, verifier });
    HttpResponse::Found().insert_header((header::LOCATION, url.as_str())).cookie(session_cookie(id)).finish()
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /callback`: the authorization response.
async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, Failure> {
    let old_id = session_id(&req).ok_or_else(|| Failure::bad_request("No session cookie: start again at /login."))?;
    // Taken out, so a response can be used once only.
    let pending = state
        .sessions()
        .get_mut(&old_id)
        .and_then(|s| s.pending.take())
        .ok_or_else(|| Failure::bad_request("No sign-in is under way in this session: start again at /login."))?;
    if query.state.as_deref() != Some(pending.state.secret().as_str()) {
        return Err(Failure::bad_request("The state does not match the one sent: the response is refused."));
    }
    // RFC 9207: Gatehouse names itself in the response; a response from another issuer is refused.
    if let Some(iss) = &query.iss {
        if iss != state.issuer.as_str() {
            return Err(Failure::bad_request(format!("The response came from another issuer: {iss}")));
        }
    }
    if let Some(error) = &query.error {
        let description = query.error_description.as_deref().unwrap_or("");
        return Err(Failure::bad_request(format!("Sign-in failed: {error} {description}")));
    }
    let code = query.code.clone().ok_or_else(|| Failure::bad_request("The response has no code."))?;

    let tokens = state
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Failure::upstream("no token endpoint", e))?
        .set_pkce_verifier(pending.verifier)
        .request_async(&state.http)
        .await
        .map_err(|e| Failure::upstream("the code exchange failed", e))?;
    let id_token = tokens.id_token().ok_or_else(|| Failure::upstream("sign-in", "no ID token"))?.clone();
    let verifier = state.client.id_token_verifier();
    let claims =
        id_token.claims(&verifier, &pending.nonce).map_err(|e| Failure::upstream("the ID token is invalid", e))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| Failure::upstream("ID token", e))?;
        let key = id_token.signing_key(&verifier).map_err(|e| Failure::upstream("ID token", e))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| Failure::upstream("at_hash", e))?;
        if &actual != expected {
            return Err(Failure::upstream("sign-in", "the access token does not match the ID token's at_hash"));
        }
    }
    let signed_in = SignedIn {
        subject: claims.subject().clone(),
        claims: serde_json::to_value(claims).unwrap_or(Value::Null),
        id_token,
        access_token: tokens.access_token().clone(),
        access_expires: expiry_of(&tokens),
        refresh_token: tokens.refresh_token().cloned(),
    };
    // A new session id on sign-in, so an id planted before it is worth nothing after.
    let new_id = new_session_id();
    {
        let mut sessions = state.sessions();
        sessions.remove(&old_id);
        sessions.insert(new_id.clone(), Session { signed_in: Some(signed_in), ..Session::default() });
    }
    Ok(HttpResponse::Found().insert_header((header::LOCATION, "/")).cookie(session_cookie(new_id)).finish())
}

/// `GET /refresh`: a new access token from the refresh token (Gatehouse rotates it).
async fn refresh(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let id = session_id(&req).ok_or_else(|| Failure::bad_request("Not signed in."))?;
    let (current, subject) = {
        let sessions = state.sessions();
        let signed_in = sessions
            .get(&id)
            .and_then(|s| s.signed_in.as_ref())
            .ok_or_else(|| Failure::bad_request("Not signed in."))?;
        let token =
            signed_in.refresh_token.clone().ok_or_else(|| Failure::bad_request("There is no refresh token."))?;
        (token, signed_in.subject.clone())
    };
    let tokens = state
        .client
        .exchange_refresh_token(&current)
        .map_err(|e| Failure::upstream("no token endpoint", e))?
        .request_async(&state.http)
        .await
        .map_err(|e| Failure::upstream("the refresh failed", e))?;
    // A refreshed ID token has no nonce, and must be about the same user (OIDC Core §12.2).
    let new_id_token = match tokens.id_token() {
        Some(id_token) => {
            let claims = id_token
                .claims(&state.client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
                .map_err(|e| Failure::upstream("the refreshed ID token is invalid", e))?;
            if claims.subject() != &subject {
                return Err(Failure::upstream("refresh", "the refreshed ID token is about another user"));
            }
            Some((id_token.clone(), serde_json::to_value(claims).unwrap_or(Value::Null)))
        }
        None => None,
    };
    let expires = expiry_of(&tokens);
    let mut sessions = state.sessions();
    let signed_in =
        sessions.get_mut(&id).and_then(|s| s.signed_in.as_mut()).ok_or_else(|| Failure::bad_request("Signed out."))?;
    signed_in.access_token = tokens.access_token().clone();
    signed_in.access_expires = expires;
    if let Some(rotated) = tokens.refresh_token() {
        signed_in.refresh_token = Some(rotated.clone());
    }
    if let Some((id_token, claims)) = new_id_token {
        signed_in.id_token = id_token;
        signed_in.claims = claims;
    }
    let body = format!(
        "<p>New access token; it expires {}.</p><p>The refresh token was {}.</p><p><a href=\"/\">Back</a></p>",
        text(&format_expiry(expires)),
        if tokens.refresh_token().is_some() { "rotated" } else { "kept" },
    );
    Ok(page(StatusCode::OK, "Refreshed", &body))
}

/// `GET /logout`: forgets the tokens here, then ends the session at Gatehouse.
async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(id) = session_id(&req) else { return redirect("/") };
    let logout_state = CsrfToken::new_random();
    let signed_in = {
        let mut sessions = state.sessions();
        let session = sessions.entry(id).or_default();
        session.logout_state = Some(logout_state.secret().clone());
        session.signed_in.take()
    };
    let (Some(signed_in), Some(end_session)) = (signed_in, state.end_session.clone()) else {
        return redirect("/");
    };
    let url = LogoutRequest::from(end_session)
        .set_id_token_hint(&signed_in.id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.to_owned()).expect("a valid URL"))
        .set_state(logout_state)
        .http_get_url();
    redirect(url.as_str())
}

fn required(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("set {name} (see the comment at the top of examples/web_app.rs)"))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("GATEHOUSE_ISSUER")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
    let client_id = required("CLIENT_ID")?;
    let client_secret = required("CLIENT_SECRET")?;

    // openidconnect requires a client that does not follow redirects (SSRF protection).
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let issuer = IssuerUrl::new(issuer)?;
    let metadata = ProviderMetadataWithLogout::discover_async(issuer.clone(), &http).await?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(client_secret)),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned())?);

    println!("web_app: issuer {}, client {client_id}", issuer.as_str());
    println!("web_app: open http://{LISTEN}/");
    let state = web::Data::new(AppState { client, http, issuer, end_session, sessions: Mutex::new(HashMap::new()) });
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/", web::get().to(index))
            .route("/login", web::get().to(login))
            .route("/callback", web::get().to(callback))
            .route("/refresh", web::get().to(refresh))
            .route("/logout", web::get().to(logout))
    })
    .workers(1)
    .bind(LISTEN)?
    .run()
    .await?;
    Ok(())
}
