//! The request bodies of the admin API: PascalCase JSON in the dialect of the product we model
//! (admin-api.md, Models). They refuse unknown properties by name; the rules themselves live
//! in the registry. What the API answers is in `views`.

use gatehouse_registry::{ClientChanges, RoleChanges, UserChanges};
use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// A create or partial update of any kind of client. Properties a kind lacks are refused
/// by the registry, naming them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ClientBody {
    pub id: Option<Uuid>,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub access_token_lifetime: Option<i64>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub allowed_cors_origins: Option<Vec<String>>,
    pub allow_offline_access: Option<bool>,
    pub allow_access_tokens_via_browser: Option<bool>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tags: Option<Vec<String>>,
    pub role_ids: Option<Vec<Uuid>>,
    /// Device code clients: seconds a device code lives.
    pub device_code_lifetime: Option<i64>,
    pub id_token_signing_algorithm: Option<String>,
    /// Create only: the first secret's description.
    pub secret_description: Option<String>,
    /// Create only: the first secret's expiration (default one year from now).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub secret_expiration_date: Option<OffsetDateTime>,
    /// Create only: `false` for a first secret that never expires.
    pub secret_expires: Option<bool>,
}

/// The first secret's part of a create request.
#[derive(Debug, Default)]
pub struct FirstSecret {
    pub description: Option<String>,
    pub expiration_date: Option<OffsetDateTime>,
    pub expires: Option<bool>,
}

impl FirstSecret {
    pub fn is_given(&self) -> bool {
        self.description.is_some() || self.expiration_date.is_some() || self.expires.is_some()
    }
}

impl ClientBody {
    pub fn split(self) -> (ClientChanges, FirstSecret) {
        let secret = FirstSecret {
            description: self.secret_description,
            expiration_date: self.secret_expiration_date,
            expires: self.secret_expires,
        };
        let changes = ClientChanges {
            id: self.id,
            name: self.name,
            enabled: self.enabled,
            access_token_lifetime: self.access_token_lifetime,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            allowed_cors_origins: self.allowed_cors_origins,
            allow_offline_access: self.allow_offline_access,
            allow_access_tokens_via_browser: self.allow_access_tokens_via_browser,
            client_uri: self.client_uri,
            logo_uri: self.logo_uri,
            tags: self.tags,
            role_ids: self.role_ids,
            device_code_lifetime: self.device_code_lifetime,
            id_token_signing_algorithm: self.id_token_signing_algorithm,
        };
        (changes, secret)
    }
}

pub fn time_text(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// `{ Description, Expiration, Expires }` for creating or changing a secret.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SecretBody {
    /// Accepted so that a secret's GET body can be sent back; it must match the path.
    pub id: Option<u32>,
    pub description: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expiration: Option<OffsetDateTime>,
    pub expires: Option<bool>,
}

/// A user as created or changed. `Email` is the alias of `ContactEmail` (the product's name);
/// the product's `IdentityProviderId` may be sent, as null.
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UserBody {
    pub id: Option<Uuid>,
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub contact_email: Option<String>,
    pub email: Option<String>,
    pub contact_given_name: Option<String>,
    pub contact_surname: Option<String>,
    /// Any JSON value, so that a non-null one is refused by the registry's rule, not by a
    /// type error.
    pub identity_provider_id: Option<Value>,
    pub enabled: Option<bool>,
    pub role_ids: Option<Vec<Uuid>>,
    /// Write-only.
    pub password: Option<String>,
}

impl UserBody {
    pub fn changes(self, password_hash: Option<String>) -> UserChanges {
        UserChanges {
            id: self.id,
            user_name: self.user_name,
            given_name: self.given_name,
            surname: self.surname,
            email: self.contact_email,
            email_alias: self.email,
            contact_given_name: self.contact_given_name,
            contact_surname: self.contact_surname,
            identity_provider_id: self.identity_provider_id.map(|v| v.to_string()),
            enabled: self.enabled,
            role_ids: self.role_ids,
            password_hash,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

/// The password is never shown.
impl std::fmt::Debug for UserBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserBody").field("id", &self.id).field("user_name", &self.user_name).finish_non_exhaustive()
    }
}

/// The password is never shown.
impl std::fmt::Debug for PasswordBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordBody").finish_non_exhaustive()
    }
}

/// A role to create or change: ours, and the product's properties its client library sends.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RoleBody {
    pub id: Option<Uuid>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub role_scope: Option<i64>,
    pub role_type_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    pub built_in: Option<bool>,
}

impl From<RoleBody> for RoleChanges {
    fn from(b: RoleBody) -> Self {
        RoleChanges {
            id: b.id,
            name: b.name,
            description: b.description,
            role_scope: b.role_scope,
            role_type_id: b.role_type_id,
            tenant_id: b.tenant_id,
            community_id: b.community_id,
            built_in: b.built_in,
        }
    }
}
