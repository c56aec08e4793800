//! The admin JSON target: the bytes are a request body of the admin API, sent to every
//! operation that reads one, each step as its handler (crates/server/src/admin) takes it
//! once the caller is authorised: the server's body parsing (`parse_object`, `parse_json`
//! into the wire shapes of `dto.rs`), the registry's rules, and the store's checks, on a
//! fresh in-memory tenant per input. Only the argon2 hash of a given password is left out
//! (a placeholder hash stands in): it is the slow part, and takes the password as it is.
//!
//! Operations: create and update a client of each kind, set a client-credentials client's
//! roles, create and update a secret of both kinds that have them, create and update a user,
//! set a password, create and update a role.

use actix_web::ResponseError;
use gatehouse_registry::secret::{description_rule, expiration_rule};
use gatehouse_registry::store::memory::MemoryStore;
use gatehouse_registry::store::{ClientStore, GrantStore, RoleStore, TenantStore, UserStore};
use gatehouse_registry::{
    Client, ClientChanges, ClientKind, ClientRef, NewSecret, Role, RoleChanges, SecretChanges, User,
};
use gatehouse_server::admin::dto::{ClientBody, PasswordBody, RoleBody, SecretBody, UserBody};
use gatehouse_server::admin::views::{ClientView, RoleView, Secret, UserView};
use gatehouse_server::admin::{first_secret, parse_json, parse_object, BODY_LIMIT};
use gatehouse_server::http_error::ApiError;
use serde_json::Value;
use uuid::{uuid, Uuid};

use crate::world::{seed, world, DEVICE, HYBRID, MACHINE, NOW, PUBLIC, TENANT, USER};

/// A custom role of the tenant, to update.
const ROLE: Uuid = uuid!("66666666-6666-4666-8666-666666666666");
/// What stands for the argon2 hash of a given password.
const HASHED: &str = "$argon2id$placeholder";

pub fn admin_json(data: &[u8]) {
    // The server reads no more (admin/mod.rs, `read_body`).
    if data.len() > BODY_LIMIT {
        return;
    }
    world().block_on(async {
        let store = MemoryStore::new();
        if store.create_tenant(seed()).await.is_err() {
            return;
        }
        let role = RoleChanges { id: Some(ROLE), name: Some("auditor".into()), ..Default::default() };
        if let Ok(role) = Role::custom(TENANT, role) {
            let _ = store.create_role(TENANT, role, None).await;
        }
        for kind in ClientKind::ALL {
            answer(create_client(&store, kind, data).await);
            answer(update_client(&store, kind, data).await);
        }
        answer(set_client_roles(&store, data).await);
        for kind in [ClientKind::Hybrid, ClientKind::ClientCredential] {
            answer(create_secret(&store, kind, data).await);
            answer(update_secret(&store, kind, data).await);
        }
        answer(create_user(&store, data).await);
        answer(update_user(&store, data).await);
        answer(parse_object::<PasswordBody>(data).map(|_| Value::Null));
        answer(create_role(&store, data).await);
        answer(update_role(&store, data).await);
    });
}

/// Renders the answer as the server would: the JSON body, or the error's response.
fn answer(result: Result<Value, ApiError>) {
    match result {
        Ok(value) => {
            std::hint::black_box(serde_json::to_vec(&value).ok());
        }
        Err(e) => {
            std::hint::black_box(e.error_response());
        }
    }
}

fn at(kind: ClientKind) -> ClientRef {
    let id = match kind {
        ClientKind::AuthorizationCode => PUBLIC,
        ClientKind::Hybrid => HYBRID,
        ClientKind::ClientCredential => MACHINE,
        ClientKind::DeviceCode => DEVICE,
    };
    ClientRef { tenant_id: TENANT, kind, id }
}

/// An answer as the handler serialises it.
fn shown(view: impl serde::Serialize) -> Result<Value, ApiError> {
    serde_json::to_value(view).map_err(|e| ApiError::internal(e.to_string()))
}

