//! `{HybridClients|ClientCredentialClients}/{clientId}/Secrets`: generated here, shown once
//! in the 201 answer, listed without values, deletable.

use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_registry::secret::{changed_expiration, description_rule, expiration_rule};
use gatehouse_registry::{ClientRef, NewSecret, SecretChanges};

use super::clients::client_at;
use super::dto::SecretBody;
use super::views::{Secret, SecretCreated};
use super::{authorize, json_object, list_query, list_response, page_of, Access};
use crate::http_error::ApiError;
use crate::AppState;

const NAMES: (&str, &str) = ("Expires", "Expiration");

/// Secrets exist only under the kinds that have them.
fn secrets_at(tenant: &str, collection: &str, id: &str) -> Result<ClientRef, ApiError> {
    let at = client_at(tenant, collection, id)?;
    if !at.kind.has_secrets() {
        return Err(ApiError::not_found("resource"));
    }
    Ok(at)
}

fn secret_id(raw: &str) -> Result<u32, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("secret"))
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id) = path.into_inner();
    let at = secrets_at(&tenant, &collection, &id)?;
    authorize(&req, &state, at.tenant_id, Access::Read).await?;
    let query = list_query(&req, false)?;
    let secrets = state.registry.clients.list_secrets(at).await?;
    let page: Vec<Secret> = page_of(&secrets, &query).iter().map(Secret::of).collect();
    Ok(list_response(&page, secrets.len() as u64))
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id) = path.into_inner();
    let at = secrets_at(&tenant, &collection, &id)?;
    authorize(&req, &state, at.tenant_id, Access::Write).await?;
    let body: SecretBody = json_object(payload).await?;
    let now = state.now();
    let expiration = expiration_rule(body.expires, body.expiration, now, NAMES)?;
    let description = description_rule("Description", body.description)?;
    let (value, record) = NewSecret::generate(description, expiration, now)?;
    let stored = state.registry.clients.add_secret(at, record).await?;
    Ok(HttpResponse::Created().json(SecretCreated::new(&stored, value.expose().to_owned())))
}

pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id, secret) = path.into_inner();
    let at = secrets_at(&tenant, &collection, &id)?;
    let secret_id = secret_id(&secret)?;
    authorize(&req, &state, at.tenant_id, Access::Read).await?;
    let secrets = state.registry.clients.list_secrets(at).await?;
    let secret = secrets.iter().find(|s| s.id == secret_id).ok_or_else(|| ApiError::not_found("secret"))?;
    Ok(HttpResponse::Ok().json(Secret::of(secret)))
}

/// Changes the description or the expiration; the value never changes (add a new secret).
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id, secret) = path.into_inner();
    let at = secrets_at(&tenant, &collection, &id)?;
    let secret_id = secret_id(&secret)?;
    authorize(&req, &state, at.tenant_id, Access::Write).await?;
    let body: SecretBody = json_object(payload).await?;
    if body.id.is_some_and(|id| id != secret_id) {
        return Err(ApiError::bad_request("Id cannot be changed; it must match the id in the path."));
    }
    let expiration = if body.expires.is_some() || body.expiration.is_some() {
        let secrets = state.registry.clients.list_secrets(at).await?;
        let current = secrets.iter().find(|s| s.id == secret_id).ok_or_else(|| ApiError::not_found("secret"))?;
        changed_expiration(body.expires, body.expiration, current.expiration, state.now(), NAMES)?
    } else {
        None
    };
    let description = body.description.map(|d| description_rule("Description", Some(d))).transpose()?;
    let stored = state.registry.clients.update_secret(at, secret_id, SecretChanges { description, expiration }).await?;
    Ok(HttpResponse::Ok().json(Secret::of(&stored)))
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id, secret) = path.into_inner();
    let at = secrets_at(&tenant, &collection, &id)?;
    let secret_id = secret_id(&secret)?;
    authorize(&req, &state, at.tenant_id, Access::Write).await?;
    state.registry.clients.delete_secret(at, secret_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
