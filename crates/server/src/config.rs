//! Configuration: one typed struct, read once in `main` from the environment and passed
//! down. Every key is documented in docs/configuration.md.

use std::path::PathBuf;

use gatehouse_registry::SecretValue;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Config {
    /// `GATEHOUSE_LISTEN`: the address to bind; port 0 picks a free port.
    pub listen: String,
    /// `GATEHOUSE_PUBLIC_URL`: the base URL clients use; the issuer is this + `/identity`.
    /// Unset: `http://` + the bound address.
    pub public_url: Option<String>,
    /// `GATEHOUSE_DATABASE`: the SQLite file.
    pub database: PathBuf,
    /// `GATEHOUSE_TENANT_ID`: the first tenant's id; generated when unset.
    pub tenant_id: Option<Uuid>,
    /// `GATEHOUSE_ADMIN_USERNAME` (default `admin`).
    pub admin_username: String,
    /// `GATEHOUSE_ADMIN_PASSWORD`; generated and printed once when unset.
    pub admin_password: Option<SecretValue>,
    /// `GATEHOUSE_BOOTSTRAP_CLIENT_ID`; with or without the secret, asks for the bootstrap client.
    pub bootstrap_client_id: Option<Uuid>,
    /// `GATEHOUSE_BOOTSTRAP_CLIENT_SECRET`; generated and printed once when unset.
    pub bootstrap_client_secret: Option<SecretValue>,
}

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:5000".into(),
            public_url: None,
            database: PathBuf::from("gatehouse-data/gatehouse.db"),
            tenant_id: None,
            admin_username: "admin".into(),
            admin_password: None,
            bootstrap_client_id: None,
            bootstrap_client_secret: None,
        }
    }
}

impl Config {
    /// Reads the `GATEHOUSE_*` variables through `get` (the environment in `main`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let uuid = |key: &'static str| {
            get(key)
                .map(|v| {
                    Uuid::parse_str(v.trim()).map_err(|e| ConfigError { key, problem: format!("not a GUID: {e}") })
                })
                .transpose()
        };
        let defaults = Self::default();
        let public_url = get("GATEHOUSE_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url {
            url::Url::parse(u).map_err(|e| ConfigError { key: "GATEHOUSE_PUBLIC_URL", problem: e.to_string() })?;
        }
        Ok(Self {
            listen: get("GATEHOUSE_LISTEN").unwrap_or(defaults.listen),
            public_url,
            database: get("GATEHOUSE_DATABASE").map(PathBuf::from).unwrap_or(defaults.database),
            tenant_id: uuid("GATEHOUSE_TENANT_ID")?,
            admin_username: get("GATEHOUSE_ADMIN_USERNAME").unwrap_or(defaults.admin_username),
            admin_password: get("GATEHOUSE_ADMIN_PASSWORD").map(SecretValue::new),
            bootstrap_client_id: uuid("GATEHOUSE_BOOTSTRAP_CLIENT_ID")?,
            bootstrap_client_secret: get("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET").map(SecretValue::new),
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn wants_bootstrap_client(&self) -> bool {
        self.bootstrap_client_id.is_some() || self.bootstrap_client_secret.is_some()
    }
}
