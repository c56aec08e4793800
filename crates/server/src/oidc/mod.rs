//! The protocol endpoints under `/identity` (protocol.md, Paths). Thin handlers: extract,
//! call one provider function, map the result.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use gatehouse_provider::{ProtocolError, TokenRequest};

use crate::http_error::OAuthError;
use crate::AppState;

/// The largest form the token endpoint reads.
const FORM_LIMIT: usize = 16 * 1024;

/// Reads an `application/x-www-form-urlencoded` body, keeping repeats so the provider can
/// refuse them (RFC 6749 §3.2).
async fn form_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<(String, String)>, ProtocolError> {
    let is_form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !is_form {
        return Err(ProtocolError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ProtocolError::invalid_request("the body could not be read"))?;
        if body.len() + chunk.len() > FORM_LIMIT {
            return Err(ProtocolError::invalid_request("the body is too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(url::form_urlencoded::parse(&body).into_owned().collect())
}

/// `POST /identity/connect/token`.
async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let form = form_body(&req, payload).await?;
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let response = state.provider.token(TokenRequest { form, authorization }).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(response))
}

/// `GET /identity/.well-known/openid-configuration/jwks`: readable from any origin.
async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, OAuthError> {
    let keys = state.provider.jwks()?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60")))
        .json(keys))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/identity/connect/token").route(web::post().to(token)))
        .service(web::resource("/identity/.well-known/openid-configuration/jwks").route(web::get().to(jwks)));
}
