//! The admin API's OpenAPI 3.1 document, served at `GET /api/openapi.json` (public, built once
//! per process). The models are the handlers' own types (`views`, `dto`) through their
//! `ToSchema` derives; the fields' rules come from the registry's constants (`rules`); the
//! operations are the table in `operations`, one line per route and method. A route added to
//! `admin::routes` gets its line there too: `tests/it/openapi.rs` fails until it has one.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use gatehouse_registry::ClientKind;
use serde_json::{json, Map, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::views::{
    AuditEventView, AuthorizationCodeClient, ClientCreated, ClientCredentialClient, DeviceCodeClient, ErrorBody,
    HybridClient, RoleView, Secret, SecretCreated, Tenant, UserView,
};
use crate::http_error::ApiError;

mod operations;
pub mod rules;

pub use operations::{operations, Operation};

/// The name of the bearer scheme in `components.securitySchemes`.
pub const BEARER: &str = "bearer";

/// The document as JSON. Fails only if a generated schema cannot be read back, which the unit
/// tests below would show first.
pub fn document() -> Result<Value, String> {
    let openapi = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Gatehouse admin API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Clients, secrets, roles and users of a tenant, in the dialect of AVEVA Data Hub \
                     (docs/api.md). Paths match in any case; every answer under /api has an \
                     Operation-Id header.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .schemas_from_iter(response_schemas())
                .security_scheme(
                    BEARER,
                    SecurityScheme::Http(
                        HttpBuilder::new()
                            .scheme(HttpAuthScheme::Bearer)
                            .bearer_format("JWT")
                            .description(Some(
                                "An access token of this server with the ocsapi scope: reads need \
                                 Tenant Member or Tenant Administrator, writes Tenant Administrator.",
                            ))
                            .build(),
                    ),
                )
                .build(),
        ))
        .build();
    let mut doc = serde_json::to_value(&openapi).map_err(|e| e.to_string())?;
    doc["openapi"] = json!("3.1.0");
    doc["security"] = json!([{ BEARER: [] }]);
    let schemas = doc["components"]["schemas"].as_object_mut().ok_or("no schemas")?;
    for (name, schema) in request_schemas(schemas)? {
        schemas.insert(name, schema);
    }
    doc["components"]["responses"] = operations::error_responses();
    doc["components"]["headers"] = operations::headers();
    doc["components"]["parameters"] = operations::parameters();
    doc["paths"] = operations::paths(&operations());
    Ok(doc)
}

fn named<T: ToSchema>() -> (String, RefOr<Schema>) {
    (T::name().into_owned(), T::schema())
}

/// The answers' models.
fn response_schemas() -> Vec<(String, RefOr<Schema>)> {
    vec![
        named::<AuthorizationCodeClient>(),
        named::<HybridClient>(),
        named::<ClientCredentialClient>(),
        named::<DeviceCodeClient>(),
        ("HybridClientCreated".into(), ClientCreated::<HybridClient>::schema()),
        ("ClientCredentialClientCreated".into(), ClientCreated::<ClientCredentialClient>::schema()),
        named::<Secret>(),
        named::<SecretCreated>(),
        named::<UserView>(),
        named::<RoleView>(),
        named::<Tenant>(),
        named::<AuditEventView>(),
        named::<ErrorBody<'_>>(),
        ("RoleIds".into(), rules::role_ids().into()),
    ]
}

/// A request body's model, from the model of what it changes: the same properties and rules,
/// each optional and nullable (a missing or null property is left unchanged), none other
/// (`deny_unknown_fields`), plus `extra`; `required` names those a create needs.
fn request_from(answer: &Value, extra: &[(&str, Value)], required: &[&str]) -> Result<Value, String> {
    let mut properties = answer["properties"].as_object().cloned().ok_or("a model without properties")?;
    for (name, schema) in extra {
        properties.insert((*name).to_owned(), schema.clone());
    }
    for (name, schema) in properties.iter_mut() {
        if !required.contains(&name.as_str()) {
            *schema = nullable(schema.take());
        }
    }
    Ok(json!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
        "required": required,
    }))
}

