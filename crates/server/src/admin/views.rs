//! What the admin API answers, as typed models: each is both what a handler serialises and,
//! through its `ToSchema` derive, its schema in the OpenAPI document (`admin::openapi`), so
//! the two cannot drift apart. The rules on the fields come from the registry's constants
//! (`openapi::rules`). Request bodies are in `dto`.

use gatehouse_registry::audit::AuditEvent;
use gatehouse_registry::{Client, ClientKind, ClientSecret, Role, User, TENANT_SCOPE};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dto::time_text;
use super::openapi::rules;

/// An AuthorizationCode client: a browser app, public, with PKCE.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AuthorizationCodeClient {
    pub id: Uuid,
    #[schema(schema_with = rules::client_name)]
    pub name: String,
    pub enabled: bool,
    #[schema(schema_with = rules::access_token_lifetime)]
    pub access_token_lifetime: u32,
    #[schema(schema_with = rules::tags)]
    pub tags: Vec<String>,
    #[schema(schema_with = rules::redirect_uris)]
    pub redirect_uris: Vec<String>,
    #[schema(schema_with = rules::post_logout_redirect_uris)]
    pub post_logout_redirect_uris: Vec<String>,
    #[schema(schema_with = rules::cors_origins)]
    pub allowed_cors_origins: Vec<String>,
    pub allow_offline_access: bool,
    #[schema(schema_with = rules::web_link, required = true)]
    pub client_uri: Option<String>,
    #[schema(schema_with = rules::web_link, required = true)]
    pub logo_uri: Option<String>,
    #[schema(schema_with = rules::id_token_signing_algorithm)]
    pub id_token_signing_algorithm: &'static str,
}

/// A Hybrid client: a server-side or native app, confidential.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct HybridClient {
    pub id: Uuid,
    #[schema(schema_with = rules::client_name)]
    pub name: String,
    pub enabled: bool,
    #[schema(schema_with = rules::access_token_lifetime)]
    pub access_token_lifetime: u32,
    #[schema(schema_with = rules::tags)]
    pub tags: Vec<String>,
    #[schema(schema_with = rules::redirect_uris)]
    pub redirect_uris: Vec<String>,
    #[schema(schema_with = rules::post_logout_redirect_uris)]
    pub post_logout_redirect_uris: Vec<String>,
    pub allow_offline_access: bool,
    pub allow_access_tokens_via_browser: bool,
    #[schema(schema_with = rules::web_link, required = true)]
    pub client_uri: Option<String>,
    #[schema(schema_with = rules::web_link, required = true)]
    pub logo_uri: Option<String>,
    #[schema(schema_with = rules::id_token_signing_algorithm)]
    pub id_token_signing_algorithm: &'static str,
}

/// A ClientCredential client: machine to machine, confidential, with roles.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ClientCredentialClient {
    pub id: Uuid,
    #[schema(schema_with = rules::client_name)]
    pub name: String,
    pub enabled: bool,
    #[schema(schema_with = rules::access_token_lifetime)]
    pub access_token_lifetime: u32,
    #[schema(schema_with = rules::tags)]
    pub tags: Vec<String>,
    /// Tenant Member is always among them.
    pub role_ids: Vec<Uuid>,
}

/// A DeviceCode client: a browserless or input-constrained device, public (RFC 8628).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeviceCodeClient {
    pub id: Uuid,
    #[schema(schema_with = rules::client_name)]
    pub name: String,
    pub enabled: bool,
    #[schema(schema_with = rules::access_token_lifetime)]
    pub access_token_lifetime: u32,
    #[schema(schema_with = rules::tags)]
    pub tags: Vec<String>,
    #[schema(schema_with = rules::device_code_lifetime)]
    pub device_code_lifetime: u32,
    pub allow_offline_access: bool,
    #[schema(schema_with = rules::web_link, required = true)]
    pub client_uri: Option<String>,
    #[schema(schema_with = rules::web_link, required = true)]
    pub logo_uri: Option<String>,
    #[schema(schema_with = rules::id_token_signing_algorithm)]
    pub id_token_signing_algorithm: &'static str,
}

