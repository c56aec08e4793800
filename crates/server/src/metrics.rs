//! Prometheus metrics (docs/configuration.md, Metrics), on a listener of their own
//! (`GATEHOUSE_METRICS_LISTEN`), never on the public one. Everything is recorded through the
//! `metrics` facade, rendered by `metrics-exporter-prometheus` and the process's own figures
//! come from `metrics-process` (decision 48). Without the key no recorder is installed, and
//! every recording below (and in the stores) does nothing.
//!
//! Label values come from closed sets or from the code itself: a route's template (never the
//! path a client sent), a method from a fixed list, a status code, a grant type from a fixed
//! list, an RFC 6749 error code, a store method's name. No id, token, code or name.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, App, HttpResponse, HttpServer};
use gatehouse_provider::ErrorCode;
use gatehouse_registry::Store;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The route label of a request that matched no route: a client cannot add labels by
/// asking for paths that do not exist.
pub const UNMATCHED: &str = "unmatched";

/// Upper bounds of the duration histograms' buckets, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How often recorded durations are folded into their buckets: without it, the samples of
/// the histograms would pile up between scrapes (or forever, if no one scrapes).
const UPKEEP: Duration = Duration::from_secs(5);

/// The recorder, installed once in the process: the `metrics` facade has one global
/// recorder by design (that is what lets the stores record without being handed anything).
/// A second server started in the same process (tests) shares it.
static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once in the process): from then on, what is recorded is kept.
pub fn recorder() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::error!(error = %e, "could not install the metrics recorder");
            }
            describe();
            handle
        })
        .clone()
}

/// The HELP lines.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("gatehouse_http_requests_total", "HTTP requests answered, by route template, method and status");
    describe_histogram!(
        "gatehouse_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by route template"
    );
    describe_counter!(
        "gatehouse_token_requests_total",
        "Token endpoint requests, by grant type and outcome (success or the RFC 6749 error code)"
    );
    describe_counter!("gatehouse_sign_ins_total", "Sign-in form submissions, by outcome");
    describe_histogram!(
        "gatehouse_store_connection_wait_seconds",
        Unit::Seconds,
        "Time to get a database connection from the pool"
    );
    describe_histogram!(
        "gatehouse_store_transaction_seconds",
        Unit::Seconds,
        "Time of a store transaction, by store method and kind (SQLite)"
    );
    describe_histogram!(
        "gatehouse_store_statement_seconds",
        Unit::Seconds,
        "Time of a statement, by its kind (PostgreSQL)"
    );
    describe_gauge!("gatehouse_store_pool_connections", "Open database connections");
    describe_gauge!("gatehouse_store_pool_idle_connections", "Database connections open and not in use");
    describe_gauge!("gatehouse_store_pool_max_connections", "The most connections the pool opens");
    describe_gauge!("gatehouse_store_pool_waiting", "Store calls waiting for a connection (PostgreSQL)");
}

/// What answers a scrape.
#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    process: Arc<metrics_process::Collector>,
    store: Arc<dyn Store>,
}

/// `GET /metrics`: the figures read at the moment (the pool, the process), then everything
/// in the Prometheus text format.
async fn scrape(scrape: web::Data<Scrape>) -> HttpResponse {
    scrape.process.collect();
    scrape.store.record_pool();
    scrape.handle.run_upkeep();
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(scrape.handle.render())
}

/// The metrics listener: serves what the [`recorder`] of `handle` holds as `GET /metrics` on
/// `listener` (anything else is 404), with one worker. Answers the bound address and the
/// server, which the caller runs.
pub fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    store: Arc<dyn Store>,
) -> std::io::Result<(SocketAddr, Server)> {
    let addr = listener.local_addr()?;
    let process = metrics_process::Collector::default();
    process.describe();
    let upkeep = handle.clone();
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let state = Scrape { handle, process: Arc::new(process), store };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .service(web::resource("/metrics").route(web::get().to(scrape)))
    })
    .workers(1)
    .client_request_timeout(Duration::from_secs(5))
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok((addr, server))
}

/// The method label, from a closed set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The template of the route `req` goes to: its path in the canonical spelling that
/// `admin::dialect` will give it, matched against the app's routes.
fn route_label(req: &ServiceRequest) -> String {
    let path = req.path();
    let canonical = crate::admin::dialect::canonical_path(path);
    let rmap = req.request().resource_map();
    rmap.match_pattern(canonical.as_deref().unwrap_or(path)).unwrap_or_else(|| UNMATCHED.to_owned())
}

/// Counts and times every request of the main listener. Wrapped outermost, so it sees the
/// answer the client gets (a 408 of the deadline too, an error without the request). So the
/// route is found before the call: the request cannot be kept (actix routes it in place).
pub async fn record_http(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = route_label(&req);
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    metrics::histogram!("gatehouse_http_request_duration_seconds", "route" => route.clone()).record(started.elapsed());
    metrics::counter!(
        "gatehouse_http_requests_total",
        "route" => route,
        "method" => method,
        "status" => status.as_str().to_owned()
    )
    .increment(1);
    result
}

/// The grant type label of a token request's form, from a closed set.
pub fn grant_type_label(form: &[(String, String)]) -> &'static str {
    let given = form.iter().find(|(k, _)| k == "grant_type").map(|(_, v)| v.as_str());
    ["authorization_code", "refresh_token", "client_credentials", gatehouse_provider::grants::device_code::GRANT_TYPE]
        .into_iter()
        .find(|g| Some(*g) == given)
        .unwrap_or("other")
}

/// A token request's outcome: `success`, or the RFC 6749 (or RFC 8628) error code.
pub fn token_request(grant_type: &'static str, outcome: Result<(), ErrorCode>) {
    let outcome = match outcome {
        Ok(()) => "success",
        Err(code) => code.as_str(),
    };
    metrics::counter!("gatehouse_token_requests_total", "grant_type" => grant_type, "outcome" => outcome).increment(1);
}

/// How a sign-in form submission ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    Success,
    /// A wrong user name or password (the two are not told apart, here either).
    BadCredentials,
    /// Too many failed attempts for the user name or the address.
    Throttled,
    /// The form's CSRF token did not match (an expired form, or a forgery).
    FormExpired,
    UnknownTenant,
    /// Too many password checks at once: not checked, 503.
    Busy,
    /// The store failed.
    Error,
}

impl SignIn {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::BadCredentials => "bad_credentials",
            Self::Throttled => "throttled",
            Self::FormExpired => "form_expired",
            Self::UnknownTenant => "unknown_tenant",
            Self::Busy => "busy",
            Self::Error => "error",
        }
    }
}

pub fn sign_in(outcome: SignIn) {
    metrics::counter!("gatehouse_sign_ins_total", "outcome" => outcome.as_str()).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn grant_types_come_from_a_closed_set() {
        assert_eq!(grant_type_label(&form(&[("grant_type", "client_credentials")])), "client_credentials");
        assert_eq!(
            grant_type_label(&form(&[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")])),
            "urn:ietf:params:oauth:grant-type:device_code"
        );
        assert_eq!(grant_type_label(&form(&[("grant_type", "password")])), "other");
        assert_eq!(grant_type_label(&form(&[("grant_type", "<script>")])), "other");
        assert_eq!(grant_type_label(&form(&[])), "other");
    }

    #[test]
    fn methods_come_from_a_closed_set() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").expect("method")), "other");
    }
}
