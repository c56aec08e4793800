//! The admin REST API under `/api/v1/Tenants/{tenantId}` (admin-api.md). Handlers extract,
//! authorise, call the registry, and map the result; the rules live in the registry.

use actix_web::http::header::HeaderValue;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use gatehouse_provider::Caller;
use gatehouse_registry::{ListQuery, TENANT_ADMINISTRATOR, TENANT_MEMBER};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::http_error::ApiError;
use crate::AppState;

mod audit_events;
mod change;
mod clients;
pub mod dialect;
/// For the fuzz targets (crates/fuzzing): a created client's first secret, as the handler makes it.
#[doc(hidden)]
pub use clients::first_secret;
pub mod dto;
pub mod openapi;
mod roles;
mod secrets;
mod users;
pub mod views;

/// The largest request body the admin API reads.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The largest page a list returns.
pub const COUNT_MAX: u64 = 1000;

/// What a request needs: reads need Tenant Member, writes Tenant Administrator, and so does
/// reading the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Audit,
}

/// Checks the bearer token, the tenant and the role, in that order: 401, 404, 403.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    tenant_id: Uuid,
    access: Access,
) -> Result<Caller, ApiError> {
    let caller = authenticate(req, state).await?;
    permit(state, &caller, tenant_id, access).await?;
    Ok(caller)
}

/// The caller behind the bearer token: 401 without a valid one.
pub async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<Caller, ApiError> {
    let header = crate::oidc::authorization_header(req)
        .map_err(|()| ApiError::bad_request("The Authorization header is repeated or unreadable."))?;
    let Some(header) = header else {
        return Err(ApiError::unauthorized(false));
    };
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ApiError::unauthorized(true))?;
    Ok(state.provider.caller(token).await?)
}

/// Whether `caller` may do `access` in `tenant_id`: 404 for no such tenant, 403 otherwise.
pub async fn permit(state: &AppState, caller: &Caller, tenant_id: Uuid, access: Access) -> Result<(), ApiError> {
    state.registry.tenants.get_tenant(tenant_id).await?;
    if caller.tenant_id != tenant_id {
        return Err(ApiError::forbidden("The token was issued for another tenant."));
    }
    let allowed = match access {
        Access::Read => caller.roles.iter().any(|r| *r == TENANT_MEMBER || *r == TENANT_ADMINISTRATOR),
        Access::Write | Access::Audit => caller.roles.contains(&TENANT_ADMINISTRATOR),
    };
    if !allowed {
        return Err(ApiError::forbidden(match access {
            Access::Read => "Reading needs the Tenant Member role.",
            Access::Write => "Changes need the Tenant Administrator role.",
            Access::Audit => "The audit trail needs the Tenant Administrator role.",
        }));
    }
    Ok(())
}

/// A GUID from the path; anything else names nothing that exists.
pub fn path_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found(what))
}

/// The tenant and item ids of a `Tenants/{tenant}/{Collection}/{id}` path.
pub fn item_at(tenant: &str, id: &str, what: &str) -> Result<(Uuid, Uuid), ApiError> {
    Ok((path_id(tenant, "tenant")?, path_id(id, what)?))
}

/// Reads a JSON object body; models are objects, so an array or a scalar is refused as such.
pub async fn json_object<T: DeserializeOwned>(payload: web::Payload) -> Result<T, ApiError> {
    parse_object(&read_body(payload).await?)
}

/// [`json_object`] of a body already read (the fuzz targets, crates/fuzzing, start here).
pub fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
        && serde_json::from_slice::<serde_json::Value>(body).is_ok()
    {
        return Err(ApiError::bad_request("The body must be a JSON object."));
    }
    parse_json(body)
}

/// Reads any JSON body (an array of role ids, say).
pub async fn json_body<T: DeserializeOwned>(payload: web::Payload) -> Result<T, ApiError> {
    parse_json(&read_body(payload).await?)
}

/// Reads a body of at most [`BODY_LIMIT`] bytes.
async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("The request body could not be read: {e}.")))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::bad_request(format!("The request body is larger than {} KiB.", BODY_LIMIT / 1024)));
        }
        body.extend_from_slice(&chunk);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("The request body is empty; send a JSON object."));
    }
    Ok(body)
}

/// Deserialises, naming the property at fault. [`json_body`] of a body already read.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(format!("The body is not valid JSON: {inner}."));
        }
        // serde_json appends " at line L column C": noise for a property error.
        let message = inner.to_string();
        let message = message.rfind(" at line ").map_or(message.as_str(), |cut| &message[..cut]).to_owned();
        ApiError::bad_request_quoting(match path.as_str() {
            "." | "?" => format!("The body is not valid: {message}."),
            _ => format!("{path}: {message}."),
        })
    })
}

/// `skip`, `count`, and the repeatable `id` and `tag` of a list request. Collections
/// without GUID ids or tags (secrets, roles) take `filters: false` and page only.
pub fn list_query(req: &HttpRequest, filters: bool) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery::default();
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        let number = |name: &str| {
            value
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("{name} must be a whole number of 0 or more.")))
        };
        match key.to_ascii_lowercase().as_str() {
            "skip" => q.skip = number("skip")?,
            "count" => q.count = number("count")?,
            "id" if filters => {
                q.ids.push(Uuid::parse_str(&value).map_err(|_| ApiError::bad_request("id must be a GUID."))?)
            }
            "tag" if filters => q.tags.push(value.into_owned()),
            "name" if filters && !value.is_empty() => q.name = Some(value.into_owned()),
            _ => {}
        }
    }
    if q.count > COUNT_MAX {
        return Err(ApiError::bad_request(format!("count must be at most {COUNT_MAX}.")));
    }
    Ok(q)
}

