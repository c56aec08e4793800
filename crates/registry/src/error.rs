//! The registry's one error type. The server maps each variant to exactly one HTTP status.

use std::fmt;

/// A rule of the contract (`shared/spec/admin-api.md`) that a value broke.
///
/// `field` is the wire name of the property (PascalCase, with an index for list items),
/// `rule` says in plain words what the value must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub rule: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into() }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

/// What the registry answers when it cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The input broke a rule; nothing was written.
    #[error("invalid {0}")]
    Invalid(Invalid),
    /// The named thing (tenant, client, secret, role, user, key) does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The id (or user name) is taken.
    #[error("{0}")]
    Conflict(String),
    /// The change would leave the tenant with no enabled user holding the Tenant
    /// Administrator role (named: the user it would have taken out); nothing was written.
    #[error("{0} is the last enabled user with the Tenant Administrator role")]
    LastAdministrator(String),
    /// The store failed; the detail is for the log, never for the wire.
    #[error("storage failure: {0}")]
    Storage(String),
}

impl RegistryError {
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid(Invalid::new(field, rule))
    }
}

impl From<Invalid> for RegistryError {
    fn from(value: Invalid) -> Self {
        Self::Invalid(value)
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
