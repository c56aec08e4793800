//! The four kinds of client and the rules that bind their fields (admin-api.md, Models
//! and Rules). Validation is pure: every store calls it inside its own transaction.

use std::collections::HashSet;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Invalid, RegistryError, Result};
use crate::role::TENANT_MEMBER;
use crate::uri;

pub const LIFETIME_MIN: u32 = 60;
pub const LIFETIME_MAX: u32 = 3600;
pub const LIFETIME_DEFAULT: u32 = 3600;
pub const MAX_URIS: usize = 10;
pub const MAX_CORS_ORIGINS: usize = 10;
pub const MAX_TAGS: usize = 50;
pub const TAG_MAX: usize = 128;
pub const NAME_MAX: usize = 256;
pub const MAX_CLIENTS_PER_TENANT: u64 = 50_000;
/// `DeviceCodeLifetime` (seconds): how long a device code and its user code may be used.
/// The product documents no default or bounds; ours are in docs/decisions.md (46).
pub const DEVICE_CODE_LIFETIME_MIN: u32 = 60;
pub const DEVICE_CODE_LIFETIME_MAX: u32 = 1800;
pub const DEVICE_CODE_LIFETIME_DEFAULT: u32 = 300;

/// The kinds of client a Tenant Administrator registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKind {
    /// Browser apps: public, PKCE.
    AuthorizationCode,
    /// Server-side and native apps: confidential, optional refresh tokens.
    Hybrid,
    /// Machine to machine: secrets and roles.
    ClientCredential,
    /// Browserless or input-constrained devices: public, the device grant (RFC 8628).
    DeviceCode,
}

impl ClientKind {
    pub const ALL: [ClientKind; 4] = [Self::AuthorizationCode, Self::Hybrid, Self::ClientCredential, Self::DeviceCode];

    /// The name used in storage and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "AuthorizationCode",
            Self::Hybrid => "Hybrid",
            Self::ClientCredential => "ClientCredential",
            Self::DeviceCode => "DeviceCode",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Confidential clients authenticate with secrets.
    pub fn has_secrets(self) -> bool {
        matches!(self, Self::Hybrid | Self::ClientCredential)
    }

    /// Clients that send users through the authorize endpoint.
    pub fn is_interactive(self) -> bool {
        matches!(self, Self::AuthorizationCode | Self::Hybrid)
    }

    /// Clients whose tokens are a user's: through the authorize endpoint or the device grant.
    pub fn acts_for_users(self) -> bool {
        self != Self::ClientCredential
    }
}

/// How a client's ID tokens are signed: `IdTokenSigningAlgorithm` on the wire. RS256 is the
/// default, as OpenID Connect Core §15.1 requires of every provider; ES256 costs a small
/// fraction of an RSA signature (decision 44). JOSE algorithm names are case-sensitive
/// (RFC 7515 §4.1.1), so only these exact spellings are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IdTokenSigningAlg {
    #[default]
    RS256,
    ES256,
}

impl IdTokenSigningAlg {
    pub const ALL: [IdTokenSigningAlg; 2] = [Self::RS256, Self::ES256];

    /// The JOSE `alg` name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A registered client. Fields a kind does not have stay empty or false (or, for the ID
/// token algorithm, the default).
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub kind: ClientKind,
    pub name: String,
    pub enabled: bool,
    pub access_token_lifetime: u32,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_cors_origins: Vec<String>,
    pub allow_offline_access: bool,
    pub allow_access_tokens_via_browser: bool,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tags: Vec<String>,
    pub role_ids: Vec<Uuid>,
    /// `DeviceCodeLifetime` of a device client (seconds); the default for other kinds.
    pub device_code_lifetime: u32,
    /// Kinds acting for users only: client-credentials clients get no ID tokens.
    pub id_token_signing_alg: IdTokenSigningAlg,
    pub created: OffsetDateTime,
}

/// What a create or a partial update says. `None` leaves a field as it is (on create: its
/// default). Field names in errors are the wire names of the contract.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientChanges {
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
    pub device_code_lifetime: Option<i64>,
    /// `"RS256"` or `"ES256"`, exactly.
    pub id_token_signing_algorithm: Option<String>,
}

