//! Who is calling the admin API: a bearer access token of ours, checked against the live
//! registry on every request, so a disabled or deleted client loses its power at once
//! (admin-api.md, Rules: no cache may serve a stale registration).

use gatehouse_registry::{ClientKind, RegistryError};
use uuid::Uuid;

use crate::error::{ErrorCode, ProtocolError};
use crate::tokens::{AccessTokenClaims, API_AUDIENCE};
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
        let payload = self.keys.verify(bearer, "at+jwt").map_err(|e| invalid_token(format!("{e:?}")))?;
        let claims: AccessTokenClaims = serde_json::from_slice(&payload).map_err(|e| invalid_token(e.to_string()))?;
        let now = self.clock.now().unix_timestamp();
        if claims.iss != self.settings.issuer || claims.aud != API_AUDIENCE {
            return Err(invalid_token("issuer or audience mismatch"));
        }
        if now >= claims.exp || now < claims.nbf {
            return Err(invalid_token("expired or not yet valid"));
        }
        let client_id = Uuid::parse_str(&claims.client_id).map_err(|_| invalid_token("client_id is not a GUID"))?;
        let (client, _) = self.store.find_client(client_id).await?.ok_or_else(|| invalid_token("client is gone"))?;
        if !client.enabled || client.tenant_id != claims.tid {
            return Err(invalid_token("client is disabled or moved"));
        }
        let roles = if client.kind == ClientKind::ClientCredential && claims.sub == claims.client_id {
            client.role_ids
        } else {
            let user_id = Uuid::parse_str(&claims.sub).map_err(|_| invalid_token("sub is not a GUID"))?;
            match self.store.get_user(claims.tid, user_id).await {
                Ok(user) if user.enabled => user.role_ids,
                Ok(_) | Err(RegistryError::NotFound(_)) => return Err(invalid_token("user is disabled or gone")),
                Err(e) => return Err(e.into()),
            }
        };
        Ok(Caller { tenant_id: claims.tid, subject: claims.sub, client_id, roles })
    }
}