/// `clients::create`.
async fn create_client(store: &MemoryStore, kind: ClientKind, body: &[u8]) -> Result<Value, ApiError> {
    let (changes, secret) = parse_object::<ClientBody>(body)?.split();
    let client = Client::create(TENANT, kind, changes, NOW)?;
    let secret = first_secret(kind, secret, NOW)?;
    let (_, record) = secret.unzip();
    let stored = store.create_client(client.clone(), record, None).await?;
    let secret = stored.map(|s| Secret::of(&s));
    shown(serde_json::json!({ "Secret": secret, "Client": ClientView::of(&client) }))
}

/// `clients::update`.
async fn update_client(store: &MemoryStore, kind: ClientKind, body: &[u8]) -> Result<Value, ApiError> {
    let (changes, secret) = parse_object::<ClientBody>(body)?.split();
    if secret.is_given() {
        return Err(ApiError::bad_request("accepted only on create"));
    }
    shown(ClientView::of(&store.update_client(at(kind), changes, None).await?))
}

/// `clients::set_roles`.
async fn set_client_roles(store: &MemoryStore, body: &[u8]) -> Result<Value, ApiError> {
    let role_ids: Vec<Uuid> = parse_json(body)?;
    let changes = ClientChanges { role_ids: Some(role_ids), ..Default::default() };
    Ok(serde_json::json!(store.update_client(at(ClientKind::ClientCredential), changes, None).await?.role_ids))
}

const NAMES: (&str, &str) = ("Expires", "Expiration");

/// `secrets::create`.
async fn create_secret(store: &MemoryStore, kind: ClientKind, body: &[u8]) -> Result<Value, ApiError> {
    let body: SecretBody = parse_object(body)?;
    let expiration = expiration_rule(body.expires, body.expiration, NOW, NAMES)?;
    let description = description_rule("Description", body.description)?;
    let (_, record) = NewSecret::generate(description, expiration, NOW)?;
    shown(Secret::of(&store.add_secret(at(kind), record, None).await?))
}

/// `secrets::update` of the client's first secret.
async fn update_secret(store: &MemoryStore, kind: ClientKind, body: &[u8]) -> Result<Value, ApiError> {
    let secret_id = 1;
    let body: SecretBody = parse_object(body)?;
    if body.id.is_some_and(|id| id != secret_id) {
        return Err(ApiError::bad_request("Id cannot be changed"));
    }
    let expiration = if body.expires.is_some() || body.expiration.is_some() {
        Some(expiration_rule(body.expires, body.expiration, NOW, NAMES)?)
    } else {
        None
    };
    let description = body.description.map(|d| description_rule("Description", Some(d))).transpose()?;
    let stored = store.update_secret(at(kind), secret_id, SecretChanges { description, expiration }, None).await?;
    shown(Secret::of(&stored))
}

/// `users::create`.
async fn create_user(store: &MemoryStore, body: &[u8]) -> Result<Value, ApiError> {
    let mut body: UserBody = parse_object(body)?;
    body.password.take();
    let mut user = User::create(TENANT, body.changes(Some(String::new())), NOW)?;
    user.password_hash = HASHED.into();
    shown(UserView::of(&store.create_user(user, None).await?))
}

/// `users::update`.
async fn update_user(store: &MemoryStore, body: &[u8]) -> Result<Value, ApiError> {
    let mut body: UserBody = parse_object(body)?;
    let hash = body.password.take().map(|_| HASHED.to_owned());
    let changes = body.changes(hash);
    if changes.password_hash.is_some() {
        let mut next = store.get_user(TENANT, USER).await?;
        next.apply(changes.clone())?;
        store.revoke_user_grants(TENANT, USER, NOW, None).await?;
    }
    shown(UserView::of(&store.update_user(TENANT, USER, changes, None).await?))
}

/// `roles::create`.
async fn create_role(store: &MemoryStore, body: &[u8]) -> Result<Value, ApiError> {
    let body: RoleBody = parse_object(body)?;
    let role = store.create_role(TENANT, Role::custom(TENANT, body.into())?, None).await?;
    shown(RoleView::new(TENANT, &role))
}

/// `roles::update`.
async fn update_role(store: &MemoryStore, body: &[u8]) -> Result<Value, ApiError> {
    let body: RoleBody = parse_object(body)?;
    let role = store.update_role(TENANT, ROLE, body.into(), None).await?;
    shown(RoleView::new(TENANT, &role))
}
