//! Every request, whatever it asks: an id, a span, and one access line.
//!
//! The id is a new GUID, the admin API's `Operation-Id` (and an error body's `OperationId`);
//! every line logged while the request is served carries it (the `request` span), and so does
//! the access line written when it ends: method, path (never the query, which may carry codes
//! and tokens), route template, status, duration and the client's address (as
//! `client_address` reads it, so a client cannot write its own into the log).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;
use uuid::Uuid;

use crate::client_address::client_address;
use crate::http_error::in_operation;
use crate::AppState;

/// The middleware, outermost: everything below it, errors included, runs inside the request's
/// operation and span.
pub async fn requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = Uuid::new_v4();
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let trusted = req.app_data::<web::Data<AppState>>().map(|s| s.trusted_proxies.clone()).unwrap_or_default();
    let client = client_address(req.request(), &trusted);
    let span = tracing::info_span!("request", request_id = %id);
    let result = in_operation(id, next.call(req)).instrument(span).await;
    let (status, route) = match &result {
        Ok(response) => (response.status(), response.request().match_pattern()),
        Err(e) => (e.as_response_error().status_code(), None),
    };
    tracing::info!(
        target: "gatehouse::access",
        request_id = %id,
        method = method.as_str(),
        path,
        // The resource's pattern, as registered (`/api/v1/Tenants/{tenant_id}/Users`); `-` when
        // no route matched.
        route = route.as_deref().unwrap_or("-"),
        status = status.as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        client = client.map(tracing::field::display),
        "request"
    );
    result.map(ServiceResponse::map_into_boxed_body)
}
