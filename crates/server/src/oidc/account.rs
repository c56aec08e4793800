//! Sign-in and sign-out pages for the tenant's local users. The form has a CSRF token
//! (double submit: a SameSite=Strict cookie and a hidden field), pages refuse framing,
//! passwords are checked on the blocking pool, attempts are throttled (counted before the
//! check, in the store), and a wrong user name and a wrong password get the same answer.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_provider::session::Admission;
use gatehouse_registry::SecretValue;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::html;
use crate::client_address::client_address;
use crate::metrics::{self, SignIn};
use crate::AppState;

pub const SESSION_COOKIE: &str = "gatehouse_session";
const CSRF_COOKIE: &str = "gatehouse_csrf";
const GENERIC: &str = "The user name or password is incorrect.";

/// Cookies are `Secure` unless the issuer is plain http on a loopback host (protocol.md).
fn secure(state: &AppState) -> bool {
    let issuer = &state.provider.settings().issuer;
    !url::Url::parse(issuer).is_ok_and(|u| u.scheme() == "http" && gatehouse_registry::uri::is_loopback_host(&u))
}

pub fn cookie<'a>(state: &AppState, name: &'a str, value: String, same_site: SameSite) -> Cookie<'a> {
    Cookie::build(name, value).path("/identity").http_only(true).same_site(same_site).secure(secure(state)).finish()
}

/// The CSRF cookie's name. Over https it is `__Host-` prefixed: browsers then accept it only
/// `Secure`, for the whole host (`Path=/`) and without `Domain`, so no sibling subdomain and
/// no plain-http page can plant a value of its own (RFC 6265bis §4.1.3.2).
fn csrf_cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        "__Host-gatehouse_csrf"
    } else {
        CSRF_COOKIE
    }
}

fn csrf_token() -> String {
    SecretValue::generate().map(|s| s.expose().to_owned()).unwrap_or_default()
}

/// Only our own authorize endpoint and device verification page are places to come back
/// to: no open redirect. The query is encoded again, so what comes back is exactly our path
/// and well-formed parameters.
fn safe_return(r: &str) -> Option<String> {
    let (path, query) = ["/identity/connect/authorize", super::device::VERIFY]
        .into_iter()
        .find_map(|path| Some((path, r.strip_prefix(path)?.strip_prefix('?')?)))?;
    let clean = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(url::form_urlencoded::parse(query.as_bytes()))
        .finish();
    Some(format!("{path}?{clean}"))
}

/// The double-submit check: the form's `csrf` field equals the SameSite=Strict cookie.
pub(crate) fn csrf_ok(req: &HttpRequest, state: &AppState, field: &str) -> bool {
    req.cookie(csrf_cookie_name(state))
        .is_some_and(|c| !field.is_empty() && bool::from(c.value().as_bytes().ct_eq(field.as_bytes())))
}

/// A fresh CSRF token: the value for the form, with its cookie set on `page`.
pub(crate) fn with_csrf(state: &AppState, page: impl FnOnce(&str) -> HttpResponse) -> HttpResponse {
    let csrf = csrf_token();
    let mut page = page(&csrf);
    let mut csrf_cookie = cookie(state, csrf_cookie_name(state), csrf, SameSite::Strict);
    if csrf_cookie.name().starts_with("__Host-") {
        csrf_cookie.set_path("/");
    }
    let _ = page.add_cookie(&csrf_cookie);
    page
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    tenant: Option<String>,
    #[serde(rename = "return")]
    return_to: Option<String>,
}

async fn form_page(
    state: &AppState,
    tenant: &str,
    return_to: &str,
    user: &str,
    message: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let app = state.provider.requesting_client(return_to).await;
    with_csrf(state, |csrf| html::login(csrf, tenant, return_to, user, app.as_ref(), message, status))
}

