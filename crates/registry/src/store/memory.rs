//! The in-memory reference store: the contract of the traits in the fewest lines. One lock
//! around all state makes every method a transaction. For tests and experiments; nothing
//! survives the process.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    check_role_refs, next_secret, tenant_full, ClientRef, ClientStore, GrantStore, KeyStore, ListQuery, Page,
    RoleStore, SecretChanges, TenantStore, ThrottleStore, UserStore,
};
use crate::audit::AuditEvent;
use crate::client::{Client, ClientChanges, ClientKind};
use crate::error::{RegistryError, Result};
use crate::grant::{
    refresh_step, AuthorizationCode, CodeUse, RefreshStep, RefreshToken, RefreshUse, SecretHashKey, Session, WithUser,
    REVOCATION_KEPT,
};
use crate::role::{Role, RoleChanges};
use crate::secret::{ClientSecret, NewSecret};
use crate::tenant::{SigningKeyRecord, Tenant, TenantSeed};
use crate::user::{User, UserChanges};

mod audit;
mod device;
mod snapshot;

#[derive(Debug, Default, Clone)]
struct Entry {
    client: Option<Client>,
    secrets: Vec<ClientSecret>,
    next_secret_id: u32,
    /// Creation order, for stable paging.
    seq: u64,
}

#[derive(Debug, Default, Clone)]
struct State {
    tenants: BTreeMap<Uuid, Tenant>,
    roles: HashMap<Uuid, Vec<Role>>,
    clients: HashMap<Uuid, Entry>,
    users: Vec<User>,
    keys: Vec<SigningKeyRecord>,
    seq: u64,
    sessions: HashMap<SecretHashKey, Session>,
    codes: HashMap<SecretHashKey, (AuthorizationCode, bool)>,
    refresh: HashMap<SecretHashKey, RefreshToken>,
    /// Successor handle of each rotated token.
    successors: HashMap<SecretHashKey, SecretHashKey>,
    /// Each revoked family and when it was revoked.
    revoked_families: HashMap<Uuid, OffsetDateTime>,
    server_secrets: HashMap<String, Vec<u8>>,
    /// Attempts per throttle key: (count, start of its window).
    attempts: HashMap<String, (u32, OffsetDateTime)>,
    /// Device codes by the hash of the device code.
    device_codes: HashMap<SecretHashKey, crate::device::DeviceCode>,
    /// The audit trail, in the order written.
    audit: Vec<AuditEvent>,
}

impl State {
    /// `record` with its user as stored now.
    fn with_user<T>(&self, record: T, tenant_id: Uuid, user_id: Uuid) -> WithUser<T> {
        let user = self.users.iter().find(|u| u.tenant_id == tenant_id && u.id == user_id).cloned();
        WithUser { record, user }
    }

    /// Writes `event`, if any: called once the change it records is made.
    fn log(&mut self, event: Option<&AuditEvent>) {
        self.audit.extend(event.cloned());
    }

    fn tenant(&self, id: Uuid) -> Result<&Tenant> {
        self.tenants.get(&id).ok_or(RegistryError::NotFound("tenant"))
    }

    fn entry(&mut self, at: ClientRef) -> Result<&mut Entry> {
        self.clients
            .get_mut(&at.id)
            .filter(|e| e.client.as_ref().is_some_and(|c| c.tenant_id == at.tenant_id && c.kind == at.kind))
            .ok_or(RegistryError::NotFound("client"))
    }

    /// Whether an enabled user of the tenant other than `id` has the Tenant Administrator role.
    fn other_administrator(&self, tenant_id: Uuid, id: Uuid) -> bool {
        self.users.iter().any(|u| u.tenant_id == tenant_id && u.id != id && u.administers())
    }

