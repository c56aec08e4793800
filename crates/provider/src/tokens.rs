//! What tokens say: JWT access tokens (RFC 9068) and the token response (RFC 6749 §5.1).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The audience of access tokens for the admin and data API (the `ocsapi` scope).
pub const API_AUDIENCE: &str = "ocsapi";

/// The claims of an access token (RFC 9068 §2.2), plus the tenant (`tid`) and, for
/// client-credentials clients, their roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub tid: Uuid,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Uuid>,
}

/// A successful token response. Every field is the wire name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u32,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
