//! `GET|POST /identity/connect/authorize` and `GET|POST /identity/connect/endsession`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_provider::authorize::{Authorize, ResponseMode};
use gatehouse_provider::params::Params;
use gatehouse_registry::SecretValue;

use super::account::{end_session, SESSION_COOKIE};
use super::html;
use crate::AppState;

/// The parameters of a GET (query) or POST (form body) request, repeats kept.
fn params_of(req: &HttpRequest, body: &web::Bytes) -> Params {
    let raw: &[u8] = if req.method() == actix_web::http::Method::POST { body } else { req.query_string().as_bytes() };
    Params::new(url::form_urlencoded::parse(raw).into_owned().collect())
}

pub async fn authorize(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    // A cross-site POST carries no SameSite=Lax session cookie; the same request as a
    // top-level GET does. So a POST is answered with 303 to itself as a GET.
    if req.method() == actix_web::http::Method::POST {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(url::form_urlencoded::parse(&body))
            .finish();
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/identity/connect/authorize?{query}")))
            .finish();
    }
    let params = params_of(&req, &body);
    let session = match req.cookie(SESSION_COOKIE) {
        Some(c) => state.provider.session(c.value()).await.ok().flatten(),
        None => None,
    };
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
            let nonce = SecretValue::generate().map(|s| s.expose().to_owned()).unwrap_or_default();
            html::form_post(&answer.redirect_uri, &answer.params, &nonce)
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

/// RP-initiated logout: the session ends whatever else happens; the browser goes back
/// only to a URI registered for the client.
pub async fn endsession(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let params = params_of(&req, &body);
    let logout =
        state.provider.logout(&params).await.unwrap_or(gatehouse_provider::endpoints::Logout { redirect: None });
    let mut response = match logout.redirect {
        Some(url) => HttpResponse::Found().insert_header((header::LOCATION, url)).finish(),
        None => html::message(StatusCode::OK, "Signed out", "You are signed out. You may close this page."),
    };
    end_session(&req, &state, &mut response).await;
    response
}