/// One page of an in-memory list (secrets, roles: a handful per client or tenant).
pub fn page_of<T: Clone>(items: &[T], q: &ListQuery) -> Vec<T> {
    let skip = usize::try_from(q.skip).unwrap_or(usize::MAX);
    let count = usize::try_from(q.count).unwrap_or(usize::MAX);
    items.iter().skip(skip).take(count).cloned().collect()
}

/// A list answer: the page as a JSON array and `Total-Count`.
///
/// HEAD routes to the GET handlers and gets this same answer: actix-web sends its status and
/// headers, `Content-Length` included, and leaves the body out (RFC 9110, section 9.3.2). A
/// handler must not drop the body itself, or the headers would describe an empty one.
pub fn list_response<T: Serialize>(items: &[T], total: u64) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if let Ok(total) = HeaderValue::from_str(&total.to_string()) {
        response.insert_header(("Total-Count", total));
    }
    response.json(items)
}

async fn no_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("resource"))
}

async fn no_method() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed here.",
        "This resource does not answer that HTTP method.",
        "See docs/api.md for the methods of each route.",
    ))
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(no_method))
}

/// The admin API's paths, built from the dialect's literals: the `/api` scope and the
/// resource under it, the tenant scope, then each resource under that. [`routes`] registers
/// exactly these, and `dialect` folds their literals.
pub(crate) fn route_paths() -> [String; 14] {
    use dialect::{API, AUDIT_EVENTS, OPENAPI, PASSWORD, ROLES, SECRETS, TENANTS, USERS, V1};
    [
        format!("/{API}"),
        format!("/{OPENAPI}"),
        format!("/{API}/{V1}/{TENANTS}/{{tenant_id}}"),
        format!("/{USERS}"),
        format!("/{USERS}/{{user_id}}"),
        format!("/{USERS}/{{user_id}}/{PASSWORD}"),
        format!("/{ROLES}"),
        format!("/{ROLES}/{{role_id}}"),
        format!("/{AUDIT_EVENTS}"),
        "/{collection}".to_owned(),
        "/{collection}/{client_id}".to_owned(),
        format!("/{{collection}}/{{client_id}}/{ROLES}"),
        format!("/{{collection}}/{{client_id}}/{SECRETS}"),
        format!("/{{collection}}/{{client_id}}/{SECRETS}/{{secret_id}}"),
    ]
}

/// Every route's whole path pattern (actix-web's `{parameters}`), as [`routes`] registers
/// them: what the OpenAPI document must cover (`tests/it/openapi.rs`).
pub fn registered_paths() -> Vec<String> {
    let [api, document, tenant, under_tenant @ ..] = route_paths();
    let mut paths = vec![format!("{api}{document}"), tenant.clone()];
    paths.extend(under_tenant.iter().map(|rest| format!("{tenant}{rest}")));
    paths
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    use web::{delete, get, head, post, put};
    let [api, document, tenant, users, user, password, roles, role, audit_events, clients, client, client_roles, secrets, secret] =
        route_paths();
    cfg.service(
        web::scope(&tenant)
            .service(resource("").route(get().to(users::tenant)).route(head().to(users::tenant)))
            .service(
                resource(&users)
                    .route(get().to(users::list))
                    .route(head().to(users::list))
                    .route(post().to(users::create)),
            )
            .service(
                resource(&user)
                    .route(get().to(users::get))
                    .route(head().to(users::get))
                    .route(put().to(users::update))
                    .route(delete().to(users::delete)),
            )
            .service(resource(&password).route(put().to(users::set_password)))
            .service(
                resource(&roles)
                    .route(get().to(roles::list))
                    .route(head().to(roles::list))
                    .route(post().to(roles::create)),
            )
            .service(
                resource(&role)
                    .route(get().to(roles::get))
                    .route(head().to(roles::get))
                    .route(put().to(roles::update))
                    .route(delete().to(roles::delete)),
            )
            .service(resource(&audit_events).route(get().to(audit_events::list)).route(head().to(audit_events::list)))
            .service(
                resource(&clients)
                    .route(get().to(clients::list))
                    .route(head().to(clients::list))
                    .route(post().to(clients::create)),
            )
            .service(
                resource(&client)
                    .route(get().to(clients::get))
                    .route(head().to(clients::get))
                    .route(put().to(clients::update))
                    .route(delete().to(clients::delete)),
            )
            .service(
                resource(&client_roles)
                    .route(get().to(clients::roles))
                    .route(head().to(clients::roles))
                    .route(put().to(clients::set_roles)),
            )
            .service(
                resource(&secrets)
                    .route(get().to(secrets::list))
                    .route(head().to(secrets::list))
                    .route(post().to(secrets::create)),
            )
            .service(
                resource(&secret)
                    .route(get().to(secrets::get))
                    .route(head().to(secrets::get))
                    .route(put().to(secrets::update))
                    .route(delete().to(secrets::delete)),
            )
            .default_service(web::to(no_route)),
    )
    .service(
        web::scope(&api)
            .service(resource(&document).route(get().to(openapi::serve)).route(head().to(openapi::serve)))
            .default_service(web::to(no_route)),
    );
}
