//! An admin API change as the audit trail sees it. [`begin`] authenticates the caller and
//! makes the change's event; the handler hands [`Change::event`] to the store method that
//! makes the change (which writes it in its transaction) and its result to
//! [`Change::finish`], which records a refusal (a 4xx: 403, 404, 409, a broken rule) on its
//! own, as `Refused` with the public reason. Nothing is recorded for a caller who is not
//! authenticated (401), nor for a tenant that does not exist.

use std::sync::Arc;

use actix_web::HttpRequest;
use gatehouse_registry::audit::{Actor, AuditAction, AuditEvent, AuditStore};
use uuid::Uuid;

use super::{authenticate, permit, Access};
use crate::http_error::ApiError;
use crate::AppState;

/// A change under way, with its event.
pub struct Change {
    event: AuditEvent,
    audit: Arc<dyn AuditStore>,
}

/// Authenticates the caller of a change in `tenant_id` and checks the Tenant Administrator
/// role: 401, 404, 403 as [`super::authorize`]; a 403 is recorded.
pub async fn begin(
    req: &HttpRequest,
    state: &AppState,
    tenant_id: Uuid,
    action: AuditAction,
    target: impl Into<String>,
) -> Result<Change, ApiError> {
    let caller = authenticate(req, state).await?;
    let actor = match Uuid::parse_str(&caller.subject) {
        Ok(user) if user != caller.client_id => Actor::User(user),
        _ => Actor::Client(caller.client_id),
    };
    let origin = crate::audit::origin(req, state);
    let event = AuditEvent::new(Some(tenant_id), state.clock.now(), actor, action, target, &origin);
    let change = Change { event, audit: Arc::clone(&state.registry.audit) };
    match permit(state, &caller, tenant_id, Access::Write).await {
        Ok(()) => Ok(change),
        Err(e) => change.finish(Err(e)).await,
    }
}

impl Change {
    /// The event to write with the change.
    pub fn event(&self) -> Option<&AuditEvent> {
        Some(&self.event)
    }

    /// Names the target once it is known (a created item's id).
    pub fn target(&mut self, target: impl Into<String>) {
        self.event = self.event.clone().with_target(target);
    }

    /// Adds a note (a name, a description; never a secret).
    pub fn detail(&mut self, detail: impl Into<String>) {
        self.event = self.event.clone().with_detail(detail);
    }

    /// Another event of the same request (same actor, origin, target): what a change brings
    /// along in a transaction of its own (a user's grants revoked after a password reset).
    pub fn related(&self, action: AuditAction, detail: &str) -> AuditEvent {
        let mut event = self.event.clone().with_detail(detail);
        event.id = Uuid::new_v4();
        event.action = action;
        event
    }

    /// Passes the handler's result on; a refusal is recorded first. The reason recorded is
    /// the public one, unless it quotes the request (it may quote a password): then only
    /// the error's title.
    pub async fn finish<T>(&self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        if let Err(e) = &result {
            if e.status.is_client_error() {
                let reason = if e.reason_quotes_request { e.error.clone() } else { e.reason.clone() };
                let refused = self.event.refused(format!("{}: {reason}", e.status.as_u16()));
                if let Err(failure) = self.audit.record_event(&refused).await {
                    tracing::warn!(error = %failure, "could not record a refused change in the audit trail");
                }
            }
        }
        result
    }
}
