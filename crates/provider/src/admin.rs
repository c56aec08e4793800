//! Who is calling the admin API: a bearer access token of ours, checked against the live
//! registry on every request, so a disabled or deleted client loses its power at once
//! (admin-api.md, Rules: no cache may serve a stale registration).

use gatehouse_registry::{ClientKind, RegistryError};
use uuid::Uuid;

use crate::error::{ErrorCode, ProtocolError};
use crate::Provider;

/// The principal behind a valid token, with its roles as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: Uuid,
    pub subject: String,
    pub client_id: Uuid,
    pub roles: Vec<Uuid>,
}

fn invalid_token(detail: impl Into<String>) -> ProtocolError {
    ProtocolError::new(ErrorCode::InvalidToken, "the access token is invalid or expired").with_detail(detail)
}

impl Provider {
    /// Verifies a bearer token (signature, type, issuer, audience, lifetime) and looks up
    /// the principal live. `invalid_token` for anything that does not hold.
    pub async fn caller(&self, bearer: &str) -> Result<Caller, ProtocolError> {
        let (claims, client) = self.verify_access_token(bearer).await?;
        // The admin API is the `ocsapi` resource: a token for sign-in only does not reach it.
        if !crate::params::scopes(Some(&claims.scope)).contains(&"ocsapi") {
            return Err(invalid_token("the token lacks the ocsapi scope"));
        }
        let client_id = client.id;
        let roles = if client.kind == ClientKind::ClientCredential && claims.sub == claims.client_id {
            client.role_ids
        } else {
            let user_id = Uuid::parse_str(&claims.sub).map_err(|_| invalid_token("sub is not a GUID"))?;
            match self.stores.users.get_user(claims.tid, user_id).await {
                Ok(user) if user.may_hold(claims.iat) => user.role_ids,
                Ok(_) | Err(RegistryError::NotFound(_)) => return Err(invalid_token("user is disabled or gone")),
                Err(e) => return Err(e.into()),
            }
        };
        Ok(Caller { tenant_id: claims.tid, subject: claims.sub, client_id, roles })
    }
}