    fn role_exists(&self, tenant_id: Uuid) -> impl Fn(&Uuid) -> bool + '_ {
        move |id| self.roles.get(&tenant_id).is_some_and(|rs| rs.iter().any(|r| r.id == *id))
    }

    fn insert_client(&mut self, client: Client, secret: Option<NewSecret>) -> Result<Option<ClientSecret>> {
        self.tenant(client.tenant_id)?;
        if self.clients.contains_key(&client.id) {
            return Err(RegistryError::Conflict(format!("a client with id {} already exists", client.id)));
        }
        let in_tenant =
            self.clients.values().filter(|e| e.client.as_ref().is_some_and(|c| c.tenant_id == client.tenant_id));
        tenant_full(in_tenant.count() as u64)?;
        check_role_refs(&client.role_ids, self.role_exists(client.tenant_id))?;
        let first = secret.map(|s| next_secret(0, 1, s)).transpose()?;
        self.seq += 1;
        self.clients.insert(
            client.id,
            Entry {
                next_secret_id: if first.is_some() { 2 } else { 1 },
                secrets: first.iter().cloned().collect(),
                seq: self.seq,
                client: Some(client),
            },
        );
        Ok(first)
    }

    fn insert_user(&mut self, user: User) -> Result<User> {
        let key = User::name_key(&user.user_name);
        if self.users.iter().any(|u| u.id == user.id) {
            return Err(RegistryError::Conflict(format!("a user with id {} already exists", user.id)));
        }
        if self.users.iter().any(|u| u.tenant_id == user.tenant_id && User::name_key(&u.user_name) == key) {
            return Err(RegistryError::Conflict(format!("the user name {} is taken", user.user_name)));
        }
        check_role_refs(&user.role_ids, self.role_exists(user.tenant_id))?;
        self.users.push(user.clone());
        Ok(user)
    }
}

/// Keeps everything in memory behind one lock.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| RegistryError::Storage("memory store lock poisoned".into()))
    }
}

fn page<T: Clone>(items: Vec<&T>, query: &ListQuery) -> Page<T> {
    let total = items.len() as u64;
    let items = items
        .into_iter()
        .skip(usize::try_from(query.skip).unwrap_or(usize::MAX))
        .take(usize::try_from(query.count).unwrap_or(usize::MAX))
        .cloned()
        .collect();
    Page { items, total }
}

/// No pool: nothing to tell the metrics.
impl super::StoreMetrics for MemoryStore {}

#[async_trait]
impl TenantStore for MemoryStore {
    async fn is_empty(&self) -> Result<bool> {
        Ok(self.lock()?.tenants.is_empty())
    }

    async fn create_tenant(&self, seed: TenantSeed) -> Result<()> {
        let mut guard = self.lock()?;
        if guard.tenants.contains_key(&seed.tenant.id) {
            return Err(RegistryError::Conflict(format!("tenant {} already exists", seed.tenant.id)));
        }
        insert_seed(&mut guard, seed)
    }

    async fn create_first_tenant(&self, seed: TenantSeed) -> Result<bool> {
        let mut guard = self.lock()?;
        if !guard.tenants.is_empty() {
            return Ok(false);
        }
        insert_seed(&mut guard, seed).map(|()| true)
    }

    async fn get_tenant(&self, id: Uuid) -> Result<Tenant> {
        self.lock()?.tenant(id).cloned()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self.lock()?.tenants.values().cloned().collect())
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn create_client(
        &self,
        client: Client,
        secret: Option<NewSecret>,
        audit: Option<&AuditEvent>,
    ) -> Result<Option<ClientSecret>> {
        let mut state = self.lock()?;
        let first = state.insert_client(client, secret)?;
        state.log(audit);
        Ok(first)
    }

    async fn get_client(&self, at: ClientRef) -> Result<Client> {
        let mut state = self.lock()?;
        let entry = state.entry(at)?;
        entry.client.clone().ok_or(RegistryError::NotFound("client"))
    }

    async fn find_client(&self, id: Uuid) -> Result<Option<(Client, Vec<ClientSecret>)>> {
        let state = self.lock()?;
        Ok(state.clients.get(&id).and_then(|e| e.client.clone().map(|c| (c, e.secrets.clone()))))
    }

    async fn list_clients(&self, tenant_id: Uuid, kind: ClientKind, query: &ListQuery) -> Result<Page<Client>> {
        let state = self.lock()?;
        state.tenant(tenant_id)?;
        let mut entries: Vec<&Entry> = state
            .clients
            .values()
            .filter(|e| {
                e.client.as_ref().is_some_and(|c| {
                    c.tenant_id == tenant_id
                        && c.kind == kind
                        && (query.ids.is_empty() || query.ids.contains(&c.id))
                        && (query.tags.is_empty() || c.tags.iter().any(|t| query.tags.contains(t)))
                        && query
                            .name
                            .as_ref()
                            .is_none_or(|n| c.name.to_ascii_lowercase().contains(&n.to_ascii_lowercase()))
                })
            })
            .collect();
        entries.sort_by_key(|e| e.seq);
        Ok(page(entries.into_iter().filter_map(|e| e.client.as_ref()).collect(), query))
    }

