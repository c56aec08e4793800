//! The admin console: a browser app served by Gatehouse itself, signed in by our own
//! protocol. Each tenant has a console client, registered (and kept pointing at the
//! public URL) on every start.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_registry::store::{ClientStore, TenantStore};
use gatehouse_registry::{Client, ClientChanges, ClientKind, ClientRef, RegistryError};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;

const INDEX: &str = include_str!("../console/index.html");
/// The page's scripts, in load order; classic scripts sharing one global scope.
const SCRIPTS: [(&str, &str); 5] = [
    ("core.js", include_str!("../console/core.js")),
    ("auth.js", include_str!("../console/auth.js")),
    ("views.js", include_str!("../console/views.js")),
    ("dialogs.js", include_str!("../console/dialogs.js")),
    ("audit.js", include_str!("../console/audit.js")),
];
const STYLE: &str = include_str!("../console/console.css");

/// Everything the console loads comes from us; nothing else runs or frames it.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The console client of a tenant: a fixed id derived from the tenant's, so that every
/// instance and every restart finds the same one.
pub fn console_client_id(tenant_id: Uuid) -> Uuid {
    Uuid::new_v5(&tenant_id, b"gatehouse-console")
}

/// Registers the console client of every tenant, or brings its URIs in line with the
/// public URL (which may change between starts).
pub async fn ensure_console_clients(
    tenants: &dyn TenantStore,
    clients: &dyn ClientStore,
    public_url: &str,
    now: OffsetDateTime,
) -> Result<(), RegistryError> {
    let home = format!("{public_url}/console/");
    let origin = url::Url::parse(public_url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    for tenant in tenants.list_tenants().await? {
        let changes = ClientChanges {
            name: Some("Gatehouse Console".into()),
            enabled: Some(true),
            redirect_uris: Some(vec![home.clone()]),
            post_logout_redirect_uris: Some(vec![home.clone()]),
            allowed_cors_origins: Some(vec![origin.clone()]),
            allow_offline_access: Some(true),
            ..Default::default()
        };
        let at =
            ClientRef { tenant_id: tenant.id, kind: ClientKind::AuthorizationCode, id: console_client_id(tenant.id) };
        match clients.get_client(at).await {
            Ok(c) if c.redirect_uris == [home.clone()] && c.enabled => {}
            Ok(_) => {
                clients.update_client(at, changes, None).await?;
            }
            Err(RegistryError::NotFound(_)) => {
                let client = Client::create(tenant.id, at.kind, ClientChanges { id: Some(at.id), ..changes }, now)?;
                match clients.create_client(client, None, None).await {
                    // Another instance, starting at the same moment, registered it first.
                    Ok(_) | Err(RegistryError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

#[derive(Debug, Deserialize)]
struct ConfigQuery {
    tenant: Option<Uuid>,
}

/// What the console needs before it signs in: the issuer and its client for the tenant
/// (`?tenant=`, or the first tenant).
async fn config(state: web::Data<AppState>, query: web::Query<ConfigQuery>) -> HttpResponse {
    let tenants = state.registry.tenants.list_tenants().await.unwrap_or_default();
    let tenant = match query.tenant {
        Some(t) => tenants.iter().find(|x| x.id == t),
        None => tenants.first(),
    };
    match tenant {
        Some(t) => HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(serde_json::json!({
            "issuer": state.provider.settings().issuer,
            "clientId": console_client_id(t.id),
            "tenantId": t.id,
        })),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn script(name: web::Path<String>) -> HttpResponse {
    let file = format!("{name}.js");
    match SCRIPTS.iter().find(|(n, _)| *n == file) {
        Some((_, body)) => asset("text/javascript; charset=utf-8", body),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn index(req: HttpRequest) -> HttpResponse {
    match req.path() {
        "/console/" => {}
        // A newcomer opening the server's address finds the console (not cached: `/` may
        // become a page of its own).
        "/" => return HttpResponse::Found().insert_header((header::LOCATION, "/console/")).finish(),
        _ => return HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/console/")).finish(),
    }
    asset("text/html; charset=utf-8", INDEX)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/console", web::get().to(index))
        .route("/console/", web::get().to(index))
        .route("/console/{script}.js", web::get().to(script))
        .route("/console/console.css", web::get().to(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/console/config.json", web::get().to(config));
}
