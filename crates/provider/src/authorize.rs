//! The authorize endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2 and §3.3.2): checks the client
//! and redirect URI first, then the request, then the sign-in, and answers the client.

use gatehouse_registry::grant::{AuthorizationCode, Session, WithUser};
use gatehouse_registry::{Client, ClientKind, User};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::{ErrorCode, ProtocolError};
use crate::handles::new_handle;
use crate::id_token::IdTokenParts;
use crate::params::{scopes, Params};
use crate::resume::COMING_BACK;
use crate::Provider;

/// The longest `state` and `nonce` accepted: they travel back in every answer and the nonce
/// in every ID token (a 30 KB nonce made a 41 KB ID token).
pub const PARAMETER_MAX: usize = 2048;

/// The scopes an interactive client may ask for (protocol.md).
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "offline_access", "ocsapi"];

/// How the answer travels back to the client (OAuth 2.0 Multiple Response Types, Form Post).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

/// The answer to the client: where, how, and what.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizeResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
}

/// The parameters' names only: their values are codes and tokens.
impl std::fmt::Debug for AuthorizeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("AuthorizeResponse")
            .field("redirect_uri", &self.redirect_uri)
            .field("mode", &self.mode)
            .field("params", &names)
            .finish()
    }
}

impl AuthorizeResponse {
    /// The `Location` for query and fragment modes.
    pub fn location(&self) -> String {
        let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.params).finish();
        match self.mode {
            ResponseMode::Fragment => format!("{}#{encoded}", self.redirect_uri),
            _ => {
                let sep = if self.redirect_uri.contains('?') { '&' } else { '?' };
                format!("{}{sep}{encoded}", self.redirect_uri)
            }
        }
    }
}

/// What the authorize endpoint does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorize {
    /// Unknown or disabled client, or an unregistered redirect URI: an error page of ours,
    /// never a redirect (RFC 6749 §4.1.2.1).
    Refuse(ProtocolError),
    /// The user must sign in to `tenant_id`, then come back to `return_to`.
    Login { tenant_id: Uuid, return_to: String },
    /// Answer the client.
    Respond(AuthorizeResponse),
}

pub use gatehouse_registry::uri::redirect_uri_matches;

/// A checked request, ready to be answered once the user is known.
#[derive(Debug)]
struct Checked<'a> {
    client: Client,
    redirect_uri: String,
    types: Vec<&'a str>,
    mode: ResponseMode,
    scopes: Vec<&'a str>,
    state: Option<&'a str>,
    nonce: Option<&'a str>,
    challenge: Option<&'a str>,
    prompt: Vec<&'a str>,
    max_age: Option<i64>,
}

