//! The schemas of the fields that have rules, built from the registry's own constants (the
//! derive attributes take only literals), so the document states the limits the registry
//! enforces and moves with them. Rules no schema can say (an `https` scheme, a loopback
//! exception, a future expiration) are in each field's description and in docs/api.md.

use gatehouse_registry::audit::{AuditAction, ACTOR_MAX, DETAIL_MAX, SOURCE_MAX, TARGET_MAX};
use gatehouse_registry::client::{
    DEVICE_CODE_LIFETIME_DEFAULT, DEVICE_CODE_LIFETIME_MAX, DEVICE_CODE_LIFETIME_MIN, LIFETIME_DEFAULT, LIFETIME_MAX,
    LIFETIME_MIN, MAX_CORS_ORIGINS, MAX_TAGS, MAX_URIS, NAME_MAX, TAG_MAX,
};
use gatehouse_registry::secret::DESCRIPTION_MAX;
use gatehouse_registry::uri::URI_MAX;
use gatehouse_registry::user::{PASSWORD_MAX, PASSWORD_MIN, TEXT_MAX, USER_NAME_MAX};
use gatehouse_registry::{IdTokenSigningAlg, TENANT_SCOPE};
use serde_json::json;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};

/// A secret's value: 256 random bits in base64url, without padding.
const SECRET_LENGTH: usize = 43;

fn text(min: usize, max: usize) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).min_length((min > 0).then_some(min)).max_length(Some(max))
}

fn uri(max: usize) -> ObjectBuilder {
    text(1, max).format(Some(SchemaFormat::Custom("uri".into())))
}

fn integer(min: u32, max: u32) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(min))
        .maximum(Some(max))
}

fn list(item: ObjectBuilder, max: usize) -> ArrayBuilder {
    ArrayBuilder::new().items(item).max_items(Some(max)).unique_items(true)
}

pub fn client_name() -> ObjectBuilder {
    text(1, NAME_MAX).description(Some("Trimmed; required on create."))
}

pub fn access_token_lifetime() -> ObjectBuilder {
    integer(LIFETIME_MIN, LIFETIME_MAX)
        .description(Some("Seconds an access token lives."))
        .default(Some(json!(LIFETIME_DEFAULT)))
}

pub fn device_code_lifetime() -> ObjectBuilder {
    integer(DEVICE_CODE_LIFETIME_MIN, DEVICE_CODE_LIFETIME_MAX)
        .description(Some("Seconds a device code and its user code may be used."))
        .default(Some(json!(DEVICE_CODE_LIFETIME_DEFAULT)))
}

pub fn tags() -> ArrayBuilder {
    list(text(1, TAG_MAX), MAX_TAGS).description(Some("Each not blank."))
}

pub fn redirect_uris() -> ArrayBuilder {
    list(uri(URI_MAX), MAX_URIS).min_items(Some(1)).description(Some(
        "Absolute, https (http only on 127.0.0.0/8, [::1], localhost), no fragment, no *, no user info; \
         stored exactly as given. At least one.",
    ))
}

pub fn post_logout_redirect_uris() -> ArrayBuilder {
    list(uri(URI_MAX), MAX_URIS).description(Some("The rules of RedirectUris."))
}

pub fn cors_origins() -> ArrayBuilder {
    list(uri(URI_MAX), MAX_CORS_ORIGINS)
        .description(Some("Each exactly http(s)://host[:port]; stored normalised (lower case, default port dropped)."))
}

/// `ClientUri`, `LogoUri`: an absolute http(s) URI, or null (`""` clears it on input).
pub fn web_link() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(URI_MAX))
        .format(Some(SchemaFormat::Custom("uri".into())))
}

pub fn id_token_signing_algorithm() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(IdTokenSigningAlg::ALL.map(IdTokenSigningAlg::as_str)))
        .default(Some(json!(IdTokenSigningAlg::default().as_str())))
}

pub fn secret_value() -> ObjectBuilder {
    text(SECRET_LENGTH, SECRET_LENGTH)
        .pattern(Some("^[A-Za-z0-9_][A-Za-z0-9_-]*$"))
        .description(Some("The secret's value, shown this once; base64url, never beginning with '-'."))
}

pub fn secret_description() -> ObjectBuilder {
    text(0, DESCRIPTION_MAX)
}

/// An RFC 3339 date-time, or null for a secret that never expires.
pub fn optional_date_time() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
}

pub fn user_name() -> ObjectBuilder {
    text(1, USER_NAME_MAX)
        .description(Some("The sign-in name: trimmed, no control characters, unique in the tenant ignoring case."))
}

pub fn person_name() -> ObjectBuilder {
    text(0, TEXT_MAX)
}

/// An e-mail address, or empty.
pub fn email() -> ObjectBuilder {
    text(0, TEXT_MAX).pattern(Some("^$|@"))
}

pub fn password() -> ObjectBuilder {
    text(PASSWORD_MIN, PASSWORD_MAX)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .write_only(Some(true))
}

pub fn role_name() -> ObjectBuilder {
    text(1, gatehouse_registry::role::NAME_MAX)
}

pub fn role_scope() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some([TENANT_SCOPE]))
        .description(Some("1: the tenant (the only scope here)."))
}

/// The product's properties this server has no use for: always null.
pub fn always_null() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Null)
}

/// A list of role ids, as `ClientCredentialClients/{id}/Roles` takes and answers it.
pub fn role_ids() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        )
        .description(Some("Role ids of the tenant; Tenant Member is always among them."))
}

/// An audit event's action, by its wire name.
pub fn audit_action() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(AuditAction::ALL.map(AuditAction::as_str)))
}

pub fn audit_outcome() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["Succeeded", "Refused", "Failed"]))
}

/// Who acted: a user or a client by id, a name typed at a failed sign-in, or the server.
pub fn audit_actor_type() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["User", "Client", "Name", "System"]))
}

pub fn audit_actor() -> ObjectBuilder {
    text(0, ACTOR_MAX)
}

pub fn audit_target() -> ObjectBuilder {
    text(0, TARGET_MAX)
}

fn optional_text(max: usize) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])).max_length(Some(max))
}

/// The client's address, or null when it is not known.
pub fn audit_source() -> ObjectBuilder {
    optional_text(SOURCE_MAX)
}

pub fn audit_detail() -> ObjectBuilder {
    optional_text(DETAIL_MAX)
}

/// Null for what concerns every tenant (the signing keys).
pub fn optional_uuid() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
}

pub fn date_time() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
}
