//! Every operation of the admin API, one line each: what `admin::routes` registers, with the
//! concrete paths of the client collections (one `{collection}` route in actix-web, four
//! paths with their own models here). A GET documents its HEAD as well. To document a new
//! route, add its line to [`operations`] (and derive `ToSchema` on its models, listed in
//! `super::response_schemas`).

use gatehouse_registry::audit::{AuditAction, ACTOR_MAX};
use gatehouse_registry::ClientKind;
use serde_json::{json, Map, Value};

use super::super::dialect::{
    API, AUDIT_EVENTS, AUTHORIZATION_CODE_CLIENTS, CLIENT_CREDENTIAL_CLIENTS, DEVICE_CODE_CLIENTS, HYBRID_CLIENTS,
    OPENAPI, PASSWORD, ROLES, SECRETS, TENANTS, USERS, V1,
};
use super::super::COUNT_MAX;

/// What a successful answer carries.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 (or 201) with a body of this schema.
    Json(u16, Value),
    /// 200 with a JSON array of this schema and `Total-Count`.
    List(Value),
    /// 204.
    NoContent,
}

/// One route and method.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: &'static str,
    /// The path as the document names it, `{parameters}` in camelCase.
    pub path: String,
    pub id: String,
    pub summary: String,
    pub tag: String,
    /// Query parameters (names in `components.parameters`).
    pub query: &'static [&'static str],
    /// The request body's schema name.
    pub body: Option<String>,
    pub answer: Answer,
    /// Error statuses beyond the ones every authenticated operation has (400, 401, 403, 404, 500).
    pub errors: &'static [u16],
    /// Needs no token.
    pub public: bool,
}

fn model(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn op(method: &'static str, path: &str, id: &str, summary: &str, tag: &str, answer: Answer) -> Operation {
    Operation {
        method,
        path: path.to_owned(),
        id: id.to_owned(),
        summary: summary.to_owned(),
        tag: tag.to_owned(),
        query: &[],
        body: None,
        answer,
        errors: &[],
        public: false,
    }
}

impl Operation {
    fn body(mut self, schema: impl Into<String>) -> Self {
        self.body = Some(schema.into());
        self
    }
    fn query(mut self, names: &'static [&'static str]) -> Self {
        self.query = names;
        self
    }
    fn errors(mut self, statuses: &'static [u16]) -> Self {
        self.errors = statuses;
        self
    }
}

/// The collection of a kind of client, and the name of its model.
pub fn collection(kind: ClientKind) -> (&'static str, &'static str) {
    match kind {
        ClientKind::AuthorizationCode => (AUTHORIZATION_CODE_CLIENTS, "AuthorizationCodeClient"),
        ClientKind::Hybrid => (HYBRID_CLIENTS, "HybridClient"),
        ClientKind::ClientCredential => (CLIENT_CREDENTIAL_CLIENTS, "ClientCredentialClient"),
        ClientKind::DeviceCode => (DEVICE_CODE_CLIENTS, "DeviceCodeClient"),
    }
}

const FILTERS: &[&str] = &["skip", "count", "id", "tag", "name"];
const PAGE: &[&str] = &["skip", "count"];
const AUDIT_FILTERS: &[&str] = &["skip", "count", "action", "actor", "from", "to"];