    async fn update_client(&self, at: ClientRef, changes: ClientChanges, audit: Option<&AuditEvent>) -> Result<Client> {
        let mut state = self.lock()?;
        let mut client = state.entry(at)?.client.clone().ok_or(RegistryError::NotFound("client"))?;
        client.apply(changes)?;
        check_role_refs(&client.role_ids, state.role_exists(at.tenant_id))?;
        state.entry(at)?.client = Some(client.clone());
        state.log(audit);
        Ok(client)
    }

    async fn delete_client(&self, at: ClientRef, audit: Option<&AuditEvent>) -> Result<()> {
        let mut state = self.lock()?;
        state.entry(at)?;
        state.clients.remove(&at.id);
        state.log(audit);
        Ok(())
    }

    async fn add_secret(&self, at: ClientRef, secret: NewSecret, audit: Option<&AuditEvent>) -> Result<ClientSecret> {
        let mut state = self.lock()?;
        let entry = state.entry(at)?;
        let stored = next_secret(entry.secrets.len(), entry.next_secret_id, secret)?;
        entry.next_secret_id += 1;
        entry.secrets.push(stored.clone());
        state.log(audit.map(|e| e.on_secret(stored.id)).as_ref());
        Ok(stored)
    }

    async fn list_secrets(&self, at: ClientRef) -> Result<Vec<ClientSecret>> {
        Ok(self.lock()?.entry(at)?.secrets.clone())
    }

    async fn update_secret(
        &self,
        at: ClientRef,
        secret_id: u32,
        changes: SecretChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<ClientSecret> {
        let mut state = self.lock()?;
        let secret =
            state.entry(at)?.secrets.iter_mut().find(|s| s.id == secret_id).ok_or(RegistryError::NotFound("secret"))?;
        if let Some(d) = changes.description {
            secret.description = d;
        }
        if let Some(e) = changes.expiration {
            secret.expiration = e;
        }
        let secret = secret.clone();
        state.log(audit);
        Ok(secret)
    }

    async fn delete_secret(&self, at: ClientRef, secret_id: u32, audit: Option<&AuditEvent>) -> Result<()> {
        let mut state = self.lock()?;
        let secrets = &mut state.entry(at)?.secrets;
        let before = secrets.len();
        secrets.retain(|s| s.id != secret_id);
        if secrets.len() == before {
            return Err(RegistryError::NotFound("secret"));
        }
        state.log(audit);
        Ok(())
    }

    async fn cors_origin_allowed(&self, origin: &str) -> Result<bool> {
        let state = self.lock()?;
        Ok(state
            .clients
            .values()
            .filter_map(|e| e.client.as_ref())
            .any(|c| c.enabled && c.allowed_cors_origins.iter().any(|o| o == origin)))
    }
}

#[async_trait]
impl RoleStore for MemoryStore {
    async fn list_roles(&self, tenant_id: Uuid) -> Result<Vec<Role>> {
        self.lock()?.roles.get(&tenant_id).cloned().ok_or(RegistryError::NotFound("tenant"))
    }

    async fn get_role(&self, tenant_id: Uuid, id: Uuid) -> Result<Role> {
        let state = self.lock()?;
        let roles = state.roles.get(&tenant_id).ok_or(RegistryError::NotFound("tenant"))?;
        roles.iter().find(|r| r.id == id).cloned().ok_or(RegistryError::NotFound("role"))
    }

    async fn create_role(&self, tenant_id: Uuid, role: Role, audit: Option<&AuditEvent>) -> Result<Role> {
        let mut state = self.lock()?;
        let roles = state.roles.get_mut(&tenant_id).ok_or(RegistryError::NotFound("tenant"))?;
        if roles.iter().any(|r| r.id == role.id) {
            return Err(RegistryError::Conflict(format!("a role with id {} already exists", role.id)));
        }
        roles.push(role.clone());
        state.log(audit);
        Ok(role)
    }