/// A client as the API shows it: the properties of its kind, no others.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ClientView {
    AuthorizationCode(AuthorizationCodeClient),
    Hybrid(HybridClient),
    ClientCredential(ClientCredentialClient),
    DeviceCode(DeviceCodeClient),
}

impl ClientView {
    pub fn of(c: &Client) -> Self {
        let (id, name, enabled, access_token_lifetime, tags) =
            (c.id, c.name.clone(), c.enabled, c.access_token_lifetime, c.tags.clone());
        let id_token_signing_algorithm = c.id_token_signing_alg.as_str();
        match c.kind {
            ClientKind::AuthorizationCode => Self::AuthorizationCode(AuthorizationCodeClient {
                id,
                name,
                enabled,
                access_token_lifetime,
                tags,
                redirect_uris: c.redirect_uris.clone(),
                post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
                allowed_cors_origins: c.allowed_cors_origins.clone(),
                allow_offline_access: c.allow_offline_access,
                client_uri: c.client_uri.clone(),
                logo_uri: c.logo_uri.clone(),
                id_token_signing_algorithm,
            }),
            ClientKind::Hybrid => Self::Hybrid(HybridClient {
                id,
                name,
                enabled,
                access_token_lifetime,
                tags,
                redirect_uris: c.redirect_uris.clone(),
                post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
                allow_offline_access: c.allow_offline_access,
                allow_access_tokens_via_browser: c.allow_access_tokens_via_browser,
                client_uri: c.client_uri.clone(),
                logo_uri: c.logo_uri.clone(),
                id_token_signing_algorithm,
            }),
            ClientKind::ClientCredential => Self::ClientCredential(ClientCredentialClient {
                id,
                name,
                enabled,
                access_token_lifetime,
                tags,
                role_ids: c.role_ids.clone(),
            }),
            ClientKind::DeviceCode => Self::DeviceCode(DeviceCodeClient {
                id,
                name,
                enabled,
                access_token_lifetime,
                tags,
                device_code_lifetime: c.device_code_lifetime,
                allow_offline_access: c.allow_offline_access,
                client_uri: c.client_uri.clone(),
                logo_uri: c.logo_uri.clone(),
                id_token_signing_algorithm,
            }),
        }
    }
}

/// The answer to the create of a client with secrets (Hybrid, ClientCredential): its
/// first secret, whose value is shown this once, and the client.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ClientCreated<C> {
    #[schema(schema_with = rules::secret_value)]
    pub secret: String,
    #[schema(minimum = 1)]
    pub id: u32,
    #[schema(schema_with = rules::secret_description)]
    pub description: String,
    /// Null for a secret that never expires.
    #[schema(schema_with = rules::optional_date_time, required = true)]
    pub expiration_date: Option<String>,
    pub client: C,
}

/// A secret as listed: never its value.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Secret {
    #[schema(minimum = 1)]
    pub id: u32,
    #[schema(schema_with = rules::secret_description)]
    pub description: String,
    /// Null for a secret that never expires.
    #[schema(schema_with = rules::optional_date_time, required = true)]
    pub expiration: Option<String>,
    pub expires: bool,
}

impl Secret {
    pub fn of(s: &ClientSecret) -> Self {
        Self {
            id: s.id,
            description: s.description.clone(),
            expiration: s.expiration.map(time_text),
            expires: s.expiration.is_some(),
        }
    }
}

/// A secret just created: the only answer that shows its value.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SecretCreated {
    #[schema(minimum = 1)]
    pub id: u32,
    #[schema(schema_with = rules::secret_description)]
    pub description: String,
    #[schema(schema_with = rules::optional_date_time, required = true)]
    pub expiration: Option<String>,
    pub expires: bool,
    #[schema(schema_with = rules::secret_value)]
    pub secret: String,
}

impl SecretCreated {
    pub fn new(s: &ClientSecret, value: String) -> Self {
        let Secret { id, description, expiration, expires } = Secret::of(s);
        Self { id, description, expiration, expires, secret: value }
    }
}