pub async fn login_form(state: web::Data<AppState>, query: web::Query<LoginQuery>) -> HttpResponse {
    let tenant = query.tenant.clone().unwrap_or_default();
    let return_to = query.return_to.as_deref().and_then(safe_return).unwrap_or_default();
    form_page(&state, &tenant, &return_to, "", None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    tenant: String,
    #[serde(rename = "return")]
    return_to: String,
    username: String,
    password: String,
}

/// The password and the CSRF token are never shown.
impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("tenant", &self.tenant)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The tenant a form names, or the only one there is.
async fn tenant_of(state: &AppState, given: &str) -> Option<Uuid> {
    if let Ok(id) = Uuid::parse_str(given) {
        return Some(id);
    }
    match state.registry.tenants.list_tenants().await {
        Ok(t) if t.len() == 1 => Some(t[0].id),
        _ => None,
    }
}

pub async fn login(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LoginForm>) -> HttpResponse {
    let form = form.into_inner();
    let return_to = safe_return(&form.return_to).unwrap_or_default();
    if !csrf_ok(&req, &state, &form.csrf) {
        metrics::sign_in(SignIn::FormExpired);
        return form_page(
            &state,
            &form.tenant,
            &return_to,
            "",
            Some("The form expired; please sign in again."),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let Some(tenant_id) = tenant_of(&state, &form.tenant).await else {
        metrics::sign_in(SignIn::UnknownTenant);
        return html::message(StatusCode::BAD_REQUEST, "Unknown tenant", "Start again from the application.");
    };
    let again = |message: &'static str, status| {
        form_page(&state, &form.tenant, &return_to, &form.username, Some(message), status)
    };
    let address = client_address(&req, &state.trusted_proxies);
    let origin = crate::audit::origin(&req, &state);
    let attempt = match admit(&state, tenant_id, &form.username, address).await {
        Ok(Admission::Admitted(attempt)) => attempt,
        Ok(Admission::Throttled(attempt)) => {
            metrics::sign_in(SignIn::Throttled);
            if let Err(e) = state.provider.sign_in_throttled(tenant_id, &form.username, &attempt, &origin).await {
                tracing::warn!(detail = ?e.detail, "could not record a throttled sign-in in the audit trail");
            }
            return again(
                "Too many failed attempts. Wait a few minutes, then try again.",
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
        }
        Ok(Admission::Refused) => {
            metrics::sign_in(SignIn::BadCredentials);
            return again(GENERIC, StatusCode::UNAUTHORIZED).await;
        }
        Err(e) => {
            metrics::sign_in(SignIn::Error);
            tracing::error!(detail = ?e.detail, "sign-in throttle unavailable");
            return html::message(StatusCode::INTERNAL_SERVER_ERROR, "Sign-in failed", "Try again later.");
        }
    };
    let user = state.provider.user_for_sign_in(tenant_id, &form.username).await.ok().flatten();
    // Without a user the same work is done against a dummy hash, so timing tells nothing.
    let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| state.dummy_hash.clone());
    let password = SecretValue::new(form.password);
    let Some(verified) = state.passwords.verify(hash, password).await else {
        // Not checked: it does not count against the user name.
        let _ = state.provider.withdraw_attempt(&attempt).await;
        metrics::sign_in(SignIn::Busy);
        let mut busy =
            again("Too many sign-ins at once. Try again in a moment.", StatusCode::SERVICE_UNAVAILABLE).await;
        busy.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static(crate::passwords::RETRY_AFTER));
        return busy;
    };
    let user = match user {
        Some(user) if verified => user,
        user => {
            metrics::sign_in(SignIn::BadCredentials);
            tracing::info!(tenant = %tenant_id, "sign-in failed");
            if let Err(e) = state.provider.sign_in_failed(tenant_id, &form.username, user.as_ref(), &origin).await {
                tracing::warn!(detail = ?e.detail, "could not record a failed sign-in in the audit trail");
            }
            return again(GENERIC, StatusCode::UNAUTHORIZED).await;
        }
    };
    if let Err(e) = state.provider.sign_in_succeeded(&attempt).await {
        tracing::warn!(detail = ?e.detail, "could not clear the sign-in counters");
    }
    let Ok((value, _)) = state.provider.start_session(&user, &origin).await else {
        metrics::sign_in(SignIn::Error);
        return html::message(StatusCode::INTERNAL_SERVER_ERROR, "Sign-in failed", "Try again later.");
    };
    metrics::sign_in(SignIn::Success);
    let session = cookie(&state, SESSION_COOKIE, value.expose().to_owned(), SameSite::Lax);
    if return_to.is_empty() {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/identity/account/signedin"))
            .cookie(session)
            .finish();
    }
    let mut next = move_on(&req, "Signing in", &return_to);
    let _ = next.add_cookie(&session);
    next
}

/// The answer to a form of ours whose next step may redirect to a client. A browser (it says
/// so with `Sec-Fetch-Mode: navigate`) applies the page's `form-action` to every redirect
/// after the submission, so it gets a page of ours that moves on (`html::continue_to`). A
/// program speaking HTTP neither enforces CSP nor runs a page: it gets the 303 it follows.
fn move_on(req: &HttpRequest, heading: &str, target: &str) -> HttpResponse {
    let browser = req.headers().get("sec-fetch-mode").is_some_and(|m| m.as_bytes().eq_ignore_ascii_case(b"navigate"));
    if browser {
        return html::continue_to(heading, target);
    }
    HttpResponse::SeeOther().insert_header((header::LOCATION, target)).finish()
}

/// How long an attempt over the limit waits for the attempts being checked to settle, and
/// how often it looks again.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);
const SETTLE_STEP: std::time::Duration = std::time::Duration::from_millis(200);

/// Counts the attempt before its password is checked, in the store every instance shares.
/// Over the limit, it waits a little: the limit counts attempts still being checked, and
/// those that succeed clear their user name (several devices signing in to one account at
/// once). Failures stay counted, so a flood of wrong passwords is refused after the wait and
/// gets no more checks than the limit allows.
async fn admit(
    state: &AppState,
    tenant_id: Uuid,
    user_name: &str,
    address: Option<std::net::IpAddr>,
) -> Result<Admission, gatehouse_provider::ProtocolError> {
    let started = std::time::Instant::now();
    loop {
        let admission = state.provider.admit_sign_in(tenant_id, user_name, address).await?;
        let Admission::Throttled(attempt) = &admission else { return Ok(admission) };
        if started.elapsed() >= SETTLE {
            return Ok(admission);
        }
        state.provider.withdraw_attempt(attempt).await?;
        tokio::time::sleep(SETTLE_STEP).await;
    }
}

pub async fn signed_in() -> HttpResponse {
    html::message(StatusCode::OK, "Signed in", "You are signed in. You may close this page.")
}

/// Asks the person before their session ends; the answer comes to [`logout`].
pub fn confirm_logout(state: &AppState, params: &[(String, String)]) -> HttpResponse {
    with_csrf(state, |csrf| html::confirm_logout(csrf, params))
}

/// `POST /identity/account/logout`: the person confirmed. The end-session request is checked
/// again as it came (nothing in the form is trusted), the session ends, and the browser goes
/// back to a registered URI (see [`move_on`]).
pub async fn logout(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let csrf = pairs.iter().position(|(k, _)| k == "csrf").map(|i| pairs.remove(i).1).unwrap_or_default();
    if !csrf_ok(&req, &state, &csrf) {
        return html::message(StatusCode::FORBIDDEN, "The form expired", "Start again from the application.");
    }
    let params = gatehouse_provider::params::Params::new(pairs);
    let redirect = state.provider.logout(&params, None).await.ok().and_then(|l| l.redirect);
    let mut response = match redirect {
        Some(url) => move_on(&req, "Signed out", &url),
        None => html::signed_out(),
    };
    end_session(&req, &state, &mut response).await;
    response
}

/// Ends the browser's session and clears its cookie.
pub async fn end_session(req: &HttpRequest, state: &AppState, response: &mut HttpResponse) {
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        let _ = state.provider.end_session_cookie(c.value(), &crate::audit::origin(req, state)).await;
    }
    let mut gone = cookie(state, SESSION_COOKIE, String::new(), SameSite::Lax);
    gone.make_removal();
    let _ = response.add_cookie(&gone);
}