    async fn update_role(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        changes: RoleChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<Role> {
        let mut state = self.lock()?;
        let roles = state.roles.get_mut(&tenant_id).ok_or(RegistryError::NotFound("tenant"))?;
        let slot = roles.iter_mut().find(|r| r.id == id).ok_or(RegistryError::NotFound("role"))?;
        let mut role = slot.clone();
        role.apply(tenant_id, changes)?;
        *slot = role.clone();
        state.log(audit);
        Ok(role)
    }

    async fn delete_role(&self, tenant_id: Uuid, id: Uuid, audit: Option<&AuditEvent>) -> Result<()> {
        let mut state = self.lock()?;
        let roles = state.roles.get_mut(&tenant_id).ok_or(RegistryError::NotFound("tenant"))?;
        let role = roles.iter().find(|r| r.id == id).ok_or(RegistryError::NotFound("role"))?;
        if role.built_in {
            return Err(RegistryError::invalid("Id", "a built-in role cannot be deleted"));
        }
        roles.retain(|r| r.id != id);
        for c in state.clients.values_mut().filter_map(|e| e.client.as_mut()) {
            c.role_ids.retain(|r| *r != id);
        }
        for u in state.users.iter_mut() {
            u.role_ids.retain(|r| *r != id);
        }
        state.log(audit);
        Ok(())
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: User, audit: Option<&AuditEvent>) -> Result<User> {
        let mut state = self.lock()?;
        state.tenant(user.tenant_id)?;
        let user = state.insert_user(user)?;
        state.log(audit);
        Ok(user)
    }

    async fn get_user(&self, tenant_id: Uuid, id: Uuid) -> Result<User> {
        let state = self.lock()?;
        state
            .users
            .iter()
            .find(|u| u.tenant_id == tenant_id && u.id == id)
            .cloned()
            .ok_or(RegistryError::NotFound("user"))
    }

    async fn find_user_by_name(&self, tenant_id: Uuid, user_name: &str) -> Result<Option<User>> {
        let key = User::name_key(user_name);
        let state = self.lock()?;
        Ok(state.users.iter().find(|u| u.tenant_id == tenant_id && User::name_key(&u.user_name) == key).cloned())
    }

    async fn list_users(&self, tenant_id: Uuid, query: &ListQuery) -> Result<Page<User>> {
        let state = self.lock()?;
        state.tenant(tenant_id)?;
        let users = state
            .users
            .iter()
            .filter(|u| u.tenant_id == tenant_id && (query.ids.is_empty() || query.ids.contains(&u.id)))
            .collect();
        Ok(page(users, query))
    }

    async fn update_user(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        changes: UserChanges,
        audit: Option<&AuditEvent>,
    ) -> Result<User> {
        let mut state = self.lock()?;
        let index = state
            .users
            .iter()
            .position(|u| u.tenant_id == tenant_id && u.id == id)
            .ok_or(RegistryError::NotFound("user"))?;
        let mut user = state.users[index].clone();
        user.apply(changes)?;
        let before = &state.users[index];
        if before.removes_administrator(Some(&user)) && !state.other_administrator(tenant_id, id) {
            return Err(before.last_administrator());
        }
        let key = User::name_key(&user.user_name);
        if state.users.iter().any(|u| u.tenant_id == tenant_id && u.id != id && User::name_key(&u.user_name) == key) {
            return Err(RegistryError::Conflict(format!("the user name {} is taken", user.user_name)));
        }
        check_role_refs(&user.role_ids, state.role_exists(tenant_id))?;
        state.users[index] = user.clone();
        state.log(audit);
        Ok(user)
    }

    async fn delete_user(&self, tenant_id: Uuid, id: Uuid, audit: Option<&AuditEvent>) -> Result<()> {
        let mut state = self.lock()?;
        let index = state
            .users
            .iter()
            .position(|u| u.tenant_id == tenant_id && u.id == id)
            .ok_or(RegistryError::NotFound("user"))?;
        let before = &state.users[index];
        if before.removes_administrator(None) && !state.other_administrator(tenant_id, id) {
            return Err(before.last_administrator());
        }
        state.users.remove(index);
        state.log(audit);
        Ok(())
    }
}

/// Writes a tenant's seed, all or nothing: the work is done on a copy that replaces the
/// state only when every part succeeded.
fn insert_seed(state: &mut State, seed: TenantSeed) -> Result<()> {
    let mut next = state.clone();
    next.tenants.insert(seed.tenant.id, seed.tenant.clone());
    next.roles.insert(seed.tenant.id, Role::built_ins().to_vec());
    for user in seed.users {
        next.insert_user(user)?;
    }
    for (client, secret) in seed.clients {
        next.insert_client(client, secret)?;
    }
    *state = next;
    Ok(())
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn server_secret(&self, name: &str, candidate: Vec<u8>) -> Result<Vec<u8>> {
        Ok(self.lock()?.server_secrets.entry(name.to_owned()).or_insert(candidate).clone())
    }
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        Ok(self.lock()?.keys.clone())
    }

