//! Discovery (OpenID Connect Discovery 1.0 §3, RFC 8628 §4): advertises exactly what works.

use openidconnect::core::{
    CoreClaimName, CoreClientAuthMethod, CoreGrantType, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
    CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, IssuerUrl, JsonWebKeySetUrl, ProviderMetadata, ResponseTypes, Scope, TokenUrl,
    UserInfoUrl,
};
use serde::{Deserialize, Serialize};

use crate::authorize::SCOPES;
use crate::error::ProtocolError;
use crate::Provider;

/// Metadata beyond the Discovery 1.0 core: logout, revocation, introspection, PKCE, RFC 9207.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MoreMetadata {
    pub end_session_endpoint: String,
    /// RFC 8628 §4.
    pub device_authorization_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub code_challenge_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
}

impl AdditionalProviderMetadata for MoreMetadata {}

pub type Metadata = ProviderMetadata<
    MoreMetadata,
    openidconnect::core::CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    openidconnect::core::CoreClaimType,
    CoreGrantType,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJweKeyManagementAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

impl Provider {
    pub fn discovery(&self) -> Result<Metadata, ProtocolError> {
        let base = &self.settings.issuer;
        let url = |path: &str| format!("{base}{path}");
        let bad = |e: url::ParseError| ProtocolError::server(e);
        let types = |t: &[CoreResponseType]| ResponseTypes::new(t.to_vec());
        let auth_methods = vec!["client_secret_basic".to_owned(), "client_secret_post".to_owned()];
        let more = MoreMetadata {
            end_session_endpoint: url("/connect/endsession"),
            device_authorization_endpoint: url(crate::device::DEVICE_AUTHORIZATION_PATH),
            revocation_endpoint: url("/connect/revocation"),
            introspection_endpoint: url("/connect/introspect"),
            code_challenge_methods_supported: vec!["S256".into()],
            authorization_response_iss_parameter_supported: true,
            revocation_endpoint_auth_methods_supported: [auth_methods.clone(), vec!["none".into()]].concat(),
            introspection_endpoint_auth_methods_supported: auth_methods,
        };
        Ok(Metadata::new(
            IssuerUrl::new(base.clone()).map_err(bad)?,
            AuthUrl::new(url("/connect/authorize")).map_err(bad)?,
            JsonWebKeySetUrl::new(url("/.well-known/openid-configuration/jwks")).map_err(bad)?,
            vec![
                types(&[CoreResponseType::Code]),
                types(&[CoreResponseType::Code, CoreResponseType::IdToken]),
                types(&[CoreResponseType::Code, CoreResponseType::Token]),
                types(&[CoreResponseType::Code, CoreResponseType::IdToken, CoreResponseType::Token]),
            ],
            vec![CoreSubjectIdentifierType::Public],
            // RS256 by default; ES256 for clients that ask for it (IdTokenSigningAlgorithm).
            vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, CoreJwsSigningAlgorithm::EcdsaP256Sha256],
            more,
        )
        // OIDC Core §6: request objects are refused (request_not_supported), so say so.
        .set_request_parameter_supported(Some(false))
        .set_request_uri_parameter_supported(Some(false))
        .set_token_endpoint(Some(TokenUrl::new(url("/connect/token")).map_err(bad)?))
        .set_userinfo_endpoint(Some(UserInfoUrl::new(url("/connect/userinfo")).map_err(bad)?))
        .set_scopes_supported(Some(SCOPES.iter().map(|s| Scope::new((*s).to_owned())).collect()))
        .set_response_modes_supported(Some(vec![
            CoreResponseMode::Query,
            CoreResponseMode::Fragment,
            CoreResponseMode::FormPost,
        ]))
        .set_grant_types_supported(Some(vec![
            CoreGrantType::AuthorizationCode,
            CoreGrantType::RefreshToken,
            CoreGrantType::ClientCredentials,
            CoreGrantType::DeviceCode,
        ]))
        .set_token_endpoint_auth_methods_supported(Some(vec![
            CoreClientAuthMethod::ClientSecretBasic,
            CoreClientAuthMethod::ClientSecretPost,
            CoreClientAuthMethod::None,
        ]))
        .set_claims_supported(Some(
            [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "sid",
                "tid",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "email",
            ]
            .iter()
            .map(|c| CoreClaimName::new((*c).to_owned()))
            .collect(),
        )))
    }
}