/// The admin API, route by route.
pub fn operations() -> Vec<Operation> {
    use Answer::{Json, List, NoContent};
    let tenant = format!("/{API}/{V1}/{TENANTS}/{{tenantId}}");
    let mut ops = vec![
        Operation {
            public: true,
            ..op(
                "get",
                &format!("/{API}/{OPENAPI}"),
                "getOpenApi",
                "This document",
                "Document",
                Json(200, json!({ "type": "object" })),
            )
        },
        op("get", &tenant, "getTenant", "The tenant", "Tenant", Json(200, model("Tenant"))),
    ];
    for kind in ClientKind::ALL {
        let (name, model_name) = collection(kind);
        let list = format!("{tenant}/{name}");
        let item = format!("{list}/{{clientId}}");
        let one = model(model_name);
        let created = if kind.has_secrets() { model(&format!("{model_name}Created")) } else { one.clone() };
        ops.extend([
            op("get", &list, &format!("list{name}"), &format!("List {name}"), name, List(one.clone())).query(FILTERS),
            op(
                "post",
                &list,
                &format!("create{model_name}"),
                "Create a client (with its first secret, if it has secrets)",
                name,
                Json(201, created),
            )
            .body(format!("{model_name}Create"))
            .errors(&[409]),
            op("get", &item, &format!("get{model_name}"), "A client", name, Json(200, one.clone())),
            op(
                "put",
                &item,
                &format!("update{model_name}"),
                "Partial update: a missing or null property is left unchanged",
                name,
                Json(200, one),
            )
            .body(format!("{model_name}Update")),
            op("delete", &item, &format!("delete{model_name}"), "Delete a client", name, NoContent),
        ]);
        if kind == ClientKind::ClientCredential {
            let roles = format!("{item}/{ROLES}");
            ops.extend([
                op(
                    "get",
                    &roles,
                    &format!("get{model_name}Roles"),
                    "The client's role ids",
                    name,
                    Json(200, model("RoleIds")),
                ),
                op(
                    "put",
                    &roles,
                    &format!("set{model_name}Roles"),
                    "Replace the client's role ids (Tenant Member stays)",
                    name,
                    Json(200, model("RoleIds")),
                )
                .body("RoleIds"),
            ]);
        }
        if kind.has_secrets() {
            let secrets = format!("{item}/{SECRETS}");
            let secret = format!("{secrets}/{{secretId}}");
            ops.extend([
                op(
                    "get",
                    &secrets,
                    &format!("list{model_name}Secrets"),
                    "The client's secrets, without values",
                    name,
                    List(model("Secret")),
                )
                .query(PAGE),
                op(
                    "post",
                    &secrets,
                    &format!("create{model_name}Secret"),
                    "Add a secret; its value is shown this once",
                    name,
                    Json(201, model("SecretCreated")),
                )
                .body("SecretCreate"),
                op(
                    "get",
                    &secret,
                    &format!("get{model_name}Secret"),
                    "A secret, without its value",
                    name,
                    Json(200, model("Secret")),
                ),
                op(
                    "put",
                    &secret,
                    &format!("update{model_name}Secret"),
                    "Change a secret's description or expiration",
                    name,
                    Json(200, model("Secret")),
                )
                .body("SecretUpdate"),
                op("delete", &secret, &format!("delete{model_name}Secret"), "Delete a secret", name, NoContent),
            ]);
        }
    }
    let roles = format!("{tenant}/{ROLES}");
    let role = format!("{roles}/{{roleId}}");
    let users = format!("{tenant}/{USERS}");
    let user = format!("{users}/{{userId}}");
    ops.extend([
        op("get", &roles, "listRoles", "The built-in and custom roles", ROLES, List(model("Role"))).query(PAGE),
        op("post", &roles, "createRole", "Create a custom role", ROLES, Json(201, model("Role")))
            .body("RoleCreate")
            .errors(&[409]),
        op("get", &role, "getRole", "A role", ROLES, Json(200, model("Role"))),
        op("put", &role, "updateRole", "Partial update of a custom role", ROLES, Json(200, model("Role")))
            .body("RoleUpdate"),
        op(
            "delete",
            &role,
            "deleteRole",
            "Delete a custom role (and take it from every client and user)",
            ROLES,
            NoContent,
        ),
        op("get", &users, "listUsers", "The tenant's users", USERS, List(model("User"))).query(FILTERS),
        op("post", &users, "createUser", "Create a user", USERS, Json(201, model("User")))
            .body("UserCreate")
            .errors(&[409, 503]),
        op("get", &user, "getUser", "A user", USERS, Json(200, model("User"))),
        op("put", &user, "updateUser", "Partial update of a user", USERS, Json(200, model("User")))
            .body("UserUpdate")
            .errors(&[409, 503]),
        op("delete", &user, "deleteUser", "Delete a user and end its sessions", USERS, NoContent).errors(&[409]),
        op(
            "put",
            &format!("{user}/{PASSWORD}"),
            "setUserPassword",
            "Set a user's password and end its sessions",
            USERS,
            NoContent,
        )
        .body("UserPassword")
        .errors(&[503]),
        op(
            "get",
            &format!("{tenant}/{AUDIT_EVENTS}"),
            "listAuditEvents",
            "The audit trail, newest first (Tenant Administrator)",
            AUDIT_EVENTS,
            List(model("AuditEvent")),
        )
        .query(AUDIT_FILTERS),
    ]);
    ops
}