    async fn rotate_signing_key(
        &self,
        key: SigningKeyRecord,
        at: OffsetDateTime,
        audit: Option<&AuditEvent>,
    ) -> Result<()> {
        let mut state = self.lock()?;
        for k in state.keys.iter_mut().filter(|k| k.alg == key.alg && k.retired.is_none()) {
            k.retired = Some(at);
        }
        state.keys.push(key);
        state.log(audit);
        Ok(())
    }

    async fn add_first_signing_key(&self, key: SigningKeyRecord) -> Result<bool> {
        let mut state = self.lock()?;
        if state.keys.iter().any(|k| k.alg == key.alg && k.retired.is_none()) {
            return Ok(false);
        }
        state.keys.push(key);
        Ok(true)
    }

    async fn prune_signing_keys(&self, before: OffsetDateTime) -> Result<()> {
        self.lock()?.keys.retain(|k| k.retired.is_none_or(|r| r >= before));
        Ok(())
    }
}

#[async_trait]
impl GrantStore for MemoryStore {
    async fn create_session(&self, session: Session, audit: Option<&AuditEvent>) -> Result<()> {
        let mut state = self.lock()?;
        state.sessions.insert(session.handle.clone(), session);
        state.log(audit);
        Ok(())
    }

    async fn find_session(&self, handle: &SecretHashKey, now: OffsetDateTime) -> Result<Option<WithUser<Session>>> {
        let state = self.lock()?;
        Ok(state
            .sessions
            .get(handle)
            .filter(|s| now < s.expires)
            .map(|s| state.with_user(s.clone(), s.tenant_id, s.user_id)))
    }

    async fn delete_session(&self, handle: &SecretHashKey, audit: Option<&AuditEvent>) -> Result<()> {
        let mut state = self.lock()?;
        if state.sessions.remove(handle).is_some() {
            state.log(audit);
        }
        Ok(())
    }

    async fn save_code(&self, code: AuthorizationCode) -> Result<()> {
        self.lock()?.codes.insert(code.handle.clone(), (code, false));
        Ok(())
    }

    async fn use_code(&self, handle: &SecretHashKey, now: OffsetDateTime) -> Result<CodeUse> {
        let mut state = self.lock()?;
        Ok(match state.codes.get_mut(handle) {
            Some((code, true)) => CodeUse::Replayed(code.clone().into()),
            Some((code, used)) if now < code.expires => {
                *used = true;
                let code = code.clone();
                CodeUse::Fresh(state.with_user(code.clone(), code.tenant_id, code.user_id).into())
            }
            _ => CodeUse::Unknown,
        })
    }

    async fn save_refresh(&self, token: RefreshToken) -> Result<()> {
        self.lock()?.refresh.insert(token.handle.clone(), token);
        Ok(())
    }

    // The presentation's parts and the event of a reuse: one call, one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn use_refresh(
        &self,
        client_id: Uuid,
        handle: &SecretHashKey,
        successor: SecretHashKey,
        now: OffsetDateTime,
        sliding: time::Duration,
        grace: time::Duration,
        reuse: Option<&AuditEvent>,
    ) -> Result<RefreshUse> {
        let mut state = self.lock()?;
        let token = state.refresh.get(handle).cloned();
        let next = state.successors.get(handle).and_then(|h| state.refresh.get(h)).cloned();
        let revoked = token.as_ref().is_some_and(|t| state.revoked_families.contains_key(&t.family));
        Ok(match (refresh_step(client_id, token.as_ref(), next.as_ref(), revoked, now, grace), token) {
            (RefreshStep::Rotate, Some(mut token)) => {
                let new = token.successor(successor.clone(), now, sliding);
                token.consumed = Some(now);
                state.refresh.insert(handle.clone(), token.clone());
                state.refresh.insert(successor.clone(), new);
                state.successors.insert(handle.clone(), successor);
                let (t, u) = (token.tenant_id, token.user_id);
                RefreshUse::Rotated(state.with_user(token, t, u).into())
            }
            (RefreshStep::Retry, Some(token)) => {
                let (t, u) = (token.tenant_id, token.user_id);
                RefreshUse::Retried(state.with_user(token, t, u).into())
            }
            (RefreshStep::Reuse, Some(token)) => {
                state.revoked_families.insert(token.family, now);
                state.log(reuse.map(|e| e.on_family(token.family)).as_ref());
                RefreshUse::Reused
            }
            _ => RefreshUse::Invalid,
        })
    }