impl ClientChanges {
    /// Refuses fields that the kind does not have, naming the first one found.
    fn check_kind(&self, kind: ClientKind) -> Result<(), Invalid> {
        use ClientKind::*;
        let present = [
            ("RedirectUris", self.redirect_uris.is_some(), kind.is_interactive()),
            ("PostLogoutRedirectUris", self.post_logout_redirect_uris.is_some(), kind.is_interactive()),
            ("AllowedCorsOrigins", self.allowed_cors_origins.is_some(), kind == AuthorizationCode),
            ("AllowOfflineAccess", self.allow_offline_access.is_some(), kind.acts_for_users()),
            ("AllowAccessTokensViaBrowser", self.allow_access_tokens_via_browser.is_some(), kind == Hybrid),
            ("ClientUri", self.client_uri.is_some(), kind.acts_for_users()),
            ("LogoUri", self.logo_uri.is_some(), kind.acts_for_users()),
            ("RoleIds", self.role_ids.is_some(), kind == ClientCredential),
            ("DeviceCodeLifetime", self.device_code_lifetime.is_some(), kind == DeviceCode),
            ("IdTokenSigningAlgorithm", self.id_token_signing_algorithm.is_some(), kind.acts_for_users()),
        ];
        match present.iter().find(|(_, given, allowed)| *given && !*allowed) {
            Some((field, ..)) => Err(Invalid::new(*field, format!("is not a property of a {} client", kind.as_str()))),
            None => Ok(()),
        }
    }
}

impl Client {
    /// A new client of `kind` from a create request, with the contract's defaults.
    pub fn create(tenant_id: Uuid, kind: ClientKind, changes: ClientChanges, now: OffsetDateTime) -> Result<Self> {
        changes.check_kind(kind)?;
        if changes.name.is_none() {
            return Err(RegistryError::invalid("Name", "is required"));
        }
        if kind.is_interactive() && changes.redirect_uris.as_ref().is_none_or(Vec::is_empty) {
            return Err(RegistryError::invalid("RedirectUris", "needs at least one URI"));
        }
        let mut client = Client {
            tenant_id,
            id: changes.id.unwrap_or_else(Uuid::new_v4),
            kind,
            name: String::new(),
            enabled: true,
            access_token_lifetime: LIFETIME_DEFAULT,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            allowed_cors_origins: Vec::new(),
            allow_offline_access: false,
            allow_access_tokens_via_browser: false,
            client_uri: None,
            logo_uri: None,
            tags: Vec::new(),
            role_ids: Vec::new(),
            device_code_lifetime: DEVICE_CODE_LIFETIME_DEFAULT,
            id_token_signing_alg: IdTokenSigningAlg::default(),
            created: now,
        };
        client.apply(ClientChanges { id: None, ..changes })?;
        Ok(client)
    }

    /// Applies a partial update and re-checks every rule. On error `self` may be partly
    /// changed: callers apply to a copy and store it only on success.
    pub fn apply(&mut self, changes: ClientChanges) -> Result<()> {
        changes.check_kind(self.kind)?;
        if let Some(id) = changes.id {
            if id != self.id {
                return Err(RegistryError::invalid("Id", "cannot be changed; it must match the id in the path"));
            }
        }
        if let Some(name) = changes.name {
            self.name = name_rule(name)?;
        }
        if let Some(enabled) = changes.enabled {
            self.enabled = enabled;
        }
        if let Some(lifetime) = changes.access_token_lifetime {
            self.access_token_lifetime = lifetime_rule(lifetime)?;
        }
        if let Some(uris) = changes.redirect_uris {
            if uris.is_empty() {
                return Err(RegistryError::invalid("RedirectUris", "needs at least one URI"));
            }
            self.redirect_uris = uri_list("RedirectUris", uris)?;
        }
        if let Some(uris) = changes.post_logout_redirect_uris {
            self.post_logout_redirect_uris = uri_list("PostLogoutRedirectUris", uris)?;
        }
        if let Some(origins) = changes.allowed_cors_origins {
            self.allowed_cors_origins = cors_list(origins)?;
        }
        if let Some(v) = changes.allow_offline_access {
            self.allow_offline_access = v;
        }
        if let Some(v) = changes.allow_access_tokens_via_browser {
            self.allow_access_tokens_via_browser = v;
        }
        if let Some(link) = changes.client_uri {
            self.client_uri = optional_link("ClientUri", link)?;
        }
        if let Some(link) = changes.logo_uri {
            self.logo_uri = optional_link("LogoUri", link)?;
        }
        if let Some(tags) = changes.tags {
            self.tags = tag_list(tags)?;
        }
        if let Some(roles) = changes.role_ids {
            self.role_ids = roles;
        }
        if let Some(lifetime) = changes.device_code_lifetime {
            self.device_code_lifetime = device_code_lifetime_rule(lifetime)?;
        }
        if let Some(alg) = changes.id_token_signing_algorithm {
            self.id_token_signing_alg = id_token_alg_rule(&alg)?;
        }
        if self.kind == ClientKind::ClientCredential {
            self.role_ids = with_member_role(std::mem::take(&mut self.role_ids));
        }
        Ok(())
    }
}

