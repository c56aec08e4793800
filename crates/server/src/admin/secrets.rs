//! `{HybridClients|ClientCredentialClients}/{clientId}/Secrets`: generated here, shown once
//! in the 201 answer, listed without values, deletable.

use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_registry::audit::AuditAction;
use gatehouse_registry::secret::{changed_expiration, description_rule, expiration_rule};
use gatehouse_registry::{ClientRef, ClientSecret, NewSecret, SecretChanges};

use super::change::begin;
use super::clients::client_at;
use super::dialect::SECRETS;
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

/// A client's secrets, or one of them, as the audit trail names them.
fn secrets_target(at: ClientRef, id: Option<u32>) -> String {
    let secrets = format!("{}/{SECRETS}", super::clients::target(at));
    id.map_or_else(|| secrets.clone(), |id| format!("{secrets}/{id}"))
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
    let mut change = begin(&req, &state, at.tenant_id, AuditAction::SecretCreate, secrets_target(at, None)).await?;
    let result: Result<SecretCreated, ApiError> = async {
        let body: SecretBody = json_object(payload).await?;
        let now = state.now();
        let expiration = expiration_rule(body.expires, body.expiration, now, NAMES)?;
        let description = description_rule("Description", body.description)?;
        // The description, never the value.
        change.detail(description.clone());
        let (value, record) = NewSecret::generate(description, expiration, now)?;
        let stored = state.registry.clients.add_secret(at, record, change.event()).await?;
        Ok(SecretCreated::new(&stored, value.expose().to_owned()))
    }
    .await;
    Ok(HttpResponse::Created().json(change.finish(result).await?))
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
    let target = secrets_target(at, Some(secret_id));
    let change = begin(&req, &state, at.tenant_id, AuditAction::SecretUpdate, target).await?;
    let result: Result<ClientSecret, ApiError> = async {
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
        let changes = SecretChanges { description, expiration };
        Ok(state.registry.clients.update_secret(at, secret_id, changes, change.event()).await?)
    }
    .await;
    Ok(HttpResponse::Ok().json(Secret::of(&change.finish(result).await?)))
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id, secret) = path.into_inner();
    let at = secrets_at(&tenant, &collection, &id)?;
    let secret_id = secret_id(&secret)?;
    let target = secrets_target(at, Some(secret_id));
    let change = begin(&req, &state, at.tenant_id, AuditAction::SecretDelete, target).await?;
    let result = state.registry.clients.delete_secret(at, secret_id, change.event()).await.map_err(ApiError::from);
    change.finish(result).await?;
    Ok(HttpResponse::NoContent().finish())
}
