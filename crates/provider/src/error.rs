//! Protocol errors: a closed list of wire codes, each with the section that defines it.
//! The public description goes on the wire; the private detail goes only to the log.

use std::borrow::Cow;
use std::fmt;

/// The `error` values this server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6749 §5.2 (token), §4.1.2.1 (authorize).
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed. HTTP 401.
    InvalidClient,
    /// RFC 6749 §5.2: the grant (code, refresh token) is invalid, expired or revoked.
    InvalidGrant,
    /// RFC 6749 §5.2: this client may not use this grant type.
    UnauthorizedClient,
    /// RFC 6749 §5.2.
    UnsupportedGrantType,
    /// RFC 6749 §5.2 and §4.1.2.1.
    InvalidScope,
    /// RFC 6749 §4.1.2.1.
    AccessDenied,
    /// RFC 6749 §4.1.2.1.
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1; on the token endpoint answered as HTTP 500.
    ServerError,
    /// RFC 6749 §4.1.2.1.
    TemporarilyUnavailable,
    /// OpenID Connect Core §3.1.2.6: `prompt=none` and no session.
    LoginRequired,
    /// OpenID Connect Core §3.1.2.6: the `request` parameter (a request object) is not
    /// supported (§6.1).
    RequestNotSupported,
    /// OpenID Connect Core §3.1.2.6: the `request_uri` parameter is not supported (§6.2).
    RequestUriNotSupported,
    /// RFC 6750 §3.1: a bad bearer token. HTTP 401.
    InvalidToken,
    /// RFC 6750 §3.1: the token lacks the privileges. HTTP 403.
    InsufficientScope,
    /// RFC 8628 §3.5: the person has not decided yet; poll again.
    AuthorizationPending,
    /// RFC 8628 §3.5: polled too fast; the interval grows by 5 seconds.
    SlowDown,
    /// RFC 8628 §3.5: the device code has expired.
    ExpiredToken,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }
}

/// An error of the protocol, ready to be put on the wire by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: ErrorCode,
    /// `error_description`: safe to show to the client.
    pub description: Cow<'static, str>,
    /// For the log only.
    pub detail: Option<String>,
    /// The client authenticated with the `Authorization` header, so a 401 must carry
    /// `WWW-Authenticate` (RFC 6749 §5.2).
    pub via_header: bool,
}

impl ProtocolError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self { code, description: description.into(), detail: None, via_header: false }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// A store or key failure: the client learns only that the server failed.
    pub fn server(detail: impl fmt::Display) -> Self {
        Self::new(ErrorCode::ServerError, "the server could not complete the request").with_detail(detail.to_string())
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProtocolError {}

impl From<gatehouse_registry::RegistryError> for ProtocolError {
    fn from(e: gatehouse_registry::RegistryError) -> Self {
        Self::server(e)
    }
}