fn name_rule(name: String) -> Result<String> {
    let name = name.trim().to_owned();
    if name.is_empty() {
        return Err(RegistryError::invalid("Name", "must not be empty"));
    }
    if name.chars().count() > NAME_MAX {
        return Err(RegistryError::invalid("Name", format!("must be at most {NAME_MAX} characters")));
    }
    Ok(name)
}

fn lifetime_rule(lifetime: i64) -> Result<u32> {
    match u32::try_from(lifetime) {
        Ok(l) if (LIFETIME_MIN..=LIFETIME_MAX).contains(&l) => Ok(l),
        _ => Err(RegistryError::invalid(
            "AccessTokenLifetime",
            format!("must be between {LIFETIME_MIN} and {LIFETIME_MAX} seconds"),
        )),
    }
}

fn device_code_lifetime_rule(lifetime: i64) -> Result<u32> {
    match u32::try_from(lifetime) {
        Ok(l) if (DEVICE_CODE_LIFETIME_MIN..=DEVICE_CODE_LIFETIME_MAX).contains(&l) => Ok(l),
        _ => Err(RegistryError::invalid(
            "DeviceCodeLifetime",
            format!("must be between {DEVICE_CODE_LIFETIME_MIN} and {DEVICE_CODE_LIFETIME_MAX} seconds"),
        )),
    }
}

fn id_token_alg_rule(alg: &str) -> Result<IdTokenSigningAlg> {
    IdTokenSigningAlg::parse(alg)
        .ok_or_else(|| RegistryError::invalid("IdTokenSigningAlgorithm", "must be \"RS256\" or \"ES256\""))
}

fn no_duplicates<'a>(field: &str, items: impl IntoIterator<Item = &'a String>) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, item) in items.into_iter().enumerate() {
        if !seen.insert(item) {
            return Err(RegistryError::invalid(format!("{field}[{i}]"), "duplicates an earlier entry"));
        }
    }
    Ok(())
}

fn uri_list(field: &str, uris: Vec<String>) -> Result<Vec<String>> {
    if uris.len() > MAX_URIS {
        return Err(RegistryError::invalid(field, format!("may hold at most {MAX_URIS} URIs")));
    }
    for (i, u) in uris.iter().enumerate() {
        uri::redirect_uri(&format!("{field}[{i}]"), u)?;
    }
    no_duplicates(field, &uris)?;
    Ok(uris)
}

fn cors_list(origins: Vec<String>) -> Result<Vec<String>> {
    const FIELD: &str = "AllowedCorsOrigins";
    if origins.len() > MAX_CORS_ORIGINS {
        return Err(RegistryError::invalid(FIELD, format!("may hold at most {MAX_CORS_ORIGINS} origins")));
    }
    let normalised = origins
        .iter()
        .enumerate()
        .map(|(i, o)| uri::cors_origin(&format!("{FIELD}[{i}]"), o))
        .collect::<Result<Vec<_>, _>>()?;
    no_duplicates(FIELD, &normalised)?;
    Ok(normalised)
}

