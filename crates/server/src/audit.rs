//! Where a request came from, as the audit trail records it: the client's address (behind
//! trusted proxies, the one they name) and the request's operation id.

use actix_web::HttpRequest;
use gatehouse_registry::audit::Origin;
use uuid::Uuid;

use crate::client_address::client_address;
use crate::AppState;

/// The id the audit trail records for the request being served: the request's id
/// (`requests::requests`), which the admin API answers as `Operation-Id` and every log line of
/// the request carries, on the protocol endpoints and pages too.
pub fn operation_id() -> Uuid {
    crate::http_error::operation_id()
}

/// The request's origin: its client's address and its operation id.
pub fn origin(req: &HttpRequest, state: &AppState) -> Origin {
    Origin::new(client_address(req, &state.trusted_proxies).map(|a| a.to_string()), operation_id())
}
