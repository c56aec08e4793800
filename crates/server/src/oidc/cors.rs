//! CORS for the token, userinfo and revocation endpoints and the admin API, from the
//! clients' `AllowedCorsOrigins`, read live on every request (protocol.md, CORS).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::AppState;

const CORS_PATHS: [&str; 3] = ["/identity/connect/token", "/identity/connect/userinfo", "/identity/connect/revocation"];

fn applies(path: &str) -> bool {
    CORS_PATHS.contains(&path) || path.starts_with("/api/")
}

/// Answers preflights and adds `Access-Control-Allow-Origin` for allowed origins.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !applies(req.path()) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let origin = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()).map(str::to_owned);
    let Some(origin) = origin else {
        // The answer depends on the Origin even when there is none, and says so: a cache that
        // kept a navigation's answer (no Access-Control-Allow-Origin) must not hand it to a
        // CORS request later (Fetch, "CORS protocol and HTTP caches").
        let mut response = next.call(req).await?.map_into_boxed_body();
        response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
        return Ok(response);
    };
    let allowed = match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.registry.clients.cors_origin_allowed(&origin.to_ascii_lowercase()).await.unwrap_or(false),
        None => false,
    };
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut response = HttpResponse::NoContent();
        response.insert_header((header::VARY, "Origin"));
        if allowed {
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_str()))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, POST, PUT, DELETE"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type"))
                .insert_header((header::ACCESS_CONTROL_EXPOSE_HEADERS, "Total-Count, Operation-Id"))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
        }
        return Ok(req.into_response(response.finish()));
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed {
        if let Ok(v) = HeaderValue::from_str(&origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            headers
                .insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Total-Count, Operation-Id"));
        }
    }
    Ok(response)
}