fn optional_link(field: &str, link: String) -> Result<Option<String>> {
    if link.is_empty() {
        return Ok(None);
    }
    uri::web_link(field, &link)?;
    Ok(Some(link))
}

fn tag_list(tags: Vec<String>) -> Result<Vec<String>> {
    if tags.len() > MAX_TAGS {
        return Err(RegistryError::invalid("Tags", format!("may hold at most {MAX_TAGS} tags")));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.trim().is_empty() || t.chars().count() > TAG_MAX {
            return Err(RegistryError::invalid(
                format!("Tags[{i}]"),
                format!("must be 1 to {TAG_MAX} characters and not blank"),
            ));
        }
    }
    no_duplicates("Tags", &tags)?;
    Ok(tags)
}

/// Tenant Member is always among a client-credentials client's roles (admin-api.md).
pub fn with_member_role(mut roles: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    roles.retain(|r| seen.insert(*r));
    if !roles.contains(&TENANT_MEMBER) {
        roles.insert(0, TENANT_MEMBER);
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);

    fn named(name: &str) -> ClientChanges {
        ClientChanges {
            name: Some(name.into()),
            redirect_uris: Some(vec!["https://app.example.com/cb".into()]),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = Client::create(Uuid::nil(), ClientKind::AuthorizationCode, named("app"), NOW).expect("valid");
        assert!(c.enabled);
        assert_eq!(c.access_token_lifetime, 3600);
        assert!(!c.allow_offline_access);
        assert!(c.role_ids.is_empty());
    }

    #[test]
    fn lifetime_bounds_are_inclusive() {
        for (lifetime, ok) in [(59, false), (60, true), (3600, true), (3601, false), (-1, false)] {
            let changes = ClientChanges { access_token_lifetime: Some(lifetime), ..named("a") };
            let result = Client::create(Uuid::nil(), ClientKind::Hybrid, changes, NOW);
            assert_eq!(result.is_ok(), ok, "{lifetime}");
        }
    }

    #[test]
    fn fields_of_other_kinds_are_refused_by_name() {
        let changes = ClientChanges { allowed_cors_origins: Some(vec![]), ..named("h") };
        let err = Client::create(Uuid::nil(), ClientKind::Hybrid, changes, NOW).expect_err("no CORS on hybrid");
        assert!(matches!(err, RegistryError::Invalid(i) if i.field == "AllowedCorsOrigins"));
        let changes = ClientChanges { name: Some("cc".into()), redirect_uris: Some(vec![]), ..Default::default() };
        let err = Client::create(Uuid::nil(), ClientKind::ClientCredential, changes, NOW).expect_err("no URIs on cc");
        assert!(matches!(err, RegistryError::Invalid(i) if i.field == "RedirectUris"));
    }

    #[test]
    fn client_credential_clients_always_hold_tenant_member() {
        let other = Uuid::new_v4();
        let changes =
            ClientChanges { name: Some("m2m".into()), role_ids: Some(vec![other, other]), ..Default::default() };
        let mut c = Client::create(Uuid::nil(), ClientKind::ClientCredential, changes, NOW).expect("valid");
        assert_eq!(c.role_ids, vec![TENANT_MEMBER, other]);
        c.apply(ClientChanges { role_ids: Some(vec![]), ..Default::default() }).expect("valid");
        assert_eq!(c.role_ids, vec![TENANT_MEMBER]);
    }

    #[test]
    fn list_limits_and_duplicates() {
        let eleven = (0..11).map(|i| format!("https://a.example.com/{i}")).collect();
        let changes = ClientChanges { redirect_uris: Some(eleven), ..named("a") };
        assert!(Client::create(Uuid::nil(), ClientKind::Hybrid, changes, NOW).is_err());
        let dup = vec!["https://a.example.com".into(), "HTTPS://A.example.com".into()];
        let changes = ClientChanges { allowed_cors_origins: Some(dup), ..named("a") };
        let err = Client::create(Uuid::nil(), ClientKind::AuthorizationCode, changes, NOW).expect_err("dup");
        assert!(matches!(err, RegistryError::Invalid(i) if i.field == "AllowedCorsOrigins[1]"));
    }

    #[test]
    fn device_clients_have_a_code_lifetime_and_no_uris() {
        let device = |lifetime| ClientChanges {
            name: Some("tv".into()),
            device_code_lifetime: lifetime,
            allow_offline_access: Some(true),
            ..Default::default()
        };
        let c = Client::create(Uuid::nil(), ClientKind::DeviceCode, device(None), NOW).expect("valid");
        assert_eq!((c.device_code_lifetime, c.access_token_lifetime), (300, 3600));
        assert!(c.allow_offline_access && !c.kind.has_secrets() && !c.kind.is_interactive());
        for (lifetime, ok) in [(59, false), (60, true), (1800, true), (1801, false), (-5, false)] {
            let result = Client::create(Uuid::nil(), ClientKind::DeviceCode, device(Some(lifetime)), NOW);
            assert_eq!(result.is_ok(), ok, "{lifetime}");
        }
        let uris = ClientChanges { redirect_uris: Some(vec!["https://a.example.com/cb".into()]), ..device(None) };
        let err = Client::create(Uuid::nil(), ClientKind::DeviceCode, uris, NOW).expect_err("no redirect URIs");
        assert!(matches!(err, RegistryError::Invalid(i) if i.field == "RedirectUris"));
        let hybrid = ClientChanges { device_code_lifetime: Some(300), ..named("h") };
        let err = Client::create(Uuid::nil(), ClientKind::Hybrid, hybrid, NOW).expect_err("only device clients");
        assert!(matches!(err, RegistryError::Invalid(i) if i.field == "DeviceCodeLifetime"));
    }

    #[test]
    fn the_id_token_algorithm_is_rs256_unless_es256_is_asked_for_exactly() {
        let mut c = Client::create(Uuid::nil(), ClientKind::AuthorizationCode, named("a"), NOW).expect("valid");
        assert_eq!(c.id_token_signing_alg, IdTokenSigningAlg::RS256);
        let es256 = ClientChanges { id_token_signing_algorithm: Some("ES256".into()), ..Default::default() };
        c.apply(es256.clone()).expect("valid");
        assert_eq!(c.id_token_signing_alg, IdTokenSigningAlg::ES256);
        c.apply(ClientChanges { name: Some("b".into()), ..Default::default() }).expect("valid");
        assert_eq!(c.id_token_signing_alg, IdTokenSigningAlg::ES256, "absent: unchanged");
        for bad in ["es256", "HS256", "none", "PS256", " ES256", ""] {
            let changes = ClientChanges { id_token_signing_algorithm: Some(bad.into()), ..Default::default() };
            let err = c.apply(changes).expect_err(bad);
            assert!(matches!(err, RegistryError::Invalid(i) if i.field == "IdTokenSigningAlgorithm"), "{bad}");
        }
        let hybrid = ClientChanges { id_token_signing_algorithm: Some("ES256".into()), ..named("h") };
        let h = Client::create(Uuid::nil(), ClientKind::Hybrid, hybrid, NOW).expect("valid");
        assert_eq!(h.id_token_signing_alg, IdTokenSigningAlg::ES256);
        let machine = ClientChanges { name: Some("m".into()), ..es256 };
        let err = Client::create(Uuid::nil(), ClientKind::ClientCredential, machine, NOW).expect_err("no ID tokens");
        assert!(matches!(err, RegistryError::Invalid(i) if i.field == "IdTokenSigningAlgorithm"));
    }

    #[test]
    fn id_cannot_change_and_name_cannot_blank() {
        let mut c = Client::create(Uuid::nil(), ClientKind::Hybrid, named("a"), NOW).expect("valid");
        assert!(c.apply(ClientChanges { id: Some(Uuid::new_v4()), ..Default::default() }).is_err());
        assert!(c.apply(ClientChanges { name: Some("  ".into()), ..Default::default() }).is_err());
        assert!(c.apply(ClientChanges { redirect_uris: Some(vec![]), ..Default::default() }).is_err());
    }
}
