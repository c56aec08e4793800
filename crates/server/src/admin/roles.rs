//! `Roles`: the two built-in roles and any the tenant defines, in the product's shape
//! (`RoleTypeId`, `RoleScope`, `TenantId`).

use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_registry::audit::AuditAction;
use gatehouse_registry::Role;
use uuid::Uuid;

use super::change::begin;
use super::dialect::ROLES;
use super::dto::RoleBody;
use super::views::RoleView;
use super::{authorize, item_at, json_object, list_query, list_response, page_of, path_id, Access};
use crate::http_error::ApiError;
use crate::AppState;

/// A role as the audit trail names it.
fn target(id: Uuid) -> String {
    format!("{ROLES}/{id}")
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = path_id(&path.into_inner(), "tenant")?;
    authorize(&req, &state, tenant_id, Access::Read).await?;
    let query = list_query(&req, false)?;
    let roles = state.registry.roles.list_roles(tenant_id).await?;
    let page = page_of(&roles, &query);
    let views: Vec<RoleView> = page.iter().map(|r| RoleView::new(tenant_id, r)).collect();
    Ok(list_response(&views, roles.len() as u64))
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = path_id(&path.into_inner(), "tenant")?;
    let mut change = begin(&req, &state, tenant_id, AuditAction::RoleCreate, ROLES).await?;
    let result: Result<Role, ApiError> = async {
        let body: RoleBody = json_object(payload).await?;
        let role = Role::custom(tenant_id, body.into())?;
        change.target(target(role.id));
        change.detail(role.name.clone());
        Ok(state.registry.roles.create_role(tenant_id, role, change.event()).await?)
    }
    .await;
    Ok(HttpResponse::Created().json(RoleView::new(tenant_id, &change.finish(result).await?)))
}

pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, role) = path.into_inner();
    let (tenant_id, role_id) = item_at(&tenant, &role, "role")?;
    authorize(&req, &state, tenant_id, Access::Read).await?;
    let role = state.registry.roles.get_role(tenant_id, role_id).await?;
    Ok(HttpResponse::Ok().json(RoleView::new(tenant_id, &role)))
}

/// A partial update of a custom role, in the manner of clients: a GET body sent back with
/// changes is accepted, and the answer is the whole role.
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (tenant, role) = path.into_inner();
    let (tenant_id, role_id) = item_at(&tenant, &role, "role")?;
    let change = begin(&req, &state, tenant_id, AuditAction::RoleUpdate, target(role_id)).await?;
    let result: Result<Role, ApiError> = async {
        let body: RoleBody = json_object(payload).await?;
        Ok(state.registry.roles.update_role(tenant_id, role_id, body.into(), change.event()).await?)
    }
    .await;
    Ok(HttpResponse::Ok().json(RoleView::new(tenant_id, &change.finish(result).await?)))
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, role) = path.into_inner();
    let (tenant_id, role_id) = item_at(&tenant, &role, "role")?;
    let change = begin(&req, &state, tenant_id, AuditAction::RoleDelete, target(role_id)).await?;
    let result = state.registry.roles.delete_role(tenant_id, role_id, change.event()).await.map_err(ApiError::from);
    change.finish(result).await?;
    Ok(HttpResponse::NoContent().finish())
}