/// `schema`, also admitting null.
fn nullable(mut schema: Value) -> Value {
    match schema.get("type").cloned() {
        Some(Value::String(t)) if t != "null" => schema["type"] = json!([t, "null"]),
        Some(Value::Array(mut types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
            schema["type"] = Value::Array(types);
        }
        Some(_) => {}
        None => return json!({ "oneOf": [schema, { "type": "null" }] }),
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
    }
    schema
}

/// The request bodies' models, derived from the answers' (see [`request_from`]).
fn request_schemas(answers: &Map<String, Value>) -> Result<Vec<(String, Value)>, String> {
    let model = |name: &str| answers.get(name).ok_or(format!("no model {name}"));
    let to_value = |s: RefOr<Schema>| serde_json::to_value(s).map_err(|e| e.to_string());
    let first_secret = [
        ("SecretDescription", to_value(rules::secret_description().into())?),
        ("SecretExpirationDate", to_value(rules::optional_date_time().into())?),
        ("SecretExpires", json!({ "type": "boolean", "default": true })),
    ];
    let password = ("Password", to_value(rules::password().into())?);
    let mut out = Vec::new();
    for kind in ClientKind::ALL {
        let (_, name) = operations::collection(kind);
        let answer = model(name)?;
        // What `Client::create` requires, and the first secret of the kinds that have secrets.
        let required: &[&str] = if kind.is_interactive() { &["Name", "RedirectUris"] } else { &["Name"] };
        let secrets: &[_] = if kind.has_secrets() { &first_secret } else { &[] };
        out.push((format!("{name}Create"), request_from(answer, secrets, required)?));
        out.push((format!("{name}Update"), request_from(answer, &[], &[])?));
    }
    out.push(("SecretCreate".into(), request_from(model("Secret")?, &[], &[])?));
    out.push(("SecretUpdate".into(), request_from(model("Secret")?, &[], &[])?));
    out.push(("RoleCreate".into(), request_from(model("Role")?, &[], &["Name"])?));
    out.push(("RoleUpdate".into(), request_from(model("Role")?, &[], &[])?));
    out.push(("UserCreate".into(), request_from(model("User")?, std::slice::from_ref(&password), &[])?));
    out.push(("UserUpdate".into(), request_from(model("User")?, std::slice::from_ref(&password), &[])?));
    let (name, schema) = password;
    out.push((
        "UserPassword".into(),
        json!({ "type": "object", "additionalProperties": false, "properties": { name: schema }, "required": [name] }),
    ));
    Ok(out)
}

static DOCUMENT: OnceLock<Result<web::Bytes, String>> = OnceLock::new();

/// `GET /api/openapi.json`: no token needed; the same bytes for the life of the process.
pub async fn serve() -> Result<HttpResponse, ApiError> {
    let body = DOCUMENT.get_or_init(|| {
        document().and_then(|doc| serde_json::to_vec(&doc).map(web::Bytes::from).map_err(|e| e.to_string()))
    });
    let body = body.as_ref().map_err(|e| ApiError::internal(format!("the OpenAPI document: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(mime_json())
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body.clone()))
}

fn mime_json() -> header::ContentType {
    header::ContentType::json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_builds_and_names_every_schema_it_refers_to() {
        let doc = document().expect("document");
        if let Ok(file) = std::env::var("GATEHOUSE_OPENAPI_DUMP") {
            std::fs::write(file, serde_json::to_vec_pretty(&doc).expect("json")).expect("dump");
        }
        let text = doc.to_string();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("\"$ref\":\"#/components/") {
            rest = &rest[at + 8..];
            let end = rest[1..].find('"').expect("end of ref") + 1;
            let pointer = &rest[1..end];
            assert!(doc.pointer(pointer).is_some(), "{pointer} is referred to but missing");
        }
    }

    #[test]
    fn the_limits_are_the_registrys() {
        let doc = document().expect("document");
        let lifetime = &doc["components"]["schemas"]["HybridClient"]["properties"]["AccessTokenLifetime"];
        assert_eq!(lifetime["minimum"], json!(gatehouse_registry::client::LIFETIME_MIN));
        assert_eq!(lifetime["maximum"], json!(gatehouse_registry::client::LIFETIME_MAX));
        let create = &doc["components"]["schemas"]["HybridClientCreate"];
        assert_eq!(create["required"], json!(["Name", "RedirectUris"]));
        assert_eq!(create["additionalProperties"], json!(false));
        assert!(create["properties"]["SecretExpirationDate"].is_object());
        let update = &doc["components"]["schemas"]["HybridClientUpdate"];
        assert!(update["properties"]["SecretExpirationDate"].is_null(), "secrets only on create");
        assert_eq!(update["properties"]["Name"]["type"], json!(["string", "null"]));
    }

    #[test]
    fn every_property_of_a_request_model_is_one_its_body_reads() {
        use crate::admin::dto::{ClientBody, PasswordBody, RoleBody, SecretBody, UserBody};
        use crate::admin::parse_object;
        let doc = document().expect("document");
        let mut checked = 0;
        for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
            let reads: fn(&[u8]) -> bool = match name.as_str() {
                n if n.ends_with("ClientCreate") || n.ends_with("ClientUpdate") => {
                    |b| parse_object::<ClientBody>(b).is_ok()
                }
                "SecretCreate" | "SecretUpdate" => |b| parse_object::<SecretBody>(b).is_ok(),
                "RoleCreate" | "RoleUpdate" => |b| parse_object::<RoleBody>(b).is_ok(),
                "UserCreate" | "UserUpdate" => |b| parse_object::<UserBody>(b).is_ok(),
                "UserPassword" => |b| parse_object::<PasswordBody>(b).is_ok(),
                _ => continue,
            };
            for property in schema["properties"].as_object().expect("properties").keys() {
                // null leaves a property unchanged; the password body's one property is a string.
                let value = if name == "UserPassword" { json!("password") } else { Value::Null };
                let body = json!({ property: value }).to_string();
                assert!(reads(body.as_bytes()), "{name}.{property} is not read by its body");
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} properties checked");
    }
}
