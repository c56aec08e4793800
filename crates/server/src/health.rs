//! Health for load balancers and orchestrators: `GET /health/live` (the process serves) and
//! `GET /health/ready` (the store answers). No authentication, and nothing in the answer an
//! attacker could use: a word, never the error.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::AppState;

fn plain(mut response: actix_web::HttpResponseBuilder, body: &'static str) -> HttpResponse {
    response.insert_header((header::CACHE_CONTROL, "no-store")).content_type("text/plain; charset=utf-8").body(body)
}

async fn live() -> HttpResponse {
    plain(HttpResponse::Ok(), "live")
}

/// Ready while a read of the store succeeds: an instance that lost its database is taken out
/// of the balancer's rotation, and put back when it answers again.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match state.registry.tenants.is_empty().await {
        Ok(_) => plain(HttpResponse::Ok(), "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            plain(HttpResponse::ServiceUnavailable(), "not ready")
        }
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/live", web::get().to(live))
        .route("/health/live", web::head().to(live))
        .route("/health/ready", web::get().to(ready))
        .route("/health/ready", web::head().to(ready));
}
