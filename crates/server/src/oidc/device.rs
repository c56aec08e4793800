//! The device authorization grant's HTTP side (RFC 8628): the device authorization endpoint,
//! and the verification page where a person types a user code (or follows
//! `verification_uri_complete`), signs in with the sign-in page, sees which app asks for
//! what, and approves or denies. The page carries the sign-in page's protections (CSP,
//! framing refused, a double-submit CSRF token on the decision); look-ups are throttled by
//! the provider. No code ever reaches the log.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_provider::device::{DeviceDecided, PendingDevice, UserCodeLookup};
use gatehouse_registry::grant::Session;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde::Deserialize;

use super::account::{csrf_ok, with_csrf, SESSION_COOKIE};
use super::html;
use crate::client_address::client_address;
use crate::http_error::OAuthError;
use crate::AppState;

/// The verification page (`verification_uri`), and where its decision is posted.
pub const VERIFY: &str = "/identity/device";
pub const DECIDE: &str = "/identity/device/decide";

/// `POST /identity/connect/deviceauthorization` (RFC 8628 §3.1, §3.2).
pub async fn authorization(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let answer = state.provider.device_authorization(super::token_request(&req, &state, payload).await?).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(answer))
}

/// The browser's live session, if it has one and its user is enabled.
async fn session(req: &HttpRequest, state: &AppState) -> Option<Session> {
    let cookie = req.cookie(SESSION_COOKIE)?;
    let found = state.provider.session(cookie.value()).await.ok().flatten()?;
    found.user.is_some_and(|u| u.enabled).then_some(found.record)
}

#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    user_code: Option<String>,
}

/// `GET /identity/device[?user_code=...]`: without a code, the form to type one (a GET form:
/// the look-up is what `verification_uri_complete` does too). With one: looked up (counted
/// first); a pending request is shown to a person signed in to its tenant, and anyone else
/// is sent to the sign-in page first, to come back here.
pub async fn verify(req: HttpRequest, state: web::Data<AppState>, query: web::Query<VerifyQuery>) -> HttpResponse {
    let Some(typed) = query.user_code.as_deref().filter(|c| !c.trim().is_empty()) else {
        return code_form(None, StatusCode::OK);
    };
    let session = session(&req, &state).await;
    let address = client_address(&req, &state.trusted_proxies);
    match state.provider.look_up_user_code(typed, session.as_ref(), address).await {
        Ok(UserCodeLookup::Found(pending)) => match session.filter(|s| s.tenant_id == pending.tenant_id) {
            Some(_) => with_csrf(&state, |csrf| confirm(csrf, &pending)),
            None => sign_in_first(&pending),
        },
        Ok(UserCodeLookup::NotFound) => code_form(
            Some("That code is not valid, or it has expired. Check the code on your device."),
            StatusCode::BAD_REQUEST,
        ),
        Ok(UserCodeLookup::Throttled) => throttled(),
        Err(e) => {
            tracing::error!(detail = ?e.detail, "user code look-up failed");
            html::message(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Try again later.")
        }
    }
}

/// The sign-in page for the request's tenant, coming back to this page with the code.
fn sign_in_first(pending: &PendingDevice) -> HttpResponse {
    let back = format!("{VERIFY}?{}", encode(&[("user_code", &pending.user_code)]));
    let tenant = pending.tenant_id.to_string();
    let login = format!("/identity/account/login?{}", encode(&[("tenant", &tenant), ("return", &back)]));
    HttpResponse::SeeOther().insert_header((header::LOCATION, login)).finish()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: String,
    user_code: String,
    decision: String,
}

/// The user code and the CSRF token are never shown.
impl std::fmt::Debug for DecideForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecideForm").field("decision", &self.decision).finish_non_exhaustive()
    }
}

