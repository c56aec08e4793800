//! Configuration: one typed struct, read once in `main` from the environment and passed
//! down. Every key is documented in docs/configuration.md.

use std::path::PathBuf;

use gatehouse_registry::SecretValue;
use uuid::Uuid;

mod file;
mod postgres_url;
pub use file::{file_key, ConfigFile, LoadError};
pub use postgres_url::PostgresUrl;

/// Every configuration key, as its environment variable; the configuration file's keys are
/// these without `GATEHOUSE_`, in lower case (`listen`, `public_url`, ...). `Config::from_lookup`
/// reads exactly these (a unit test holds the two together).
pub const KEYS: [&str; 18] = [
    "GATEHOUSE_LISTEN",
    "GATEHOUSE_PUBLIC_URL",
    "GATEHOUSE_DATABASE",
    "GATEHOUSE_DATABASE_POOL_SIZE",
    "GATEHOUSE_TENANT_ID",
    "GATEHOUSE_ADMIN_USERNAME",
    "GATEHOUSE_ADMIN_PASSWORD",
    "GATEHOUSE_BOOTSTRAP_CLIENT_ID",
    "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
    "GATEHOUSE_REFRESH_GRACE_SECONDS",
    "GATEHOUSE_REFRESH_ABSOLUTE_DAYS",
    "GATEHOUSE_REFRESH_SLIDING_DAYS",
    "GATEHOUSE_SESSION_HOURS",
    "GATEHOUSE_TRUSTED_PROXIES",
    "GATEHOUSE_LOG",
    "GATEHOUSE_LOG_FORMAT",
    "GATEHOUSE_METRICS_LISTEN",
    "GATEHOUSE_AUDIT_RETENTION_DAYS",
];

#[derive(Debug, Clone)]
pub struct Config {
    /// `GATEHOUSE_LISTEN`: the address to bind; port 0 picks a free port.
    pub listen: String,
    /// `GATEHOUSE_PUBLIC_URL`: the base URL clients use; the issuer is this + `/identity`.
    /// Unset: `http://` + the bound address.
    pub public_url: Option<String>,
    /// `GATEHOUSE_DATABASE`: where the data lives.
    pub database: Database,
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
    /// `GATEHOUSE_REFRESH_GRACE_SECONDS` (default 5): how long a consumed refresh token
    /// still answers its successor, for a client retrying after a lost response.
    pub refresh_grace_seconds: u32,
    /// `GATEHOUSE_REFRESH_ABSOLUTE_DAYS` (default 30) and `GATEHOUSE_REFRESH_SLIDING_DAYS`
    /// (default 15): a refresh family's absolute end, and a token's renewable life.
    pub refresh_absolute_days: u32,
    pub refresh_sliding_days: u32,
    /// `GATEHOUSE_SESSION_HOURS` (default 8): how long a browser stays signed in.
    pub session_hours: u32,
    /// `GATEHOUSE_TRUSTED_PROXIES`: addresses or CIDR ranges (comma-separated) of the load
    /// balancers in front; from them, the client's address is read from `X-Forwarded-For`.
    /// Empty (the default): the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `GATEHOUSE_LOG`: the log filter (`tracing_subscriber::EnvFilter` syntax).
    pub log: String,
    /// `GATEHOUSE_LOG_FORMAT`: `text` (the default, for people) or `json` (one object a line).
    pub log_format: LogFormat,
    /// `GATEHOUSE_METRICS_LISTEN`: the address of the Prometheus metrics listener
    /// (`GET /metrics`), apart from the main one; port 0 picks a free port. Unset (the
    /// default): no metrics, and nothing more listens.
    pub metrics_listen: Option<String>,
    /// `GATEHOUSE_AUDIT_RETENTION_DAYS` (default 90, 1 to 3650): audit events older than this
    /// are deleted by the purge that runs every minute.
    pub audit_retention_days: u32,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for a log pipeline.
    Json,
}

/// Where the data lives: the binary opens the store this names; nothing else knows which
/// backend runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A file path, or `sqlite://PATH`: the embedded default.
    Sqlite(PathBuf),
    /// `postgres://` or `postgresql://` as libpq spells it, with `GATEHOUSE_DATABASE_POOL_SIZE`
    /// connections at most: PostgreSQL, which many instances share.
    Postgres { url: PostgresUrl, pool_size: usize },
}

/// The default of `GATEHOUSE_DATABASE_POOL_SIZE`, and its largest value.
pub const DEFAULT_POOL_SIZE: usize = 16;
pub const MAX_POOL_SIZE: usize = 1000;