fn header_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/headers/{name}") })
}

/// `components.headers`.
pub fn headers() -> Value {
    json!({
        "Operation-Id": {
            "description": "A new GUID per request; an error body's OperationId is the same.",
            "required": true,
            "schema": { "type": "string", "format": "uuid" },
        },
        "Total-Count": {
            "description": "The number of items matching the filters, before skip and count.",
            "required": true,
            "schema": { "type": "integer", "minimum": 0 },
        },
        "WWW-Authenticate": {
            "description": "`Bearer`, or `Bearer error=\"invalid_token\"` when a token was sent (RFC 6750, section 3).",
            "required": true,
            "schema": { "type": "string" },
        },
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "required": true,
            "schema": { "type": "string", "pattern": "^[0-9]+$" },
        },
    })
}

/// `components.parameters`.
pub fn parameters() -> Value {
    let path = |name: &str, schema: Value, description: &str| json!({ "name": name, "in": "path", "required": true, "schema": schema, "description": description });
    let uuid = json!({ "type": "string", "format": "uuid" });
    json!({
        "tenantId": path("tenantId", uuid.clone(), "The tenant."),
        "clientId": path("clientId", uuid.clone(), "The client."),
        "roleId": path("roleId", uuid.clone(), "The role."),
        "userId": path("userId", uuid, "The user."),
        "secretId": path("secretId", json!({ "type": "integer", "minimum": 1, "maximum": u32::MAX }), "The secret: its number within the client."),
        "skip": { "name": "skip", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": u64::MAX, "default": 0 }, "description": "Items to leave out first." },
        "count": { "name": "count", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": COUNT_MAX, "default": 100 }, "description": "Items to answer at most." },
        "id": { "name": "id", "in": "query", "style": "form", "explode": true, "schema": { "type": "array", "items": { "type": "string", "format": "uuid" } }, "description": "Keep only these ids (repeatable)." },
        "tag": { "name": "tag", "in": "query", "style": "form", "explode": true, "schema": { "type": "array", "items": { "type": "string" } }, "description": "Keep only items with one of these tags (repeatable; clients)." },
        "name": { "name": "name", "in": "query", "schema": { "type": "string" }, "description": "Keep only clients whose name contains this, ignoring ASCII case." },
        "action": { "name": "action", "in": "query", "schema": { "type": "string", "enum": AuditAction::ALL.map(AuditAction::as_str) }, "description": "Keep only events of this action (audit events)." },
        "actor": { "name": "actor", "in": "query", "schema": { "type": "string", "maxLength": ACTOR_MAX }, "description": "Keep only events of this actor: a user's or a client's id, or a name (audit events)." },
        "from": { "name": "from", "in": "query", "schema": { "type": "string", "format": "date-time" }, "description": "Keep only events at or after this RFC 3339 time (audit events)." },
        "to": { "name": "to", "in": "query", "schema": { "type": "string", "format": "date-time" }, "description": "Keep only events before this RFC 3339 time (audit events)." },
    })
}

/// What each error status means; the body is always `Error`.
const ERRORS: [(u16, &str); 7] = [
    (400, "A broken rule, bad JSON, an unknown property, a bad query value, an unreadable Authorization header."),
    (401, "No bearer token, or an invalid or expired one."),
    (403, "A token of another tenant, or without the role."),
    (404, "An unknown tenant or item, or a path that names nothing."),
    (409, "A duplicate id or user name, or the change would leave the tenant without an enabled Tenant Administrator."),
    (500, "A store failure; nothing was changed."),
    (503, "Too many password operations at once; nothing was changed."),
];

/// `components.responses`: each error status, with and without its body (HEAD).
pub fn error_responses() -> Value {
    let mut out = Map::new();
    for (status, description) in ERRORS {
        for head in [false, true] {
            out.insert(error_name(status, head), error_response(status, description, head));
        }
    }
    Value::Object(out)
}

fn error_name(status: u16, head: bool) -> String {
    format!("Error{status}{}", if head { "Head" } else { "" })
}

fn error_response(status: u16, description: &str, head: bool) -> Value {
    let mut headers = json!({ "Operation-Id": header_ref("Operation-Id") });
    match status {
        401 => headers["WWW-Authenticate"] = header_ref("WWW-Authenticate"),
        503 => headers["Retry-After"] = header_ref("Retry-After"),
        _ => {}
    }
    let mut response = json!({ "description": description, "headers": headers });
    if !head {
        response["content"] = json!({ "application/json": { "schema": model("Error") } });
    }
    response
}

/// `paths`: each operation, and for each GET its HEAD.
pub fn paths(ops: &[Operation]) -> Value {
    let mut paths = Map::new();
    for o in ops {
        let item = paths.entry(o.path.clone()).or_insert_with(|| json!({}));
        item[o.method] = operation(o, false);
        if o.method == "get" {
            item["head"] = operation(o, true);
        }
        if let Some(links) = links(o, ops) {
            item[o.method]["responses"]["201"]["links"] = links;
        }
    }
    Value::Object(paths)
}

/// The links of a create (201) to the operations on what it created: the item's path and
/// those below it that need no other new parameter, so that a client of the document (and
/// schemathesis's stateful phase) can follow a create with a get, an update, a delete.
fn links(create: &Operation, ops: &[Operation]) -> Option<Value> {
    let Answer::Json(201, schema) = &create.answer else { return None };
    // A client with secrets answers `{ Secret, ..., Client }`; everything else, itself.
    let id = if schema["$ref"].as_str().is_some_and(|r| r.ends_with("ClientCreated")) { "/Client/Id" } else { "/Id" };
    let mut links = Map::new();
    for target in ops {
        let Some(rest) = target.path.strip_prefix(&format!("{}/{{", create.path)) else { continue };
        let Some((name, below)) = rest.split_once('}') else { continue };
        if below.contains('{') {
            continue;
        }
        let mut parameters = Map::new();
        for known in create.path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            parameters.insert(known.to_owned(), json!(format!("$request.path.{known}")));
        }
        parameters.insert(name.to_owned(), json!(format!("$response.body#{id}")));
        let mut ids = vec![target.id.clone()];
        if target.method == "get" {
            ids.push(format!("head{}", capitalised(&target.id)));
        }
        for operation_id in ids {
            links.insert(operation_id.clone(), json!({ "operationId": operation_id, "parameters": parameters }));
        }
    }
    (!links.is_empty()).then_some(Value::Object(links))
}

fn operation(o: &Operation, head: bool) -> Value {
    let mut parameters: Vec<Value> = o
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "$ref": format!("#/components/parameters/{name}") }))
        .collect();
    parameters.extend(o.query.iter().map(|name| json!({ "$ref": format!("#/components/parameters/{name}") })));
    let mut headers = json!({ "Operation-Id": header_ref("Operation-Id") });
    let (status, schema) = match &o.answer {
        Answer::Json(status, schema) => (*status, Some(schema.clone())),
        Answer::List(item) => {
            headers["Total-Count"] = header_ref("Total-Count");
            (200, Some(json!({ "type": "array", "items": item })))
        }
        Answer::NoContent => (204, None),
    };
    let mut success = json!({ "description": o.summary, "headers": headers });
    if let (Some(schema), false) = (schema, head) {
        success["content"] = json!({ "application/json": { "schema": schema } });
    }
    let mut responses = Map::new();
    responses.insert(status.to_string(), success);
    let common: &[u16] = if o.public { &[] } else { &[400, 401, 403, 404, 500] };
    let mut errors: Vec<u16> = common.iter().chain(o.errors).copied().collect();
    errors.sort_unstable();
    for status in errors {
        responses.insert(
            status.to_string(),
            json!({ "$ref": format!("#/components/responses/{}", error_name(status, head)) }),
        );
    }
    let (id, summary) = if head {
        (format!("head{}", capitalised(&o.id)), format!("{} (status and headers only)", o.summary))
    } else {
        (o.id.clone(), o.summary.clone())
    };
    let mut out = json!({
        "operationId": id,
        "summary": summary,
        "tags": [o.tag],
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = &o.body {
        out["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": model(body) } } });
    }
    if o.public {
        out["security"] = json!([]);
    }
    out
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}
