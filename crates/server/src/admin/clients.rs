//! `AuthorizationCodeClients`, `HybridClients`, `ClientCredentialClients`,
//! `DeviceCodeClients`: one set of handlers, the kind taken from the collection's name.

use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_registry::secret::{description_rule, expiration_rule, DEFAULT_SECRET_LIFETIME};
use gatehouse_registry::{Client, ClientChanges, ClientKind, ClientRef, NewSecret, SecretValue};
use time::OffsetDateTime;
use uuid::Uuid;

use super::change::begin;
use super::dialect::{AUTHORIZATION_CODE_CLIENTS, CLIENT_CREDENTIAL_CLIENTS, DEVICE_CODE_CLIENTS, HYBRID_CLIENTS};
use super::dto::{time_text, ClientBody, FirstSecret};
use super::views::{ClientCreated, ClientView};
use super::{authorize, json_body, json_object, list_query, list_response, path_id, Access};
use crate::http_error::ApiError;
use crate::AppState;
use gatehouse_registry::audit::AuditAction;

const COLLECTIONS: [(&str, ClientKind); 4] = [
    (AUTHORIZATION_CODE_CLIENTS, ClientKind::AuthorizationCode),
    (HYBRID_CLIENTS, ClientKind::Hybrid),
    (CLIENT_CREDENTIAL_CLIENTS, ClientKind::ClientCredential),
    (DEVICE_CODE_CLIENTS, ClientKind::DeviceCode),
];

/// The collection that holds a kind's clients.
pub fn collection_of(kind: ClientKind) -> &'static str {
    COLLECTIONS.iter().find(|(_, k)| *k == kind).map_or("Clients", |(name, _)| name)
}

/// A client as the audit trail names it: `{Collection}/{id}`.
pub fn target(at: ClientRef) -> String {
    format!("{}/{}", collection_of(at.kind), at.id)
}

/// The kind of client a collection holds.
pub fn kind_of(collection: &str) -> Result<ClientKind, ApiError> {
    COLLECTIONS
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(collection))
        .map(|(_, kind)| kind)
        .ok_or_else(|| ApiError::not_found("resource"))
}

/// The client a path names: tenant, collection, id.
pub fn client_at(tenant: &str, collection: &str, id: &str) -> Result<ClientRef, ApiError> {
    Ok(ClientRef { tenant_id: path_id(tenant, "tenant")?, kind: kind_of(collection)?, id: path_id(id, "client")? })
}

/// The first secret of a client created with one: expiration by the contract's rules,
/// one year from now when the request names none (the portal's default).
pub fn first_secret(
    kind: ClientKind,
    given: FirstSecret,
    now: OffsetDateTime,
) -> Result<Option<(SecretValue, NewSecret)>, ApiError> {
    if !kind.has_secrets() {
        if given.is_given() {
            return Err(ApiError::bad_request(format!(
                "SecretDescription, SecretExpirationDate and SecretExpires are not properties of a {} client.",
                kind.as_str()
            )));
        }
        return Ok(None);
    }
    let date = match given.expires {
        Some(false) => given.expiration_date,
        _ => Some(given.expiration_date.unwrap_or(now + DEFAULT_SECRET_LIFETIME)),
    };
    let expiration = expiration_rule(given.expires, date, now, ("SecretExpires", "SecretExpirationDate"))?;
    let description = description_rule("SecretDescription", given.description)?;
    Ok(Some(NewSecret::generate(description, expiration, now)?))
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection) = path.into_inner();
    let tenant_id = path_id(&tenant, "tenant")?;
    let kind = kind_of(&collection)?;
    authorize(&req, &state, tenant_id, Access::Read).await?;
    let page = state.registry.clients.list_clients(tenant_id, kind, &list_query(&req, true)?).await?;
    let items: Vec<ClientView> = page.items.iter().map(ClientView::of).collect();
    Ok(list_response(&items, page.total))
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection) = path.into_inner();
    let tenant_id = path_id(&tenant, "tenant")?;
    let kind = kind_of(&collection)?;
    let mut change = begin(&req, &state, tenant_id, AuditAction::ClientCreate, collection_of(kind)).await?;
    let result: Result<HttpResponse, ApiError> = async {
        let (changes, secret) = json_object::<ClientBody>(payload).await?.split();
        let now = state.now();
        let client = Client::create(tenant_id, kind, changes, now)?;
        change.target(target(ClientRef { tenant_id, kind, id: client.id }));
        change.detail(client.name.clone());
        let secret = first_secret(kind, secret, now)?;
        let (value, record) = secret.unzip();
        let stored = state.registry.clients.create_client(client.clone(), record, change.event()).await?;
        Ok(match (value, stored) {
            (Some(value), Some(stored)) => HttpResponse::Created().json(ClientCreated {
                secret: value.expose().to_owned(),
                id: stored.id,
                description: stored.description,
                expiration_date: stored.expiration.map(time_text),
                client: ClientView::of(&client),
            }),
            _ => HttpResponse::Created().json(ClientView::of(&client)),
        })
    }
    .await;
    change.finish(result).await
}

pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id) = path.into_inner();
    let at = client_at(&tenant, &collection, &id)?;
    authorize(&req, &state, at.tenant_id, Access::Read).await?;
    let client = state.registry.clients.get_client(at).await?;
    Ok(HttpResponse::Ok().json(ClientView::of(&client)))
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id) = path.into_inner();
    let at = client_at(&tenant, &collection, &id)?;
    let change = begin(&req, &state, at.tenant_id, AuditAction::ClientUpdate, target(at)).await?;
    let result: Result<Client, ApiError> = async {
        let (changes, secret) = json_object::<ClientBody>(payload).await?.split();
        if secret.is_given() {
            return Err(ApiError::bad_request(
                "SecretDescription, SecretExpirationDate and SecretExpires are accepted only on create; use the Secrets collection.",
            ));
        }
        Ok(state.registry.clients.update_client(at, changes, change.event()).await?)
    }
    .await;
    Ok(HttpResponse::Ok().json(ClientView::of(&change.finish(result).await?)))
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id) = path.into_inner();
    let at = client_at(&tenant, &collection, &id)?;
    let change = begin(&req, &state, at.tenant_id, AuditAction::ClientDelete, target(at)).await?;
    let result = state.registry.clients.delete_client(at, change.event()).await.map_err(ApiError::from);
    change.finish(result).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `ClientCredentialClients/{id}/Roles`: the role ids; other kinds have no roles.
fn roles_at(tenant: &str, collection: &str, id: &str) -> Result<ClientRef, ApiError> {
    let at = client_at(tenant, collection, id)?;
    if at.kind != ClientKind::ClientCredential {
        return Err(ApiError::not_found("resource"));
    }
    Ok(at)
}

pub async fn roles(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id) = path.into_inner();
    let at = roles_at(&tenant, &collection, &id)?;
    authorize(&req, &state, at.tenant_id, Access::Read).await?;
    let client = state.registry.clients.get_client(at).await?;
    Ok(HttpResponse::Ok().json(client.role_ids))
}

/// Replaces the whole list; Tenant Member stays whatever the body says.
pub async fn set_roles(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (tenant, collection, id) = path.into_inner();
    let at = roles_at(&tenant, &collection, &id)?;
    let mut change = begin(&req, &state, at.tenant_id, AuditAction::ClientSetRoles, target(at)).await?;
    let result: Result<Client, ApiError> = async {
        let role_ids: Vec<Uuid> = json_body(payload).await?;
        let ids: Vec<String> = role_ids.iter().map(Uuid::to_string).collect();
        change.detail(format!("RoleIds: {}", ids.join(", ")));
        let changes = ClientChanges { role_ids: Some(role_ids), ..Default::default() };
        Ok(state.registry.clients.update_client(at, changes, change.event()).await?)
    }
    .await;
    Ok(HttpResponse::Ok().json(change.finish(result).await?.role_ids))
}
