//! The first start on an empty database: one tenant, its Tenant Administrator account, and
//! (when configured) a client-credentials client with the Tenant Administrator role, in
//! the manner of Keycloak's bootstrap admin client. Written in one transaction.

use gatehouse_registry::secret::DEFAULT_SECRET_LIFETIME;
use gatehouse_registry::store::TenantStore;
use gatehouse_registry::user::{hash_password, PasswordMemory};
use gatehouse_registry::{
    Client, ClientChanges, ClientKind, NewSecret, RegistryError, SecretValue, Tenant, TenantSeed, User, UserChanges,
    TENANT_ADMINISTRATOR,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::Config;

/// What the first start created; the generated credentials are to be shown once.
#[derive(Debug)]
pub struct FirstStart {
    pub tenant_id: Uuid,
    pub admin_username: String,
    pub generated_password: Option<SecretValue>,
    pub bootstrap_client: Option<(Uuid, Option<SecretValue>)>,
}

/// Creates the first tenant if the store is empty; `None` when it was not. Of several
/// instances starting at once on one empty store, exactly one creates it (the store's
/// `create_first_tenant` is one exclusive transaction); the others answer `None` and serve.
pub async fn first_start(
    store: &dyn TenantStore,
    config: &Config,
    now: OffsetDateTime,
) -> Result<Option<FirstStart>, RegistryError> {
    if !store.is_empty().await? {
        return Ok(None);
    }
    let tenant_id = config.tenant_id.unwrap_or_else(Uuid::new_v4);
    let generated_password = match &config.admin_password {
        Some(_) => None,
        None => Some(SecretValue::generate()?),
    };
    let password =
        config.admin_password.clone().or_else(|| generated_password.clone()).unwrap_or_else(|| SecretValue::new(""));
    let hash = tokio::task::spawn_blocking(move || hash_password(&password, &mut PasswordMemory::default()))
        .await
        .map_err(|e| RegistryError::Storage(e.to_string()))??;
    let admin = User::create(
        tenant_id,
        UserChanges {
            user_name: Some(config.admin_username.clone()),
            given_name: Some("Tenant".into()),
            surname: Some("Administrator".into()),
            role_ids: Some(vec![TENANT_ADMINISTRATOR]),
            password_hash: Some(hash),
            ..Default::default()
        },
        now,
    )?;
    let mut clients = Vec::new();
    let mut bootstrap_client = None;
    if config.wants_bootstrap_client() {
        let changes = ClientChanges {
            id: config.bootstrap_client_id,
            name: Some("Bootstrap administration client".into()),
            role_ids: Some(vec![TENANT_ADMINISTRATOR]),
            ..Default::default()
        };
        let client = Client::create(tenant_id, ClientKind::ClientCredential, changes, now)?;
        let description = "Created at first start".to_owned();
        let expiration = Some(now + DEFAULT_SECRET_LIFETIME);
        let (shown, record) = match &config.bootstrap_client_secret {
            Some(given) => (None, NewSecret { description, expiration, hash: given.hash(), created: now }),
            None => {
                let (value, record) = NewSecret::generate(description, expiration, now)?;
                (Some(value), record)
            }
        };
        bootstrap_client = Some((client.id, shown));
        clients.push((client, Some(record)));
    }
    let tenant = Tenant { id: tenant_id, name: "Default tenant".into(), created: now };
    if !store.create_first_tenant(TenantSeed { tenant, users: vec![admin], clients }).await? {
        return Ok(None);
    }
    Ok(Some(FirstStart {
        tenant_id,
        admin_username: config.admin_username.clone(),
        generated_password,
        bootstrap_client,
    }))
}