/// `POST /identity/device/decide`: the person approved or denied. CSRF-checked; the session
/// must still be there and of the request's tenant (the provider checks that too).
pub async fn decide(req: HttpRequest, state: web::Data<AppState>, form: web::Form<DecideForm>) -> HttpResponse {
    let form = form.into_inner();
    if !csrf_ok(&req, &state, &form.csrf) {
        return html::message(StatusCode::FORBIDDEN, "The form expired", "Enter the code from your device again.");
    }
    let Some(session) = session(&req, &state).await else {
        return code_form(Some("Your sign-in has ended. Enter the code again."), StatusCode::UNAUTHORIZED);
    };
    let approve = match form.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return html::message(StatusCode::BAD_REQUEST, "Unknown answer", "Approve or deny the request."),
    };
    let address = client_address(&req, &state.trusted_proxies);
    match state.provider.decide_device(&form.user_code, approve, &session, address).await {
        Ok(DeviceDecided::Approved(p)) => done(
            "Device connected",
            &format!("{} is now signed in. You may return to your device and close this page.", p.client_name),
        ),
        Ok(DeviceDecided::Denied(p)) => {
            done("Request denied", &format!("{} was not given access. You may close this page.", p.client_name))
        }
        Ok(DeviceDecided::NotFound) => code_form(
            Some("That code is not valid, or it has expired. Check the code on your device."),
            StatusCode::BAD_REQUEST,
        ),
        Ok(DeviceDecided::Throttled) => throttled(),
        Err(e) => {
            tracing::error!(detail = ?e.detail, "device decision failed");
            html::message(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Try again later.")
        }
    }
}

fn throttled() -> HttpResponse {
    let mut page = html::message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "Too many codes were tried. Wait a few minutes, then try again.",
    );
    page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    page
}

fn done(title: &str, message: &str) -> HttpResponse {
    html::page(
        StatusCode::OK,
        title,
        &format!("<h1 id=\"result\">{}</h1><p>{}</p>", text(title), text(message)),
        None,
        "'self'",
    )
}

/// The form to type a code: `XXXX-XXXX`, any case, with or without the dash.
fn code_form(message: Option<&str>, status: StatusCode) -> HttpResponse {
    let error = message.map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", text(m))).unwrap_or_default();
    let body = format!(
        "<h1>Connect a device</h1><p>Enter the code shown on your device.</p>{error}\
         <form method=\"get\" action=\"{VERIFY}\"><label for=\"user_code\">Code</label>\
         <input type=\"text\" id=\"user_code\" name=\"user_code\" autocomplete=\"one-time-code\" \
         autocapitalize=\"characters\" spellcheck=\"false\" placeholder=\"XXXX-XXXX\" maxlength=\"32\" required autofocus>\
         <button type=\"submit\" id=\"next\">Next</button></form>"
    );
    html::page(status, "Connect a device", &body, None, "'self'")
}

/// What the scopes let the app do, in words.
fn scope_text(scope: &str) -> &str {
    match scope {
        "openid" => "Know who you are",
        "profile" => "See your name",
        "email" => "See your e-mail address",
        "ocsapi" => "Use the API as you",
        "offline_access" => "Stay signed in when you are away",
        other => other,
    }
}

/// Which app asks for what, the code to compare with the device (RFC 8628 §5.4), and the
/// two buttons, posting with a CSRF token.
fn confirm(csrf: &str, p: &PendingDevice) -> HttpResponse {
    let name = text(&p.client_name);
    let link = p.client_uri.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let app = match link {
        Some(uri) => format!("<a id=\"app\" href=\"{}\" rel=\"noopener noreferrer\">{name}</a>", attr(uri)),
        None => format!("<strong id=\"app\">{name}</strong>"),
    };
    let scopes: String =
        p.scopes.iter().map(|s| format!("<li data-scope=\"{}\">{}</li>", attr(s), text(scope_text(s)))).collect();
    let asks =
        if scopes.is_empty() { String::new() } else { format!("<p>It asks to:</p><ul id=\"scopes\">{scopes}</ul>") };
    let body = format!(
        "<h1>Connect a device?</h1><p>{app} on a device wants to sign in as you.</p>{asks}\
         <p>Check that your device shows this code: <strong id=\"code\">{}</strong></p>\
         <form method=\"post\" action=\"{DECIDE}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"user_code\" value=\"{}\">\
         <button type=\"submit\" id=\"approve\" name=\"decision\" value=\"approve\">Approve</button>\
         <button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\" \
         style=\"background:#fff;color:#1f5fa8;border:1px solid #1f5fa8\">Deny</button></form>",
        text(&p.user_code),
        attr(csrf),
        attr(&p.user_code),
    );
    html::page(StatusCode::OK, "Connect a device", &body, None, "'self'")
}
