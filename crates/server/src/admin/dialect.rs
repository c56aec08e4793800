//! The product's dialect on the wire, before routing (admin-api.md, Routes): paths that
//! match whatever their case, as ASP.NET Core's do, and an `Operation-Id` on every answer of
//! the admin API. One middleware, wrapped outermost so that CORS, the log and the routes
//! all see the canonical path (decisions 31 and 32).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{ErrorInternalServerError, InternalError};
use actix_web::http::header::HeaderValue;
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::middleware::Next;

use crate::http_error::{operation_id, OPERATION_ID};

// The literal segments of the admin routes (`admin::routes` builds its paths from these).
pub const API: &str = "api";
pub const V1: &str = "v1";
pub const TENANTS: &str = "Tenants";
pub const AUTHORIZATION_CODE_CLIENTS: &str = "AuthorizationCodeClients";
pub const HYBRID_CLIENTS: &str = "HybridClients";
pub const CLIENT_CREDENTIAL_CLIENTS: &str = "ClientCredentialClients";
pub const DEVICE_CODE_CLIENTS: &str = "DeviceCodeClients";
pub const SECRETS: &str = "Secrets";
pub const ROLES: &str = "Roles";
pub const USERS: &str = "Users";
pub const PASSWORD: &str = "Password";
pub const AUDIT_EVENTS: &str = "AuditEvents";
/// The OpenAPI document, `/api/openapi.json`.
pub const OPENAPI: &str = "openapi.json";

/// Every literal segment under `/api`, in its canonical spelling. A route with a new
/// literal adds it here (the unit test below checks the routes' own paths).
const ADMIN_SEGMENTS: [&str; 13] = [
    API,
    V1,
    TENANTS,
    AUTHORIZATION_CODE_CLIENTS,
    HYBRID_CLIENTS,
    CLIENT_CREDENTIAL_CLIENTS,
    DEVICE_CODE_CLIENTS,
    SECRETS,
    ROLES,
    USERS,
    PASSWORD,
    AUDIT_EVENTS,
    OPENAPI,
];

/// The protocol routes (`oidc::routes`) are all lower case under `/identity`, without a
/// parameter, and the product's identity server (IdentityServer on ASP.NET Core) matches them
/// in any case: there a path is lower-cased as a whole, so a new route needs no table. Only
/// paths are folded: the issuer, and every URL we hand out, keep the configured spelling.
const IDENTITY: &str = "identity";

/// The canonical spelling of `path`, when it differs: under `/api`, each segment equal to a
/// literal of the admin routes (ignoring ASCII case) takes the literal's spelling, and
/// parameter segments (GUIDs, secret ids) stay byte for byte; under `/identity`, the path is
/// lower-cased (ASCII only, so byte offsets stay).
pub fn canonical_path(path: &str) -> Option<String> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    let canonical = if first.eq_ignore_ascii_case(API) {
        let segments: Vec<&str> = path
            .split('/')
            .map(|segment| {
                ADMIN_SEGMENTS.iter().copied().find(|lit| lit.eq_ignore_ascii_case(segment)).unwrap_or(segment)
            })
            .collect();
        segments.join("/")
    } else if first.eq_ignore_ascii_case(IDENTITY) {
        path.to_ascii_lowercase()
    } else {
        return None;
    };
    (canonical != path).then_some(canonical)
}

/// True for the admin API's paths (after [`canonical_path`]).
fn is_admin(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Rewrites the request's path to its canonical spelling, keeping the query, as actix-web's
/// `NormalizePath` does. ASCII case folding keeps every byte offset, so the router's
/// indexes stay valid.
fn canonicalise(req: &mut ServiceRequest) {
    let Some(path) = canonical_path(req.path()) else { return };
    let query = req.query_string();
    let path_and_query = if query.is_empty() { path } else { format!("{path}?{query}") };
    let mut parts = req.head().uri.clone().into_parts();
    let Ok(path_and_query) = PathAndQuery::try_from(path_and_query) else { return };
    parts.path_and_query = Some(path_and_query);
    let Ok(uri) = Uri::from_parts(parts) else { return };
    req.match_info_mut().get_mut().update(&uri);
    req.head_mut().uri = uri;
}

/// The middleware: canonical paths for `/api` and `/identity`; for the admin API, the
/// request's id as its operation id, named by the `Operation-Id` header of the answer and by
/// the `OperationId` of an error body rendered while serving it.
pub async fn dialect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    canonicalise(&mut req);
    if !is_admin(req.path()) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    // The request's id (`requests::requests`, wrapped outside this) names the operation.
    // A hyphenated GUID is always a valid header value.
    let named = HeaderValue::from_str(&operation_id().to_string()).map_err(ErrorInternalServerError)?;
    match next.call(req).await {
        Ok(response) => {
            let mut response = response.map_into_boxed_body();
            response.headers_mut().insert(OPERATION_ID, named);
            Ok(response)
        }
        // An error no layer below answered is answered here, still inside the operation, so
        // that its body names the same id.
        Err(e) => {
            let mut response = e.error_response();
            response.headers_mut().insert(OPERATION_ID, named);
            Err(InternalError::from_response(e, response).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_take_their_canonical_spelling_and_parameters_stay() {
        let tenant = "6E953A5B-bc37-43a0-910c-6de1ea2705b5";
        assert_eq!(
            canonical_path(&format!("/API/V1/tenants/{tenant}/hybridclients/{tenant}/SECRETS/1")),
            Some(format!("/api/v1/Tenants/{tenant}/HybridClients/{tenant}/Secrets/1"))
        );
        assert_eq!(
            canonical_path(&format!("/api/v1/tenants/{tenant}/users/x/password/")),
            Some(format!("/api/v1/Tenants/{tenant}/Users/x/Password/"))
        );
        assert_eq!(canonical_path("/api/v1/Tenants/t/Roles"), None, "already canonical");
        assert_eq!(canonical_path("/api/v1/Tenants/t/roless"), None, "not a literal");
        assert_eq!(canonical_path("/Identity/Connect/TOKEN"), Some("/identity/connect/token".into()));
        assert_eq!(
            canonical_path("/IDENTITY/.Well-Known/OpenID-Configuration/JWKS"),
            Some("/identity/.well-known/openid-configuration/jwks".into())
        );
        // The admin tree folds only its own literals; other paths are left alone.
        assert_eq!(canonical_path("/api/v1/Tenants/t/Token"), None);
        assert_eq!(canonical_path("/Console/API"), None);
        assert_eq!(canonical_path("/"), None);
        // Non-ASCII never matches a literal, and keeps its bytes.
        assert_eq!(canonical_path("/api/v1/Tenants/ü/roles"), Some("/api/v1/Tenants/ü/Roles".into()));
    }

    #[test]
    fn the_table_holds_every_literal_of_the_admin_routes() {
        for path in super::super::route_paths() {
            for segment in path.split('/').filter(|s| !s.is_empty() && !s.starts_with('{')) {
                assert!(ADMIN_SEGMENTS.contains(&segment), "{segment} of {path} is not in ADMIN_SEGMENTS");
            }
        }
    }
}
