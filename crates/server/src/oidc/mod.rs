//! The protocol endpoints under `/identity` (protocol.md, Paths). Thin handlers: extract,
//! call one provider function, map the result.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;
use gatehouse_provider::{ProtocolError, TokenRequest};

use crate::http_error::OAuthError;
use crate::AppState;

pub mod account;
mod authorize;
pub mod cors;
mod device;
mod html;

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

/// The `Authorization` header, if there is one. `Err` when it is repeated (refused, rather
/// than one of the two chosen silently) or not text.
pub(crate) fn authorization_header(req: &HttpRequest) -> Result<Option<&str>, ()> {
    let mut all = req.headers().get_all(header::AUTHORIZATION);
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value.to_str().map(Some).map_err(|_| ()),
        (Some(_), Some(_)) => Err(()),
    }
}

pub(crate) async fn token_request(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<TokenRequest, ProtocolError> {
    let authorization = authorization_header(req)
        .map_err(|()| ProtocolError::invalid_request("the Authorization header is repeated or unreadable"))?
        .map(str::to_owned);
    let form = form_body(req, payload).await?;
    Ok(TokenRequest { form, authorization, origin: crate::audit::origin(req, state) })
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /identity/connect/token`. Counted here, where the result is mapped (decision 48):
/// the grant type from the form, the outcome from the result's error code.
async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let (grant_type, result) = match token_request(&req, &state, payload).await {
        Ok(request) => (crate::metrics::grant_type_label(&request.form), state.provider.token(request).await),
        Err(e) => ("other", Err(e)),
    };
    crate::metrics::token_request(grant_type, result.as_ref().map(|_| ()).map_err(|e| e.code));
    let response = result?;
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

/// `GET /identity/.well-known/openid-configuration`: readable from any origin.
async fn discovery(state: web::Data<AppState>) -> Result<HttpResponse, OAuthError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")))
        .json(state.provider.discovery()?))
}

/// The bearer token of a request: the header (RFC 6750 §2.1) or, on POST, the form field
/// `access_token` (§2.2).
async fn bearer(req: &HttpRequest, payload: web::Payload) -> Option<String> {
    if let Some(h) = authorization_header(req).ok()? {
        return h.split_once(' ').filter(|(s, _)| s.eq_ignore_ascii_case("bearer")).map(|(_, t)| t.trim().to_owned());
    }
    if req.method() == actix_web::http::Method::POST {
        let form = form_body(req, payload).await.ok()?;
        return form.into_iter().find(|(k, _)| k == "access_token").map(|(_, v)| v);
    }
    None
}

/// `GET|POST /identity/connect/userinfo`: a bad token is 401 with
/// `WWW-Authenticate: Bearer error="invalid_token"` (OIDC Core §5.3.3, RFC 6750 §3).
async fn userinfo(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    let challenge = |error: &str| {
        HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, format!(r#"Bearer error="{error}""#)))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()
    };
    let Some(token) = bearer(&req, payload).await else {
        return HttpResponse::Unauthorized().insert_header((header::WWW_AUTHENTICATE, "Bearer")).finish();
    };
    match state.provider.userinfo(&token).await {
        Ok(claims) => no_store(HttpResponse::Ok().json(claims)),
        Err(e) if e.code == gatehouse_provider::ErrorCode::InsufficientScope => HttpResponse::Forbidden()
            .insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="insufficient_scope""#))
            .finish(),
        Err(e) if e.code == gatehouse_provider::ErrorCode::ServerError => OAuthError(e).error_response(),
        Err(_) => challenge("invalid_token"),
    }
}

/// `POST /identity/connect/revocation` (RFC 7009 §2.2: 200 whatever the token was).
async fn revocation(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    state.provider.revoke(token_request(&req, &state, payload).await?).await?;
    Ok(no_store(HttpResponse::Ok().finish()))
}

/// `POST /identity/connect/introspect` (RFC 7662).
async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let answer = state.provider.introspect(token_request(&req, &state, payload).await?).await?;
    Ok(no_store(HttpResponse::Ok().json(answer)))
}

/// Every path here is lower case and has no parameter: requests under `/identity` are
/// lower-cased before routing (admin/dialect.rs), as the product's paths match in any case.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use web::{get, post};
    cfg.service(web::resource("/identity/connect/token").route(post().to(token)))
        .service(
            web::resource("/identity/connect/authorize")
                .route(get().to(authorize::authorize))
                .route(post().to(authorize::authorize)),
        )
        .service(
            web::resource("/identity/connect/endsession")
                .route(get().to(authorize::endsession))
                .route(post().to(authorize::endsession)),
        )
        .service(web::resource("/identity/connect/userinfo").route(get().to(userinfo)).route(post().to(userinfo)))
        .service(web::resource("/identity/connect/revocation").route(post().to(revocation)))
        .service(web::resource("/identity/connect/introspect").route(post().to(introspect)))
        .service(web::resource("/identity/connect/deviceauthorization").route(post().to(device::authorization)))
        .service(web::resource(device::VERIFY).route(get().to(device::verify)))
        .service(web::resource(device::DECIDE).route(post().to(device::decide)))
        .service(
            web::resource("/identity/account/login")
                .route(get().to(account::login_form))
                .route(post().to(account::login)),
        )
        .service(web::resource("/identity/account/logout").route(post().to(account::logout)))
        .service(web::resource("/identity/account/signedin").route(get().to(account::signed_in)))
        .service(web::resource("/identity/.well-known/openid-configuration").route(get().to(discovery)))
        .service(web::resource("/identity/.well-known/openid-configuration/jwks").route(get().to(jwks)));
}
