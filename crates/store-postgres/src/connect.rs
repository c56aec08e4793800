//! From a libpq URL to a migrated database and a pool.
//!
//! The URL is libpq's: `postgres://` or `postgresql://`, user, password, host(s), port,
//! database, and parameters such as `sslmode`, `connect_timeout` or `application_name`,
//! parsed by tokio-postgres. TLS is rustls (ring), by `sslmode` as libpq reads it:
//!
//! - `disable`: no TLS.
//! - `prefer` (the default): TLS when the server offers it, else plain TCP.
//! - `require`: TLS or no connection.
//! - For these two, as in libpq, the server's certificate is not checked (encryption
//!   without authentication), unless `sslrootcert` names a CA file: then it is, as for
//!   `verify-full`.
//! - `verify-ca`, `verify-full`: TLS, the certificate checked against the Mozilla roots
//!   (webpki-roots) and the PEM file `sslrootcert` if given, and the host name against the
//!   certificate (for `verify-ca` too: stricter than libpq, never weaker).

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{cause_chain, storage};
use gatehouse_registry::error::{RegistryError, Result};

/// The schema's versions, oldest first. Append; never edit one that has shipped.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "schema", include_str!("../migrations/0001_schema.sql")),
    (2, "revoked_at", include_str!("../migrations/0002_revoked_at.sql")),
    (3, "id_token_alg", include_str!("../migrations/0003_id_token_alg.sql")),
    (4, "device_codes", include_str!("../migrations/0004_device_codes.sql")),
    (5, "audit_events", include_str!("../migrations/0005_audit_events.sql")),
];

/// The session-level advisory lock held while migrating ("gatehous" in ASCII).
const MIGRATION_LOCK: i64 = 0x6761_7465_686f_7573;

/// How long the first connection may take before the start fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a request waits for a pooled connection (or a new one) before it fails.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// What the URL asks for, with the parameters tokio-postgres does not know taken out.
struct Target {
    config: tokio_postgres::Config,
    /// Check the server's certificate (verify-ca, verify-full, or a CA file given).
    verify: bool,
    root_cert: Option<String>,
}

fn bad_url(problem: impl std::fmt::Display) -> RegistryError {
    // Never the URL itself: it may hold the password.
    storage(format!("GATEHOUSE_DATABASE is not a PostgreSQL URL as libpq spells it: {problem}"))
}

fn parse(url: &str) -> Result<Target> {
    let scheme_end = url.find("://").ok_or_else(|| bad_url("it must start with postgres:// or postgresql://"))?;
    let scheme = url[..scheme_end].to_ascii_lowercase();
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(bad_url("it must start with postgres:// or postgresql://"));
    }
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (mut verify, mut root_cert, mut kept) = (false, None, Vec::new());
    for pair in query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match (key, value) {
            ("sslmode", "verify-ca" | "verify-full") => {
                verify = true;
                kept.push("sslmode=require");
            }
            ("sslrootcert", path) => {
                let path = percent_encoding::percent_decode_str(path).decode_utf8().map_err(bad_url)?;
                root_cert = Some(path.into_owned());
            }
            _ => kept.push(pair),
        }
    }
    let normalised = format!("{scheme}://{}", &base[scheme_end + 3..]);
    let url = if kept.is_empty() { normalised } else { format!("{normalised}?{}", kept.join("&")) };
    let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| bad_url(cause_chain(&e)))?;
    Ok(Target { config, verify: verify || root_cert.is_some(), root_cert })
}

/// `host:port/database as user`, for messages: everything but the password.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports = config.get_ports();
    let hosts = if hosts.is_empty() { vec!["localhost".to_owned()] } else { hosts };
    let at: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{h}:{}", ports.get(i).or(ports.first()).copied().unwrap_or(5432)))
        .collect();
    let user = config.get_user().unwrap_or("(default user)");
    let db = config.get_dbname().unwrap_or(user);
    format!("{}/{db} as {user}", at.join(","))
}

#[cfg(any(test, feature = "test-support"))]
/// One connection outside the pool (to create test databases), with the
/// task that drives it; closed when dropped.
pub(crate) async fn client(url: &str) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>)> {
    let target = parse(url)?;
    let (client, driver, _, _) = connect(target).await?;
    Ok((client, driver))
}

type Connected = (tokio_postgres::Client, tokio::task::JoinHandle<()>, MakeRustlsConnect, Target);