impl Provider {
    /// Decides what to do with an authorize request, given the browser's session (if any).
    pub async fn authorize(
        &self,
        params: &Params,
        session: Option<&WithUser<Session>>,
    ) -> Result<Authorize, ProtocolError> {
        let now = self.clock.now();
        // 1. Client and redirect URI: until both are known good, nothing goes back to them.
        let refuse = |d: &'static str| Ok(Authorize::Refuse(ProtocolError::invalid_request(d)));
        let client_id = match params.get("client_id") {
            Ok(Some(id)) => id,
            Ok(None) => return refuse("the client_id parameter is missing"),
            Err(e) => return Ok(Authorize::Refuse(e)),
        };
        let client = match Uuid::parse_str(client_id) {
            Ok(id) => self.stores.clients.find_client(id).await?.map(|(c, _)| c),
            Err(_) => None,
        };
        let Some(client) = client.filter(|c| c.enabled && c.kind.is_interactive()) else {
            return refuse("the client is unknown, disabled, or may not use this endpoint");
        };
        let redirect_uri = match params.get("redirect_uri") {
            Ok(Some(uri)) if client.redirect_uris.iter().any(|r| redirect_uri_matches(r, uri)) => uri.to_owned(),
            Ok(_) => return refuse("the redirect_uri is missing or not registered for this client"),
            Err(e) => return Ok(Authorize::Refuse(e)),
        };
        // A `state` too long to send back is refused without it (it would make every answer,
        // and the Location header, as long as it is).
        let state = params.get("state").ok().flatten().filter(|s| s.len() <= PARAMETER_MAX);
        // 2. The rest of the request: errors now go back to the client.
        let checked = match self.check_request(params, client, redirect_uri.clone()) {
            Ok(c) => c,
            Err((e, mode)) => return Ok(Authorize::Respond(self.error_response(&redirect_uri, mode, e, state))),
        };
        // 3. Who is signing in. A request resumed after the sign-in it asked for (see
        // `resume`) takes a session that signed in after it started, and only that.
        let resumed = self.resume.started(params, now);
        let fresh = |s: &&Session| {
            let age = now - s.auth_time;
            let max_age = |slack: Duration| checked.max_age.is_none_or(|a| age <= Duration::seconds(a).max(slack));
            s.tenant_id == checked.client.tenant_id
                && match resumed {
                    Some(started) => s.auth_time.unix_timestamp() >= started.unix_timestamp() && max_age(COMING_BACK),
                    None => !checked.prompt.contains(&"login") && max_age(Duration::ZERO),
                }
        };
        // The session's user as stored now (read with the session): disabled or deleted, it
        // signs in again.
        let user = session
            .filter(|s| fresh(&&s.record))
            .and_then(|s| s.user.as_ref().filter(|u| u.enabled).map(|u| (&s.record, u)));
        let Some((session, user)) = user else {
            if checked.prompt.contains(&"none") {
                let e = ProtocolError::new(ErrorCode::LoginRequired, "the user is not signed in");
                return Ok(Authorize::Respond(self.error_response(
                    &checked.redirect_uri,
                    checked.mode,
                    e,
                    checked.state,
                )));
            }
            let fresh_after = (checked.prompt.contains(&"login") || checked.max_age.is_some()).then_some(now);
            let return_to = self.resume.way_back(params, fresh_after);
            return Ok(Authorize::Login { tenant_id: checked.client.tenant_id, return_to });
        };
        // Once the client and redirect URI are known, even our failures go back to them.
        let (redirect_uri, mode, state) = (checked.redirect_uri.clone(), checked.mode, checked.state);
        match self.issue(checked, user, session, now).await {
            Ok(answer) => Ok(Authorize::Respond(answer)),
            Err(e) => {
                tracing::error!(detail = ?e.detail, "authorize could not issue");
                let e = ProtocolError::server(e);
                Ok(Authorize::Respond(self.error_response(&redirect_uri, mode, e, state)))
            }
        }
    }