    async fn find_refresh(&self, handle: &SecretHashKey) -> Result<Option<RefreshToken>> {
        Ok(self.lock()?.refresh.get(handle).cloned())
    }

    async fn revoke_family(&self, family: Uuid, now: OffsetDateTime, audit: Option<&AuditEvent>) -> Result<()> {
        let mut state = self.lock()?;
        state.revoked_families.insert(family, now);
        state.log(audit);
        Ok(())
    }

    async fn family_revoked(&self, family: Uuid) -> Result<bool> {
        Ok(self.lock()?.revoked_families.contains_key(&family))
    }

    async fn revoke_user_grants(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: OffsetDateTime,
        audit: Option<&AuditEvent>,
    ) -> Result<()> {
        let mut state = self.lock()?;
        state.sessions.retain(|_, s| !(s.tenant_id == tenant_id && s.user_id == user_id));
        let mine = |t: Uuid, u: Uuid| t == tenant_id && u == user_id;
        let families: Vec<Uuid> = state
            .refresh
            .values()
            .filter(|r| mine(r.tenant_id, r.user_id))
            .map(|r| r.family)
            .chain(state.codes.values().filter(|(c, _)| mine(c.tenant_id, c.user_id)).map(|(c, _)| c.family))
            .chain(state.device_codes.values().filter_map(|d| match &d.status {
                crate::device::DeviceStatus::Approved(a) if mine(d.tenant_id, a.user_id) => Some(a.family),
                _ => None,
            }))
            .collect();
        state.revoked_families.extend(families.into_iter().map(|f| (f, now)));
        state.log(audit);
        Ok(())
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let mut state = self.lock()?;
        let before = state.sessions.len() + state.codes.len() + state.refresh.len();
        state.sessions.retain(|_, s| now < s.expires);
        state.codes.retain(|_, (c, _)| now < c.expires);
        state.refresh.retain(|_, r| now < r.absolute_expiry);
        let stored: HashSet<Uuid> =
            state.refresh.values().map(|r| r.family).chain(state.codes.values().map(|(c, _)| c.family)).collect();
        let revocations = state.revoked_families.len();
        state.revoked_families.retain(|f, at| now - *at < REVOCATION_KEPT || stored.contains(f));
        let forgotten = revocations - state.revoked_families.len();
        Ok((before - state.sessions.len() - state.codes.len() - state.refresh.len() + forgotten) as u64)
    }
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn count_attempt(&self, keys: &[String], now: OffsetDateTime, window: time::Duration) -> Result<Vec<u32>> {
        let mut state = self.lock()?;
        Ok(keys
            .iter()
            .map(|key| {
                let entry = state.attempts.entry(key.clone()).or_insert((0, now));
                if entry.1 + window <= now {
                    *entry = (0, now);
                }
                entry.0 = entry.0.saturating_add(1);
                entry.0
            })
            .collect())
    }

    async fn clear_attempts(&self, key: &str) -> Result<()> {
        self.lock()?.attempts.remove(key);
        Ok(())
    }

    async fn forgive_attempt(&self, key: &str) -> Result<()> {
        if let Some(entry) = self.lock()?.attempts.get_mut(key) {
            entry.0 = entry.0.saturating_sub(1);
        }
        Ok(())
    }

    async fn purge_attempts(&self, before: OffsetDateTime) -> Result<u64> {
        let mut state = self.lock()?;
        let count = state.attempts.len();
        state.attempts.retain(|_, (_, since)| *since >= before);
        Ok((count - state.attempts.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    crate::store_suite!((super::MemoryStore::new(), ()));
}
