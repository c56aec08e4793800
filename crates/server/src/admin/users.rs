//! `Users`: the embedded directory's local accounts, and the tenant itself. Passwords are
//! write-only and hashed (argon2id) on the blocking pool, never on the async workers.

use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_provider::session::user_target;
use gatehouse_registry::audit::AuditAction;
use gatehouse_registry::{SecretValue, User, UserChanges};
use uuid::Uuid;

use super::change::{begin, Change};
use super::dialect::USERS;
use super::dto::{PasswordBody, UserBody};
use super::views::{Tenant, UserView};
use super::{authorize, item_at, json_object, list_query, list_response, path_id, Access};
use crate::http_error::ApiError;
use crate::AppState;

/// Ends every session and grant family of a user, audited (`TokenFamily.Revoke`) as part of
/// `change` (same actor, origin and operation).
async fn revoke_grants(
    state: &AppState,
    change: &Change,
    tenant_id: Uuid,
    user_id: Uuid,
    why: &str,
) -> Result<(), ApiError> {
    let event = change.related(AuditAction::TokenFamilyRevoke, why);
    state.registry.grants.revoke_user_grants(tenant_id, user_id, state.now(), Some(&event)).await?;
    Ok(())
}

async fn hash(state: &AppState, password: SecretValue) -> Result<String, ApiError> {
    state.passwords.hash(password).await.ok_or_else(ApiError::busy)?.map_err(ApiError::from)
}

pub async fn tenant(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = path_id(&path.into_inner(), "tenant")?;
    authorize(&req, &state, tenant_id, Access::Read).await?;
    let tenant = state.registry.tenants.get_tenant(tenant_id).await?;
    Ok(HttpResponse::Ok().json(Tenant { id: tenant.id, name: tenant.name }))
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = path_id(&path.into_inner(), "tenant")?;
    authorize(&req, &state, tenant_id, Access::Read).await?;
    let page = state.registry.users.list_users(tenant_id, &list_query(&req, true)?).await?;
    let items: Vec<UserView> = page.items.iter().map(UserView::of).collect();
    Ok(list_response(&items, page.total))
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = path_id(&path.into_inner(), "tenant")?;
    let mut change = begin(&req, &state, tenant_id, AuditAction::UserCreate, USERS).await?;
    let result: Result<User, ApiError> = async {
        let mut body: UserBody = json_object(payload).await?;
        // The product creates users without credentials (it invites them; its client library
        // sends no password). Such a user gets the hash of a random value nobody knows: it
        // cannot sign in until `Users/{id}/Password` gives it one, and a sign-in attempt costs
        // what any other costs, so it tells nothing.
        let password = match body.password.take() {
            Some(password) => SecretValue::new(password),
            None => SecretValue::generate()?,
        };
        // The cheap rules first, then the slow hash.
        let mut user = User::create(tenant_id, body.changes(Some(String::new())), state.now())?;
        change.target(user_target(user.id));
        change.detail(user.user_name.clone());
        user.password_hash = hash(&state, password).await?;
        Ok(state.registry.users.create_user(user, change.event()).await?)
    }
    .await;
    Ok(HttpResponse::Created().json(UserView::of(&change.finish(result).await?)))
}

pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, user) = path.into_inner();
    let (tenant_id, user_id) = item_at(&tenant, &user, "user")?;
    authorize(&req, &state, tenant_id, Access::Read).await?;
    let user = state.registry.users.get_user(tenant_id, user_id).await?;
    Ok(HttpResponse::Ok().json(UserView::of(&user)))
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (tenant, user) = path.into_inner();
    let (tenant_id, user_id) = item_at(&tenant, &user, "user")?;
    let mut change = begin(&req, &state, tenant_id, AuditAction::UserUpdate, user_target(user_id)).await?;
    let result: Result<User, ApiError> = async {
        let mut body: UserBody = json_object(payload).await?;
        let hash = match body.password.take() {
            Some(password) => Some(hash(&state, SecretValue::new(password)).await?),
            None => None,
        };
        let changes = body.changes(hash);
        if changes.password_hash.is_some() {
            change.detail("with a new password");
            // What the old password obtained ends first (a failed update leaves it ended),
            // once the change is known to be valid: a refused one must leave the sessions alone.
            let mut next = state.registry.users.get_user(tenant_id, user_id).await?;
            next.apply(changes.clone())?;
            revoke_grants(&state, &change, tenant_id, user_id, "the user's password was changed").await?;
        }
        Ok(state.registry.users.update_user(tenant_id, user_id, changes, change.event()).await?)
    }
    .await;
    Ok(HttpResponse::Ok().json(UserView::of(&change.finish(result).await?)))
}

pub async fn set_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (tenant, user) = path.into_inner();
    let (tenant_id, user_id) = item_at(&tenant, &user, "user")?;
    let change = begin(&req, &state, tenant_id, AuditAction::UserSetPassword, user_target(user_id)).await?;
    let result: Result<User, ApiError> = async {
        let body: PasswordBody = json_object(payload).await?;
        let hash = hash(&state, SecretValue::new(body.password)).await?;
        // No such user: refused before anything is revoked.
        state.registry.users.get_user(tenant_id, user_id).await?;
        revoke_grants(&state, &change, tenant_id, user_id, "the user's password was reset").await?;
        let changes = UserChanges { password_hash: Some(hash), ..Default::default() };
        Ok(state.registry.users.update_user(tenant_id, user_id, changes, change.event()).await?)
    }
    .await;
    change.finish(result).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, user) = path.into_inner();
    let (tenant_id, user_id) = item_at(&tenant, &user, "user")?;
    let change = begin(&req, &state, tenant_id, AuditAction::UserDelete, user_target(user_id)).await?;
    // Its sessions and grant families end with it, as after a password reset: after the
    // delete, which may be refused (the last administrator); in between, its tokens already
    // fail, as they need the user.
    let result = state.registry.users.delete_user(tenant_id, user_id, change.event()).await.map_err(ApiError::from);
    change.finish(result).await?;
    revoke_grants(&state, &change, tenant_id, user_id, "the user was deleted").await?;
    Ok(HttpResponse::NoContent().finish())
}