    fn check_request<'a>(
        &self,
        params: &'a Params,
        client: Client,
        redirect_uri: String,
    ) -> Result<Checked<'a>, (ProtocolError, ResponseMode)> {
        let mut types: Vec<&str> = params
            .get("response_type")
            .map_err(|e| (e, ResponseMode::Query))?
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect();
        types.sort_unstable();
        types.dedup();
        // Tokens never travel in a query string; everything else (errors included) may.
        let default_mode = if types.iter().any(|t| *t == "token" || *t == "id_token") {
            ResponseMode::Fragment
        } else {
            ResponseMode::Query
        };
        let mode = match params.get("response_mode").map_err(|e| (e, default_mode))? {
            None => default_mode,
            Some("query") if types == ["code"] => ResponseMode::Query,
            Some("fragment") => ResponseMode::Fragment,
            Some("form_post") => ResponseMode::FormPost,
            Some(_) => {
                return Err((
                    ProtocolError::invalid_request("response_mode must be query (code only), fragment or form_post"),
                    default_mode,
                ))
            }
        };
        let fail = |code, d: &str| Err((ProtocolError::new(code, d.to_owned()), mode));
        // OIDC Core §6: a request object would carry parameters (state among them) that must
        // not be silently ignored; until it is supported, it is refused as such (§3.1.2.6),
        // and discovery says so.
        if params.get("request").map_err(|e| (e, mode))?.is_some() {
            return fail(ErrorCode::RequestNotSupported, "request objects (the request parameter) are not supported");
        }
        if params.get("request_uri").map_err(|e| (e, mode))?.is_some() {
            return fail(ErrorCode::RequestUriNotSupported, "the request_uri parameter is not supported");
        }
        let allowed: &[&[&str]] = match client.kind {
            ClientKind::AuthorizationCode => &[&["code"]],
            ClientKind::Hybrid if client.allow_access_tokens_via_browser => {
                &[&["code"], &["code", "id_token"], &["code", "token"], &["code", "id_token", "token"]]
            }
            _ => &[&["code"], &["code", "id_token"]],
        };
        if types.is_empty() {
            return fail(ErrorCode::InvalidRequest, "the response_type parameter is missing");
        }
        if !allowed.contains(&types.as_slice()) {
            return fail(ErrorCode::UnsupportedResponseType, "this client may not use that response_type");
        }
        let requested = scopes(params.get("scope").map_err(|e| (e, mode))?);
        if let Some(bad) = requested.iter().find(|s| !SCOPES.contains(s)) {
            return fail(ErrorCode::InvalidScope, &format!("the scope {bad} is unknown"));
        }
        if requested.contains(&"offline_access") && !client.allow_offline_access {
            return fail(ErrorCode::InvalidScope, "this client may not ask for offline_access (refresh tokens)");
        }
        let wants_id_token = types.contains(&"id_token");
        if wants_id_token && !requested.contains(&"openid") {
            return fail(ErrorCode::InvalidScope, "response types with id_token need the openid scope");
        }
        for name in ["state", "nonce"] {
            if params.get(name).map_err(|e| (e, mode))?.is_some_and(|v| v.len() > PARAMETER_MAX) {
                return fail(
                    ErrorCode::InvalidRequest,
                    &format!("the {name} parameter is longer than {PARAMETER_MAX} bytes"),
                );
            }
        }
        let nonce = params.get("nonce").map_err(|e| (e, mode))?;
        if wants_id_token && nonce.is_none() {
            return fail(ErrorCode::InvalidRequest, "response types with id_token need a nonce");
        }
        let challenge = params.get("code_challenge").map_err(|e| (e, mode))?;
        match (params.get("code_challenge_method").map_err(|e| (e, mode))?, challenge) {
            (_, None) if client.kind == ClientKind::AuthorizationCode || types == ["code"] => {
                return fail(
                    ErrorCode::InvalidRequest,
                    "PKCE is required: send code_challenge with code_challenge_method=S256",
                )
            }
            (Some("S256"), Some(c)) if valid_challenge(c) => {}
            (None | Some("plain"), Some(_)) => {
                return fail(ErrorCode::InvalidRequest, "code_challenge_method must be S256; plain is refused")
            }
            (_, Some(_)) => {
                return fail(ErrorCode::InvalidRequest, "code_challenge must be S256 of a 43-128 character verifier")
            }
            (_, None) => {}
        }
        let prompt: Vec<&str> =
            params.get("prompt").map_err(|e| (e, mode))?.unwrap_or("").split(' ').filter(|s| !s.is_empty()).collect();
        if prompt.contains(&"none") && prompt.len() > 1 {
            return fail(ErrorCode::InvalidRequest, "prompt=none cannot be combined with other values");
        }
        let max_age = match params.get("max_age").map_err(|e| (e, mode))? {
            None => None,
            Some(v) => match v.parse::<i64>() {
                Ok(age) if age >= 0 => Some(age),
                _ => return fail(ErrorCode::InvalidRequest, "max_age must be a whole number of seconds"),
            },
        };
        if let Some(acr) = params.get("acr_values").map_err(|e| (e, mode))? {
            let tenant = acr.split(' ').find_map(|v| v.strip_prefix("tenant:"));
            if tenant.is_some_and(|t| Uuid::parse_str(t).ok() != Some(client.tenant_id)) {
                return fail(ErrorCode::InvalidRequest, "the client does not belong to the tenant in acr_values");
            }
        }
        let state = params.get("state").map_err(|e| (e, mode))?;
        Ok(Checked { client, redirect_uri, types, mode, scopes: requested, state, nonce, challenge, prompt, max_age })
    }

    fn error_response(
        &self,
        redirect_uri: &str,
        mode: ResponseMode,
        e: ProtocolError,
        state: Option<&str>,
    ) -> AuthorizeResponse {
        let mut params = vec![
            ("error".to_owned(), e.code.as_str().to_owned()),
            ("error_description".to_owned(), e.description.into_owned()),
        ];
        if let Some(s) = state {
            params.push(("state".into(), s.into()));
        }
        params.push(("iss".into(), self.settings.issuer.clone()));
        AuthorizeResponse { redirect_uri: redirect_uri.to_owned(), mode, params }
    }

    async fn issue(
        &self,
        c: Checked<'_>,
        user: &User,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<AuthorizeResponse, ProtocolError> {
        let family = Uuid::new_v4();
        let (code, handle) = new_handle()?;
        let scope = c.scopes.join(" ");
        self.stores
            .grants
            .save_code(AuthorizationCode {
                handle,
                client_id: c.client.id,
                tenant_id: c.client.tenant_id,
                user_id: user.id,
                redirect_uri: c.redirect_uri.clone(),
                scope: scope.clone(),
                nonce: c.nonce.map(str::to_owned),
                code_challenge: c.challenge.map(str::to_owned),
                sid: session.sid.clone(),
                auth_time: session.auth_time,
                expires: now + self.settings.code_lifetime,
                family,
            })
            .await?;
        let mut params = vec![("code".to_owned(), code.expose().to_owned())];
        let access_token = if c.types.contains(&"token") {
            let (token, _) = self.issue_access_token(&c.client, user.id.to_string(), &scope, Some(family), now)?;
            params.push(("access_token".into(), token.clone()));
            params.push(("token_type".into(), "Bearer".into()));
            params.push(("expires_in".into(), c.client.access_token_lifetime.to_string()));
            Some(token)
        } else {
            None
        };
        if c.types.contains(&"id_token") {
            let parts = IdTokenParts {
                nonce: c.nonce,
                access_token: access_token.as_deref(),
                code: Some(code.expose()),
                sid: &session.sid,
                auth_time: Some(session.auth_time),
                scopes: &[],
            };
            params.push(("id_token".into(), self.issue_id_token(&c.client, user, parts, now)?));
        }
        if let Some(s) = c.state {
            params.push(("state".into(), s.into()));
        }
        params.push(("iss".into(), self.settings.issuer.clone()));
        Ok(AuthorizeResponse { redirect_uri: c.redirect_uri, mode: c.mode, params })
    }
}

/// RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters of the unreserved set.
pub(crate) fn valid_challenge(c: &str) -> bool {
    (43..=128).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The app an authorize request is for, as the sign-in page names it to the person: the
/// product's model shows a client's `Name` and `ClientUri` to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestingClient {
    pub name: String,
    pub client_uri: Option<String>,
}

impl Provider {
    /// The enabled interactive client named by `return_to` (our own authorize URL, as the
    /// sign-in page carries it), if any.
    pub async fn requesting_client(&self, return_to: &str) -> Option<RequestingClient> {
        let query = return_to.strip_prefix("/identity/connect/authorize?")?;
        let id = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "client_id")?.1;
        let (client, _) = self.stores.clients.find_client(Uuid::parse_str(&id).ok()?).await.ok()??;
        (client.enabled && client.kind.is_interactive())
            .then_some(RequestingClient { name: client.name, client_uri: client.client_uri })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_checked_for_shape() {
        assert!(valid_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!valid_challenge("short"));
        assert!(!valid_challenge(&"a".repeat(43).replace('a', "+")));
    }
}