/// A user of the embedded directory. `Email` is `ContactEmail` under the product's other
/// name; `IdentityProviderId` is always null (the local directory).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(as = User)]
pub struct UserView {
    pub id: Uuid,
    #[schema(schema_with = rules::user_name)]
    pub user_name: String,
    #[schema(schema_with = rules::person_name)]
    pub given_name: String,
    #[schema(schema_with = rules::person_name)]
    pub surname: String,
    #[schema(schema_with = rules::email)]
    pub contact_email: String,
    #[schema(schema_with = rules::person_name)]
    pub contact_given_name: String,
    #[schema(schema_with = rules::person_name)]
    pub contact_surname: String,
    #[schema(schema_with = rules::email)]
    pub email: String,
    #[schema(schema_with = rules::always_null, required = true)]
    pub identity_provider_id: Option<()>,
    pub enabled: bool,
    /// Tenant Member is always among them.
    pub role_ids: Vec<Uuid>,
}

impl UserView {
    pub fn of(u: &User) -> Self {
        Self {
            id: u.id,
            user_name: u.user_name.clone(),
            given_name: u.given_name.clone(),
            surname: u.surname.clone(),
            contact_email: u.email.clone(),
            contact_given_name: u.contact_given_name.clone(),
            contact_surname: u.contact_surname.clone(),
            email: u.email.clone(),
            identity_provider_id: None,
            enabled: u.enabled,
            role_ids: u.role_ids.clone(),
        }
    }
}

/// A role, in the product's shape (plus our `BuiltIn`). `RoleTypeId` is the product's type of
/// a built-in role, null for a custom one; `RoleScope` is always 1 (tenant).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(as = Role)]
pub struct RoleView {
    pub id: Uuid,
    #[schema(schema_with = rules::role_name)]
    pub name: String,
    pub description: String,
    #[schema(required = true)]
    pub role_type_id: Option<Uuid>,
    #[schema(schema_with = rules::role_scope)]
    pub role_scope: i64,
    pub tenant_id: Uuid,
    #[schema(schema_with = rules::always_null, required = true)]
    pub community_id: Option<Uuid>,
    pub built_in: bool,
}

impl RoleView {
    pub fn new(tenant_id: Uuid, r: &Role) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            description: r.description.clone(),
            role_type_id: r.type_id(),
            role_scope: TENANT_SCOPE,
            tenant_id,
            community_id: None,
            built_in: r.built_in,
        }
    }
}

/// An event of the audit trail (`AuditEvents`). Nothing in it is secret: ids, names,
/// descriptions and reasons, never a secret's or a password's value.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(as = AuditEvent)]
pub struct AuditEventView {
    pub id: Uuid,
    #[schema(schema_with = rules::optional_uuid, required = true)]
    pub tenant_id: Option<Uuid>,
    #[schema(schema_with = rules::date_time)]
    pub time: String,
    #[schema(schema_with = rules::audit_actor_type)]
    pub actor_type: &'static str,
    #[schema(schema_with = rules::audit_actor)]
    pub actor: String,
    #[schema(schema_with = rules::audit_action)]
    pub action: &'static str,
    #[schema(schema_with = rules::audit_target)]
    pub target: String,
    #[schema(schema_with = rules::audit_outcome)]
    pub outcome: &'static str,
    #[schema(schema_with = rules::audit_source, required = true)]
    pub source: Option<String>,
    pub operation_id: Uuid,
    #[schema(schema_with = rules::audit_detail, required = true)]
    pub detail: Option<String>,
}

impl AuditEventView {
    pub fn of(e: &AuditEvent) -> Self {
        Self {
            id: e.id,
            tenant_id: e.tenant_id,
            time: time_text(e.time),
            actor_type: e.actor.kind(),
            actor: e.actor.value(),
            action: e.action.as_str(),
            target: e.target.clone(),
            outcome: e.outcome.as_str(),
            source: e.source.clone(),
            operation_id: e.operation_id,
            detail: e.detail.clone(),
        }
    }
}

/// The tenant itself.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
}

/// Every admin API error: `OperationId` is the answer's `Operation-Id` header.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    pub operation_id: Uuid,
    pub error: &'a str,
    pub reason: &'a str,
    pub resolution: &'a str,
}
