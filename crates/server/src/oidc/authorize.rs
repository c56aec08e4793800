//! `GET|POST /identity/connect/authorize` and `GET|POST /identity/connect/endsession`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_provider::authorize::{Authorize, ResponseMode};
use gatehouse_provider::params::Params;
use gatehouse_registry::grant::{Session, WithUser};

use super::account::{confirm_logout, end_session, SESSION_COOKIE};
use super::html;
use crate::AppState;

/// The parameters of a GET (query) or POST (form body) request, repeats kept.
fn params_of(req: &HttpRequest, body: &web::Bytes) -> Params {
    let raw: &[u8] = if req.method() == actix_web::http::Method::POST { body } else { req.query_string().as_bytes() };
    Params::new(url::form_urlencoded::parse(raw).into_owned().collect())
}

/// The longest authorize request body read (a request fits in a few KiB).
const AUTHORIZE_POST_MAX: usize = 16 * 1024;

pub async fn authorize(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    // A cross-site POST carries no SameSite=Lax session cookie; the same request as a
    // top-level GET does. So a POST is answered with 303 to itself as a GET.
    if req.method() == actix_web::http::Method::POST {
        // The GET it becomes carries the whole request in its Location.
        if body.len() > AUTHORIZE_POST_MAX {
            return html::message(StatusCode::BAD_REQUEST, "This sign-in request cannot be served", "It is too long.");
        }
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(url::form_urlencoded::parse(&body))
            .finish();
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/identity/connect/authorize?{query}")))
            .finish();
    }
    let params = params_of(&req, &body);
    let session = session_of(&req, &state).await;
    match state.provider.authorize(&params, session.as_ref()).await {
        Ok(Authorize::Refuse(e)) => {
            tracing::info!(error = e.code.as_str(), "authorize request refused");
            html::message(StatusCode::BAD_REQUEST, "This sign-in request cannot be served", &e.description)
        }
        Ok(Authorize::Login { tenant_id, return_to }) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("tenant", &tenant_id.to_string())
                .append_pair("return", &return_to)
                .finish();
            HttpResponse::Found().insert_header((header::LOCATION, format!("/identity/account/login?{query}"))).finish()
        }
        Ok(Authorize::Respond(answer)) if answer.mode == ResponseMode::FormPost => {
            html::form_post(&answer.redirect_uri, &answer.params)
        }
        Ok(Authorize::Respond(answer)) => {
            HttpResponse::Found().insert_header((header::LOCATION, answer.location())).finish()
        }
        Err(e) => {
            tracing::error!(detail = ?e.detail, "authorize failed");
            html::message(StatusCode::INTERNAL_SERVER_ERROR, "Sign-in is unavailable", "Try again later.")
        }
    }
}

/// The browser's session, if its cookie names a live one.
async fn session_of(req: &HttpRequest, state: &AppState) -> Option<WithUser<Session>> {
    let cookie = req.cookie(SESSION_COOKIE)?;
    state.provider.session(cookie.value()).await.ok().flatten()
}

/// RP-initiated logout. With a valid `id_token_hint` for this very session the session ends
/// at once; otherwise the person is asked first (RP-Initiated Logout 1.0 §2), so that no
/// other site can sign people out with a link. The browser goes back only to a URI
/// registered for the client.
pub async fn endsession(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let params = params_of(&req, &body);
    let session = session_of(&req, &state).await;
    let logout = state
        .provider
        .logout(&params, session.as_ref().map(|s| &s.record))
        .await
        .unwrap_or(gatehouse_provider::endpoints::Logout { redirect: None, confirm: session.is_some() });
    if logout.confirm {
        return confirm_logout(&state, params.pairs());
    }
    let mut response = match logout.redirect {
        Some(url) => HttpResponse::Found().insert_header((header::LOCATION, url)).finish(),
        None => html::signed_out(),
    };
    end_session(&req, &state, &mut response).await;
    response
}
