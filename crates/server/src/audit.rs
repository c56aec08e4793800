//! Where a request came from, as the audit trail records it: the client's address (behind
//! trusted proxies, the one they name) and the request's operation id.

use actix_web::HttpRequest;
use gatehouse_registry::audit::Origin;
use uuid::Uuid;

use crate::client_address::client_address;
use crate::AppState;

/// The id the audit trail records for the request being served: the admin API's
/// `Operation-Id`; elsewhere (protocol and sign-in pages), a new GUID. The one place to swap
/// for a request id of every request.
pub fn operation_id() -> Uuid {
    crate::http_error::operation_id()
}

/// The request's origin: its client's address and its operation id.
pub fn origin(req: &HttpRequest, state: &AppState) -> Origin {
    Origin::new(client_address(req, &state.trusted_proxies).map(|a| a.to_string()), operation_id())
}
