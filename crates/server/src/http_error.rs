//! The one place where errors become HTTP: status, headers and bodies.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use gatehouse_provider::{ErrorCode, ProtocolError};
use gatehouse_registry::RegistryError;
use serde_json::json;
use uuid::Uuid;

/// The response header that names a request's operation (the product's `Operation-Id`).
pub const OPERATION_ID: header::HeaderName = header::HeaderName::from_static("operation-id");

tokio::task_local! {
    /// The id of the request being served (set by `requests::requests` for every request):
    /// the admin API's `Operation-Id`, so that an error body and the header always agree.
    static CURRENT_OPERATION: Uuid;
}

/// Runs `f` as operation `id`: an [`ApiError`] rendered inside names that id.
pub async fn in_operation<F: std::future::Future>(id: Uuid, f: F) -> F::Output {
    CURRENT_OPERATION.scope(id, f).await
}

/// The current request's operation id; outside one (never in the running server), a new id.
pub fn operation_id() -> Uuid {
    CURRENT_OPERATION.try_with(|id| *id).unwrap_or_else(|_| Uuid::new_v4())
}

/// An admin API failure, answered with the contract's body
/// `{ OperationId, Error, Reason, Resolution }` (admin-api.md, Errors).
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub reason: String,
    pub resolution: String,
    /// For the log only.
    pub detail: Option<String>,
    /// RFC 6750 §3: the `WWW-Authenticate` challenge of a 401.
    pub challenge: Option<&'static str>,
    /// The reason quotes the request (a JSON type error names the value it found, which may
    /// be a password): it goes back to the caller, never to the log.
    pub reason_quotes_request: bool,
}

/// Without a reason that quotes the request: actix-web's logger prints errors with `Debug`.
impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("reason", &self.loggable_reason())
            .field("detail", &self.detail)
            .finish_non_exhaustive()
    }
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        error: impl Into<String>,
        reason: impl Into<String>,
        resolution: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error: error.into(),
            reason: reason.into(),
            resolution: resolution.into(),
            detail: None,
            challenge: None,
            reason_quotes_request: false,
        }
    }

    /// The reason, or a stand-in when it quotes the request.
    fn loggable_reason(&self) -> &str {
        if self.reason_quotes_request {
            "(quotes the request: not logged)"
        } else {
            &self.reason
        }
    }

    /// A 400 whose reason quotes the request: see [`ApiError::reason_quotes_request`].
    pub fn bad_request_quoting(reason: impl Into<String>) -> Self {
        Self { reason_quotes_request: true, ..Self::bad_request(reason) }
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "The request is not valid.",
            reason,
            "Correct the request and send it again.",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("The {what} was not found."),
            format!("No {what} with that identifier exists here."),
            "Check the identifiers in the path.",
        )
    }

    pub fn unauthorized(token_given: bool) -> Self {
        Self {
            challenge: Some(if token_given { r#"Bearer error="invalid_token""# } else { "Bearer" }),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "Authentication is required.",
                if token_given { "The bearer token is invalid or expired." } else { "No bearer token was sent." },
                "Send an access token issued by this server in the Authorization header.",
            )
        }
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Access is denied.",
            reason,
            "Use a token with the required role in this tenant.",
        )
    }

    /// Password work is queued full (`passwords::PasswordGate`): try again in a moment.
    pub fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy.",
            "Too many password operations are running at once; nothing was changed.",
            "Try again in a moment.",
        )
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self {
            detail: Some(detail.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server failed.",
                "An internal error occurred; nothing was changed.",
                "Try again later; report the OperationId if it persists.",
            )
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.loggable_reason())
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(i) => Self::bad_request(format!("{} {}.", i.field, i.rule)),
            RegistryError::NotFound(what) => Self::not_found(what),
            RegistryError::Conflict(reason) => Self::new(
                StatusCode::CONFLICT,
                "The object already exists.",
                format!("{reason}."),
                "Use another identifier, or update the existing object.",
            ),
            RegistryError::LastAdministrator(user_name) => Self::new(
                StatusCode::CONFLICT,
                "The change would lock the tenant out of its administration.",
                format!("{user_name} is the last enabled user with the Tenant Administrator role."),
                "Give the Tenant Administrator role to another enabled user first.",
            ),
            RegistryError::Storage(detail) => Self::internal(detail),
        }
    }
}

impl From<gatehouse_registry::Invalid> for ApiError {
    fn from(i: gatehouse_registry::Invalid) -> Self {
        RegistryError::Invalid(i).into()
    }
}

impl From<ProtocolError> for ApiError {
    fn from(e: ProtocolError) -> Self {
        match e.code {
            ErrorCode::InvalidToken => Self { detail: e.detail, ..Self::unauthorized(true) },
            _ => Self::internal(e.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let operation_id = operation_id();
        if self.status.is_server_error() {
            tracing::error!(%operation_id, detail = ?self.detail, "admin API failure");
        } else {
            // Debug, not Display: a reason naming a property of the request (a JSON key may
            // hold a line break) cannot forge a log line.
            tracing::info!(%operation_id, refused = ?self, "admin API refused");
        }
        let mut response = HttpResponse::build(self.status);
        if let Some(challenge) = self.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, crate::passwords::RETRY_AFTER));
        }
        response.json(crate::admin::views::ErrorBody {
            operation_id,
            error: &self.error,
            reason: &self.reason,
            resolution: &self.resolution,
        })
    }
}

/// A protocol error on a JSON endpoint (token, revocation, introspection): RFC 6749 §5.2.
#[derive(Debug)]
pub struct OAuthError(pub ProtocolError);

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<ProtocolError> for OAuthError {
    fn from(e: ProtocolError) -> Self {
        Self(e)
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self.0.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let e = &self.0;
        if e.code == ErrorCode::ServerError {
            tracing::error!(detail = ?e.detail, "protocol failure");
        } else {
            tracing::info!(error = e.code.as_str(), detail = ?e.detail, "protocol request refused");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if e.via_header && e.code == ErrorCode::InvalidClient {
            response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="gatehouse", charset="UTF-8""#));
        }
        response.json(json!({ "error": e.code.as_str(), "error_description": e.description }))
    }
}
