//! The in-memory store's snapshot: a copy of its state under the one lock.

use async_trait::async_trait;

use super::{Entry, MemoryStore, State};
use crate::error::Result;
use crate::store::snapshot::{
    not_empty, Attempts, ServerSecret, Snapshot, SnapshotStore, StoredClient, StoredCode, StoredRefresh, TenantSnapshot,
};

impl State {
    fn holds_anything(&self) -> bool {
        !(self.tenants.is_empty()
            && self.clients.is_empty()
            && self.users.is_empty()
            && self.keys.is_empty()
            && self.sessions.is_empty()
            && self.codes.is_empty()
            && self.refresh.is_empty()
            && self.revoked_families.is_empty()
            && self.server_secrets.is_empty()
            && self.attempts.is_empty()
            && self.device_codes.is_empty()
            && self.audit.is_empty())
    }
}

#[async_trait]
impl SnapshotStore for MemoryStore {
    async fn export(&self) -> Result<Snapshot> {
        let state = self.lock()?;
        let mut entries: Vec<&Entry> = state.clients.values().collect();
        entries.sort_by_key(|e| e.seq);
        let tenants = state
            .tenants
            .values()
            .map(|tenant| TenantSnapshot {
                tenant: tenant.clone(),
                roles: state.roles.get(&tenant.id).cloned().unwrap_or_default(),
                users: state.users.iter().filter(|u| u.tenant_id == tenant.id).cloned().collect(),
                clients: entries
                    .iter()
                    .filter_map(|e| {
                        let client = e.client.as_ref().filter(|c| c.tenant_id == tenant.id)?;
                        Some(StoredClient {
                            client: client.clone(),
                            secrets: e.secrets.clone(),
                            next_secret_id: e.next_secret_id,
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok(Snapshot {
            tenants,
            signing_keys: state.keys.clone(),
            server_secrets: state
                .server_secrets
                .iter()
                .map(|(name, value)| ServerSecret { name: name.clone(), value: value.clone() })
                .collect(),
            sessions: state.sessions.values().cloned().collect(),
            codes: state.codes.values().map(|(code, used)| StoredCode { code: code.clone(), used: *used }).collect(),
            refresh_tokens: state
                .refresh
                .values()
                .map(|t| StoredRefresh { token: t.clone(), successor: state.successors.get(&t.handle).cloned() })
                .collect(),
            revoked_families: state.revoked_families.iter().map(|(f, at)| (*f, *at)).collect(),
            attempts: state
                .attempts
                .iter()
                .map(|(key, (count, since))| Attempts { key: key.clone(), count: *count, since: *since })
                .collect(),
            device_codes: state.device_codes.values().cloned().collect(),
            audit_events: state.audit.clone(),
        }
        .canonical())
    }

    async fn import(&self, snapshot: Snapshot) -> Result<()> {
        let mut state = self.lock()?;
        if state.holds_anything() {
            return Err(not_empty());
        }
        let mut next = State::default();
        for t in snapshot.tenants {
            let id = t.tenant.id;
            next.tenants.insert(id, t.tenant);
            next.roles.insert(id, t.roles);
            next.users.extend(t.users);
            for c in t.clients {
                next.seq += 1;
                let entry = Entry { secrets: c.secrets, next_secret_id: c.next_secret_id, seq: next.seq, client: None };
                next.clients.insert(c.client.id, Entry { client: Some(c.client), ..entry });
            }
        }
        next.keys = snapshot.signing_keys;
        next.server_secrets = snapshot.server_secrets.into_iter().map(|s| (s.name, s.value)).collect();
        next.sessions = snapshot.sessions.into_iter().map(|s| (s.handle.clone(), s)).collect();
        next.codes = snapshot.codes.into_iter().map(|c| (c.code.handle.clone(), (c.code, c.used))).collect();
        for r in snapshot.refresh_tokens {
            if let Some(successor) = r.successor {
                next.successors.insert(r.token.handle.clone(), successor);
            }
            next.refresh.insert(r.token.handle.clone(), r.token);
        }
        next.revoked_families = snapshot.revoked_families.into_iter().collect();
        next.attempts = snapshot.attempts.into_iter().map(|a| (a.key, (a.count, a.since))).collect();
        next.device_codes = snapshot.device_codes.into_iter().map(|d| (d.handle.clone(), d)).collect();
        next.audit = snapshot.audit_events;
        *state = next;
        Ok(())
    }
}
