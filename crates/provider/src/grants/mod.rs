//! The token endpoint: one file per grant type.

use crate::client_auth::{self, AuthenticatedClient};
use crate::error::{ErrorCode, ProtocolError};
use crate::params::Params;
use crate::tokens::TokenResponse;
use crate::Provider;

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

/// A request to the token endpoint, as the server received it.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    /// The form body, in order, repeats kept (so that repeats can be refused).
    pub form: Vec<(String, String)>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

impl Provider {
    /// Answers a token request: authenticates the client, then runs its grant.
    pub async fn token(&self, request: TokenRequest) -> Result<TokenResponse, ProtocolError> {
        let params = Params::new(request.form);
        let grant_type = params.require("grant_type")?.to_owned();
        let now = self.clock.now();
        let client =
            client_auth::authenticate(self.store.as_ref(), &params, request.authorization.as_deref(), now).await?;
        let via_header = client.via_header;
        self.grant(&grant_type, client, &params)
            .await
            .map_err(|e| ProtocolError { via_header: via_header && e.code == ErrorCode::InvalidClient, ..e })
    }

    async fn grant(
        &self,
        grant_type: &str,
        client: AuthenticatedClient,
        params: &Params,
    ) -> Result<TokenResponse, ProtocolError> {
        match grant_type {
            "client_credentials" => client_credentials::grant(self, &client.client, params).await,
            "authorization_code" => authorization_code::grant(self, &client.client, params).await,
            "refresh_token" => refresh_token::grant(self, &client.client, params).await,
            other => Err(ProtocolError::new(
                ErrorCode::UnsupportedGrantType,
                format!("the grant type {other} is not supported"),
            )),
        }
    }
}