impl Database {
    /// Reads a `GATEHOUSE_DATABASE` value (also the target of `gatehouse copy-data --to`).
    pub fn parse(value: &str, pool_size: usize) -> Result<Self, ConfigError> {
        let bad = |problem: &str| ConfigError { key: "GATEHOUSE_DATABASE", problem: problem.to_owned() };
        let lower = value.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            // The store reads the rest as libpq does, and a wrong URL fails the start there,
            // in one line without the password.
            return Ok(Self::Postgres { url: PostgresUrl::new(value), pool_size });
        }
        let path = match lower.strip_prefix("sqlite://") {
            Some(_) => &value["sqlite://".len()..],
            None if lower.contains("://") => {
                return Err(bad("must be a file path, sqlite://PATH, or a postgres:// or postgresql:// URL"))
            }
            None => value,
        };
        if path.is_empty() {
            return Err(bad("names no file"));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// `10.0.0.0/8, 192.0.2.7, 2001:db8::/32`: an address alone is a network of one.
fn parse_networks(value: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<ipnet::IpNet>().or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)).map_err(|_| {
                ConfigError {
                    key: "GATEHOUSE_TRUSTED_PROXIES",
                    problem: format!("{v} is not an IP address or CIDR range"),
                }
            })
        })
        .collect()
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
            database: Database::Sqlite(PathBuf::from("gatehouse-data/gatehouse.db")),
            tenant_id: None,
            admin_username: "admin".into(),
            admin_password: None,
            bootstrap_client_id: None,
            bootstrap_client_secret: None,
            refresh_grace_seconds: 5,
            refresh_absolute_days: 30,
            refresh_sliding_days: 15,
            session_hours: 8,
            trusted_proxies: Vec::new(),
            log: "info,actix_server=warn".into(),
            log_format: LogFormat::Text,
            metrics_listen: None,
            audit_retention_days: 90,
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
        let number = |key: &'static str, default: u32, max: u32| match get(key) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(ConfigError { key, problem: format!("must be a whole number from 0 to {max}") }),
            },
        };
        let pool_size = match get("GATEHOUSE_DATABASE_POOL_SIZE") {
            None => DEFAULT_POOL_SIZE,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_POOL_SIZE).contains(&n) => n,
                _ => {
                    return Err(ConfigError {
                        key: "GATEHOUSE_DATABASE_POOL_SIZE",
                        problem: format!("must be a whole number from 1 to {MAX_POOL_SIZE}"),
                    })
                }
            },
        };
        let public_url = get("GATEHOUSE_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url {
            url::Url::parse(u).map_err(|e| ConfigError { key: "GATEHOUSE_PUBLIC_URL", problem: e.to_string() })?;
        }
        let bootstrap_client_secret = get("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET");
        if bootstrap_client_secret.as_ref().is_some_and(|s| s.chars().count() < 32) {
            // Secrets are verified with a fast hash, which is sound only for long random ones.
            return Err(ConfigError {
                key: "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
                problem: "must be at least 32 characters of random text".into(),
            });
        }
        Ok(Self {
            listen: get("GATEHOUSE_LISTEN").unwrap_or(defaults.listen),
            public_url,
            database: get("GATEHOUSE_DATABASE")
                .map(|v| Database::parse(v.trim(), pool_size))
                .transpose()?
                .unwrap_or(defaults.database),
            tenant_id: uuid("GATEHOUSE_TENANT_ID")?,
            admin_username: get("GATEHOUSE_ADMIN_USERNAME").unwrap_or(defaults.admin_username),
            admin_password: get("GATEHOUSE_ADMIN_PASSWORD").map(SecretValue::new),
            bootstrap_client_id: uuid("GATEHOUSE_BOOTSTRAP_CLIENT_ID")?,
            bootstrap_client_secret: bootstrap_client_secret.map(SecretValue::new),
            refresh_grace_seconds: number("GATEHOUSE_REFRESH_GRACE_SECONDS", defaults.refresh_grace_seconds, 60)?,
            refresh_absolute_days: number("GATEHOUSE_REFRESH_ABSOLUTE_DAYS", defaults.refresh_absolute_days, 3650)?,
            refresh_sliding_days: number("GATEHOUSE_REFRESH_SLIDING_DAYS", defaults.refresh_sliding_days, 3650)?,
            session_hours: number("GATEHOUSE_SESSION_HOURS", defaults.session_hours, 24 * 90)?.max(1),
            trusted_proxies: get("GATEHOUSE_TRUSTED_PROXIES")
                .map(|v| parse_networks(&v))
                .transpose()?
                .unwrap_or_default(),
            log: get("GATEHOUSE_LOG").unwrap_or(defaults.log),
            log_format: match get("GATEHOUSE_LOG_FORMAT").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(_) => {
                    return Err(ConfigError { key: "GATEHOUSE_LOG_FORMAT", problem: "must be text or json".into() })
                }
            },
            metrics_listen: get("GATEHOUSE_METRICS_LISTEN").map(|v| v.trim().to_owned()),
            audit_retention_days: match number("GATEHOUSE_AUDIT_RETENTION_DAYS", defaults.audit_retention_days, 3650)? {
                0 => {
                    return Err(ConfigError {
                        key: "GATEHOUSE_AUDIT_RETENTION_DAYS",
                        problem: "must be a whole number from 1 to 3650".into(),
                    })
                }
                days => days,
            },
        })
    }

    /// The configuration from the environment (`env`, `std::env::var` in `main`) over the
    /// configuration file, if one is given: a variable that is set (and not blank) wins.
    pub fn load(file: Option<&std::path::Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, LoadError> {
        let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let Some(path) = file else {
            return Self::from_lookup(set).map_err(LoadError::Value);
        };
        let file = ConfigFile::read(path)?;
        Self::from_lookup(|k| set(k).or_else(|| file.get(k).map(str::to_owned))).map_err(|error| {
            if set(error.key).is_none() && file.get(error.key).is_some() {
                LoadError::InFile { file: file.path().to_path_buf(), error }
            } else {
                LoadError::Value(error)
            }
        })
    }

    /// The provider's settings for `issuer`.
    pub fn settings(&self, issuer: String) -> gatehouse_provider::Settings {
        let days = |d: u32| time::Duration::days(i64::from(d));
        gatehouse_provider::Settings {
            refresh_grace: time::Duration::seconds(i64::from(self.refresh_grace_seconds)),
            refresh_absolute: days(self.refresh_absolute_days),
            refresh_sliding: days(self.refresh_sliding_days),
            session_lifetime: time::Duration::hours(i64::from(self.session_hours)),
            ..gatehouse_provider::Settings::new(issuer)
        }
    }

    pub fn wants_bootstrap_client(&self) -> bool {
        self.bootstrap_client_id.is_some() || self.bootstrap_client_secret.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_lookup(lookup(&[])).expect("defaults");
        assert_eq!(c.listen, "127.0.0.1:5000");
        assert!(c.public_url.is_none() && !c.wants_bootstrap_client());
        assert!(c.metrics_listen.is_none(), "no metrics listener unless asked");
        let c = Config::from_lookup(lookup(&[
            ("GATEHOUSE_PUBLIC_URL", "https://id.example.com/"),
            ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", "0b0075f2-0000-4000-8000-00000000b007"),
            ("GATEHOUSE_METRICS_LISTEN", " 127.0.0.1:9464 "),
        ]))
        .expect("valid");
        assert_eq!(c.metrics_listen.as_deref(), Some("127.0.0.1:9464"));
        assert_eq!(c.public_url.as_deref(), Some("https://id.example.com"));
        assert!(c.wants_bootstrap_client());
    }

    #[test]
    fn the_database_is_a_path_or_a_sqlite_url() {
        let db = |v: &str| Config::from_lookup(lookup(&[("GATEHOUSE_DATABASE", v)])).map(|c| c.database);
        assert_eq!(db("data/g.db").expect("path"), Database::Sqlite("data/g.db".into()));
        assert_eq!(db("sqlite:///var/lib/g.db").expect("url"), Database::Sqlite("/var/lib/g.db".into()));
        assert_eq!(db("SQLITE://rel.db").expect("any case"), Database::Sqlite("rel.db".into()));
        for bad in ["sqlite://", "mysql://db/g"] {
            assert_eq!(db(bad).expect_err(bad).key, "GATEHOUSE_DATABASE");
        }
    }

    #[test]
    fn a_postgres_url_takes_the_pool_size_and_never_shows_its_password() {
        let config = |pairs: &[(&str, &str)]| Config::from_lookup(lookup(pairs));
        let url = "postgresql://gate:pw-s3cret@db.example.com:5432/gatehouse?sslmode=require";
        let c = config(&[("GATEHOUSE_DATABASE", url)]).expect("postgres");
        let Database::Postgres { url: parsed, pool_size } = &c.database else { panic!("{:?}", c.database) };
        assert_eq!((parsed.expose(), *pool_size), (url, DEFAULT_POOL_SIZE));
        assert!(!format!("{c:?}").contains("pw-s3cret"), "Debug of the configuration shows no password");
        let c =
            config(&[("GATEHOUSE_DATABASE", "POSTGRES://h/g"), ("GATEHOUSE_DATABASE_POOL_SIZE", " 4 ")]).expect("4");
        assert!(matches!(c.database, Database::Postgres { pool_size: 4, .. }));
        for bad in ["0", "1001", "-1", "many"] {
            let err = config(&[("GATEHOUSE_DATABASE", url), ("GATEHOUSE_DATABASE_POOL_SIZE", bad)]).expect_err(bad);
            assert_eq!(err.key, "GATEHOUSE_DATABASE_POOL_SIZE");
        }
        // PostgreSQL only: SQLite keeps its own pool, and the key is still checked.
        let c = config(&[("GATEHOUSE_DATABASE_POOL_SIZE", "32")]).expect("sqlite");
        assert!(matches!(c.database, Database::Sqlite(_)));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let c = Config::from_lookup(lookup(&[("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7,2001:db8::/32")]))
            .expect("valid");
        let shown: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        let err = Config::from_lookup(lookup(&[("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, proxy")])).expect_err("bad");
        assert!(err.to_string().contains("proxy is not an IP address"), "{err}");
    }

    #[test]
    fn audit_retention_is_days_from_1_to_3650() {
        let days = |v: &str| Config::from_lookup(lookup(&[("GATEHOUSE_AUDIT_RETENTION_DAYS", v)]));
        assert_eq!(Config::from_lookup(lookup(&[])).expect("default").audit_retention_days, 90);
        assert_eq!(days(" 365 ").expect("365").audit_retention_days, 365);
        for bad in ["0", "3651", "-1", "forever"] {
            assert_eq!(days(bad).expect_err(bad).key, "GATEHOUSE_AUDIT_RETENTION_DAYS");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("GATEHOUSE_TENANT_ID", "nope"),
            ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", "too-short"),
            ("GATEHOUSE_PUBLIC_URL", "not a url"),
        ] {
            let err = Config::from_lookup(lookup(&[(key, value)])).expect_err(key);
            assert_eq!(err.key, key);
        }
    }

    #[test]
    fn every_key_read_is_listed_and_every_listed_key_is_read() {
        let asked = std::cell::RefCell::new(Vec::new());
        Config::from_lookup(|k| {
            asked.borrow_mut().push(k.to_owned());
            None
        })
        .expect("defaults");
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut listed: Vec<String> = KEYS.iter().map(|k| (*k).to_owned()).collect();
        listed.sort();
        assert_eq!(asked, listed, "KEYS and Config::from_lookup disagree");
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write");
        file
    }

    #[test]
    fn the_file_is_read_and_a_variable_overrides_it() {
        let file = write(
            "listen = \"0.0.0.0:8080\"\npublic_url = \"https://id.example.com\"\nsession_hours = 12\n\
             trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\"]\nlog_format = \"json\"\n",
        );
        let c = Config::load(Some(file.path()), lookup(&[])).expect("file");
        assert_eq!((c.listen.as_str(), c.public_url.as_deref()), ("0.0.0.0:8080", Some("https://id.example.com")));
        assert_eq!((c.session_hours, c.trusted_proxies.len(), c.log_format), (12, 2, LogFormat::Json));
        let c = Config::load(Some(file.path()), lookup(&[("GATEHOUSE_SESSION_HOURS", "3"), ("GATEHOUSE_LISTEN", " ")]))
            .expect("file and environment");
        assert_eq!(c.session_hours, 3, "the variable wins");
        assert_eq!(c.listen, "0.0.0.0:8080", "a blank variable is unset");
    }

    #[test]
    fn a_bad_file_names_the_file_and_the_key() {
        let shown = |text: &str, env: &[(&str, &str)]| {
            let file = write(text);
            let err = Config::load(Some(file.path()), lookup(env)).expect_err(text).to_string();
            assert!(err.starts_with(&file.path().display().to_string()), "{err}");
            err
        };
        assert!(shown("lisen = \"x\"\n", &[]).contains("unknown key `lisen`"));
        assert!(shown("session_hours = 100000\n", &[]).contains(": session_hours: must be a whole number"));
        assert!(shown("session_hours = 1.5\n", &[]).contains(": session_hours: must be a string or a whole number"));
        assert!(shown("listen = [\"a\"]\n", &[]).contains(": listen: must be a string or a whole number"));
        assert!(shown("trusted_proxies = [1]\n", &[]).contains(": trusted_proxies: must be a list of strings"));
        assert!(shown("log_format = \"yaml\"\n", &[]).contains(": log_format: must be text or json"));
        assert!(shown("listen = \n", &[]).contains("not valid TOML"));
        assert!(shown("config = \"other.toml\"\n", &[]).contains("unknown key `config`"));
        // A bad variable is named as the variable, even with a file.
        let file = write("session_hours = 1\n");
        let err = Config::load(Some(file.path()), lookup(&[("GATEHOUSE_SESSION_HOURS", "x")])).expect_err("variable");
        assert!(err.to_string().starts_with("GATEHOUSE_SESSION_HOURS: "), "{err}");
        let missing = Config::load(Some(std::path::Path::new("/nonexistent/g.toml")), lookup(&[])).expect_err("none");
        assert!(missing.to_string().starts_with("/nonexistent/g.toml: cannot read it"), "{missing}");
    }
}
