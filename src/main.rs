//! `gatehouse`: the command line. Reads the configuration (a TOML file, if given, under the
//! `GATEHOUSE_*` environment variables), starts the log, and runs a command. The one place
//! that knows which storage backend runs: it opens the store the configuration names and
//! hands it to the server.

use std::sync::Arc;

use gatehouse_provider::{Clock, SystemClock};
use gatehouse_registry::store::TenantStore;
use gatehouse_registry::{RegistryError, Store};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gatehouse_server::config::LogFormat;
use gatehouse_server::{start, Config, Database};
use gatehouse_store_postgres::PgStore;
use gatehouse_store_sqlite::SqliteStore;

/// Gatehouse: an OAuth 2.0 / OpenID Connect authorization server.
///
/// Configuration comes from GATEHOUSE_* environment variables and, if given, a TOML file whose
/// keys are those variables' names without GATEHOUSE_, in lower case (listen, public_url,
/// database, ...); a variable that is set overrides the file. See docs/configuration.md.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, max_term_width = 100)]
struct Cli {
    /// Read the configuration from this TOML file (environment variables override its keys).
    #[arg(long, global = true, value_name = "FILE", env = "GATEHOUSE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server (what `gatehouse` alone does): the admin API, the protocol endpoints
    /// and the console on `listen`; on the first start, create the tenant and print any
    /// generated credential once.
    Serve,
    /// Add new signing keys to the configured database: published at once, signing in 5
    /// minutes; running servers pick them up within a second.
    RotateKeys,
    /// Copy everything in the configured database into another, empty one (one transaction on
    /// each side: a refusal or a failure writes nothing).
    CopyData {
        /// The target, as `database` takes it: a file path, sqlite://PATH or a postgres:// URL.
        #[arg(long, value_name = "DATABASE")]
        to: String,
    },
}

/// Where a database is, for messages: a file, or a PostgreSQL URL without its password.
fn describe(database: &Database) -> String {
    match database {
        Database::Sqlite(path) => path.display().to_string(),
        Database::Postgres { url, .. } => url.masked(),
    }
}

/// Starts the log on standard error: `config.log` filters it, `config.log_format` shapes it
/// (text for people, or one JSON object per line).
fn start_log(config: &Config) -> Result<(), tracing_subscriber::filter::ParseError> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)?;
    let log = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| LossyStderr);
    match config.log_format {
        LogFormat::Text => log.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        // The event's fields at the top level beside time, level and target; the request's
        // span (its `request_id`) under `span`.
        LogFormat::Json => log.json().flatten_event(true).with_current_span(true).with_span_list(false).init(),
    }
    Ok(())
}

/// Standard error that never fails: a log destination that is full, closed or gone loses
/// the lines, and never the requests (tracing-subscriber reports a failed write with
/// `eprintln!`, which panics on a broken stderr, in the worker serving the request).
struct LossyStderr;

impl std::io::Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Opens the configured store. `must_exist`: refuse to create an empty one (a command that
/// acts on a server's data must find it).
async fn open_store(database: &Database, must_exist: bool) -> Result<Arc<dyn Store>, RegistryError> {
    match database {
        Database::Sqlite(path) => {
            if must_exist && !path.exists() {
                return Err(RegistryError::Storage(format!(
                    "no database at {} (set GATEHOUSE_DATABASE to the server's)",
                    path.display()
                )));
            }
            Ok(Arc::new(SqliteStore::open(path)?))
        }
        Database::Postgres { url, pool_size } => {
            let store = PgStore::connect(url.expose(), *pool_size).await?;
            if must_exist && store.is_empty().await? {
                return Err(RegistryError::Storage(format!(
                    "the PostgreSQL database at {} holds no Gatehouse data (set GATEHOUSE_DATABASE to the server's)",
                    store.target()
                )));
            }
            Ok(Arc::new(store))
        }
    }
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    // clap answers --help, --version and a bad command line itself (exit status 2).
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Err(e) = start_log(&config) {
        eprintln!("gatehouse: GATEHOUSE_LOG: {e}");
        return std::process::ExitCode::FAILURE;
    }
    match cli.command {
        None | Some(Command::Serve) => {}
        Some(Command::RotateKeys) => return rotate(&config).await,
        Some(Command::CopyData { to }) => return copy_data(&config, &to).await,
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = match open_store(&config.database, false).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gatehouse: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let running = match start(config, store, clock).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gatehouse: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(first) = &running.first_start {
        announce_first_start(first);
    }
    announce_listening(&running);
    match running.serve().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
async fn rotate(config: &Config) -> std::process::ExitCode {
    let store = match open_store(&config.database, true).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gatehouse: cannot rotate keys: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match gatehouse_server::rotate_keys(config, store, Arc::new(SystemClock)).await {
        Ok(kids) => {
            println!("gatehouse: new signing keys {} (published now, signing in 5 minutes)", kids.join(", "));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse: cannot rotate keys: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `copy-data --to DATABASE`: copies everything in the configured store (which must hold a
/// server's data) into the store `DATABASE` names (a `GATEHOUSE_DATABASE` value), which must be
/// empty; one transaction on each side, so a refusal or a failure writes nothing.
#[allow(clippy::print_stdout)]
async fn copy_data(config: &Config, target: &str) -> std::process::ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("gatehouse: cannot copy the data: {e}");
        std::process::ExitCode::FAILURE
    };
    let target = target.trim();
    // The import is one transaction on one connection.
    let target = match Database::parse(target, 2) {
        Ok(t) => t,
        Err(e) => return fail(&format!("--to: {}", e.problem)),
    };
    let source = match open_store(&config.database, true).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let snapshot = match source.export().await {
        Ok(s) => s,
        Err(e) => return fail(&format!("reading {}: {e}", describe(&config.database))),
    };
    let into = match open_store(&target, false).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let counts = snapshot.counts();
    if let Err(e) = into.import(snapshot).await {
        return fail(&format!("{}: {e}", describe(&target)));
    }
    println!("gatehouse: copied {counts} from {} to {}", describe(&config.database), describe(&target));
    std::process::ExitCode::SUCCESS
}

/// The one time generated credentials are shown (admin-api.md: printed once, clearly).
#[allow(clippy::print_stdout)]
fn announce_first_start(first: &gatehouse_server::bootstrap::FirstStart) {
    println!("gatehouse: first start, created tenant {}", first.tenant_id);
    println!("gatehouse: administrator user name: {}", first.admin_username);
    if let Some(password) = &first.generated_password {
        println!("gatehouse: administrator password (generated, shown only now): {}", password.expose());
    }
    if let Some((id, secret)) = &first.bootstrap_client {
        println!("gatehouse: bootstrap client id: {id}");
        if let Some(secret) = secret {
            println!("gatehouse: bootstrap client secret (generated, shown only now): {}", secret.expose());
        }
    }
}

#[allow(clippy::print_stdout)]
fn announce_listening(running: &gatehouse_server::Running) {
    // Before the main listener's line, which tells whoever waits for it that all is up.
    if let Some(addr) = running.metrics_addr {
        println!("gatehouse: metrics on http://{addr}/metrics");
    }
    println!("gatehouse: listening on http://{} (issuer {})", running.addr, running.issuer);
}
