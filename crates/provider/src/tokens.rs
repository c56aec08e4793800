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
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// The tokens are never shown.
impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod debug_tests {
    use crate::authorize::{AuthorizeResponse, ResponseMode};
    use crate::grants::TokenRequest;
    use crate::tokens::TokenResponse;

    #[test]
    fn nothing_that_carries_a_secret_shows_it_in_debug() {
        let request = TokenRequest {
            form: vec![("client_secret".into(), "s3cret-value".into()), ("code".into(), "c0de-value".into())],
            authorization: Some("Basic YmFzaWMtdmFsdWU=".into()),
            ..Default::default()
        };
        let response = TokenResponse {
            access_token: "access-value".into(),
            token_type: "Bearer".into(),
            expires_in: 60,
            scope: "openid".into(),
            refresh_token: Some("refresh-value".into()),
            id_token: Some("id-value".into()),
        };
        let answer = AuthorizeResponse {
            redirect_uri: "https://app.example.com/cb".into(),
            mode: ResponseMode::Query,
            params: vec![("code".into(), "c0de-value".into())],
        };
        let shown = format!("{request:?} {response:?} {answer:?}");
        for secret in ["s3cret-value", "c0de-value", "YmFzaWMtdmFsdWU", "access-value", "refresh-value", "id-value"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("client_secret") && shown.contains("Bearer"), "{shown}");
    }
}