async fn connect(target: Target) -> Result<Connected> {
    let described = describe(&target.config);
    let failed = |e: &dyn std::fmt::Display| storage(format!("cannot connect to PostgreSQL at {described}: {e}"));
    let tls = tls(&target).await.map_err(|e| failed(&e))?;
    let (client, connection) = match tokio::time::timeout(CONNECT_TIMEOUT, target.config.connect(tls.clone())).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Err(failed(&cause_chain(&e))),
        Err(_) => return Err(failed(&format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
    };
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((client, driver, tls, target))
}

/// Opens the database: migrates it, then answers the pool and the target's description.
pub(crate) async fn open(url: &str, pool_size: usize) -> Result<(Vec<Pool>, String)> {
    let (mut client, driver, tls, target) = connect(parse(url)?).await?;
    let described = describe(&target.config);
    let migrated = migrate(&mut client).await;
    // Closing the connection releases the migration lock, whatever happened.
    drop(client);
    let _ = driver.await;
    migrated.map_err(|e| storage(format!("cannot migrate the PostgreSQL database at {described}: {e}")))?;

    // One pool per lane (decision 52): at most `pool_size` connections in all.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pools = lane_sizes(pool_size, cores)
        .into_iter()
        .map(|size| {
            let manager = Manager::from_config(
                target.config.clone(),
                tls.clone(),
                ManagerConfig { recycling_method: RecyclingMethod::Fast },
            );
            Pool::builder(manager)
                .max_size(size)
                .wait_timeout(Some(POOL_WAIT))
                .create_timeout(Some(POOL_WAIT))
                .runtime(Runtime::Tokio1)
                .build()
                .map_err(|e| storage(format!("cannot open a pool for PostgreSQL at {described}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((pools, described))
}

/// The sizes of the lanes' pools: one lane per core, at most one per connection, the total
/// `pool_size` (at least 1).
fn lane_sizes(pool_size: usize, cores: usize) -> Vec<usize> {
    let total = pool_size.max(1);
    let lanes = cores.clamp(1, total);
    (0..lanes).map(|lane| total / lanes + usize::from(lane < total % lanes)).collect()
}

/// Applies the migrations not yet applied, each in its own transaction with its version
/// row, while holding the migration lock: instances starting at once take turns, and the
/// later ones find the work done.
async fn migrate(client: &mut tokio_postgres::Client) -> std::result::Result<(), String> {
    let text = |e: tokio_postgres::Error| cause_chain(&e);
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await.map_err(text)?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name    text NOT NULL,
                applied timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(text)?;
    let applied: Vec<i32> = client
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .await
        .map_err(text)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if let Some(newer) = applied.iter().find(|v| **v > known) {
        return Err(format!("its schema version {newer} is newer than this build's {known}; run a newer gatehouse"));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
        let tx = client.transaction().await.map_err(text)?;
        tx.batch_execute(sql).await.map_err(|e| format!("version {version} ({name}): {}", cause_chain(&e)))?;
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name])
            .await
            .map_err(text)?;
        tx.commit().await.map_err(text)?;
    }
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await.map_err(text)?;
    Ok(())
}

/// The rustls connector `sslmode` asks for (module docs). tokio-postgres itself decides,
/// from `sslmode`, whether to use it.
async fn tls(target: &Target) -> std::result::Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if target.verify {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = target.root_cert.clone() {
            let pem = tokio::task::spawn_blocking(move || {
                std::fs::read(&path).map_err(|e| format!("sslrootcert {path}: {e}"))
            })
            .await
            .map_err(|e| e.to_string())??;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                roots.add(cert.map_err(|e| format!("sslrootcert: {e}"))?).map_err(|e| format!("sslrootcert: {e}"))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let algorithms = provider.signature_verification_algorithms;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(EncryptOnly(algorithms))).with_no_client_auth()
    };
    Ok(MakeRustlsConnect::new(config))
}

/// libpq's `prefer` and `require`: the channel is encrypted and the handshake's signatures
/// are checked, but the certificate is taken as the server presents it.
#[derive(Debug)]
struct EncryptOnly(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lanes_share_out_the_pool_size_exactly() {
        assert_eq!(lane_sizes(16, 2), [8, 8]);
        assert_eq!(lane_sizes(17, 4), [5, 4, 4, 4]);
        assert_eq!(lane_sizes(3, 8), [1, 1, 1]);
        assert_eq!(lane_sizes(0, 2), [1]);
        for (size, cores) in [(1, 1), (1000, 64), (7, 3), (100, 7)] {
            let lanes = lane_sizes(size, cores);
            assert_eq!(lanes.iter().sum::<usize>(), size);
            assert!(lanes.len() <= cores && lanes.iter().all(|&n| n >= 1));
        }
    }

    #[test]
    fn urls_are_read_as_libpq_spells_them() {
        let t = parse("postgresql://gate:s3cret@db.example.com:6543/gatehouse?sslmode=require").expect("url");
        assert_eq!(describe(&t.config), "db.example.com:6543/gatehouse as gate");
        assert_eq!(t.config.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(t.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        assert!(!t.verify);
        let t = parse("POSTGRES://gate@h/db?sslmode=verify-full&application_name=g").expect("url");
        assert_eq!(t.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        assert!(t.verify && t.root_cert.is_none());
        let t = parse("postgres://gate@h/db?sslrootcert=%2Fetc%2Fca.pem").expect("url");
        assert_eq!((t.verify, t.root_cert.as_deref()), (true, Some("/etc/ca.pem")));
        assert_eq!(
            parse("postgres://h").map(|t| describe(&t.config)).expect("url"),
            "h:5432/(default user) as (default user)"
        );
    }

    #[test]
    fn a_wrong_url_never_shows_its_password() {
        for bad in [
            "postgres://gate:pw-123@h:notaport/db",
            "postgres://gate:pw-123@h/db?sslmode=sometimes",
            "mysql://gate:pw-123@h/db",
            "gate:pw-123@h/db",
        ] {
            let e = parse(bad).err().expect(bad).to_string();
            assert!(!e.contains("pw-123") && !e.contains('\n'), "{e}");
            assert!(e.contains("GATEHOUSE_DATABASE"), "{e}");
        }
    }
}
