//! The Gatehouse server: actix-web routes over the provider and the registry.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::Condition;
use actix_web::{web, App, HttpServer};
use gatehouse_provider::{Clock, Provider, Stores};
use gatehouse_registry::store::{AuditStore, ClientStore, GrantStore, RoleStore, TenantStore, UserStore};
use gatehouse_registry::user::{hash_password, PasswordMemory};
use gatehouse_registry::{SecretValue, Store};
use time::OffsetDateTime;

pub mod admin;
pub mod audit;
pub mod bootstrap;
pub mod client_address;
pub mod config;
pub mod console;
pub mod health;
pub mod http_error;
pub mod metrics;
pub mod oidc;
pub mod passwords;
pub mod requests;

pub use config::{Config, Database};

/// The registry's stores as the admin API and the pages use them, each as the one trait it
/// needs. Which backend keeps them is the binary's choice alone.
#[derive(Clone)]
pub struct Registry {
    pub tenants: Arc<dyn TenantStore>,
    pub clients: Arc<dyn ClientStore>,
    pub roles: Arc<dyn RoleStore>,
    pub users: Arc<dyn UserStore>,
    /// For what ends a user's grants (a password reset).
    pub grants: Arc<dyn GrantStore>,
    /// The audit trail: refused changes, the AuditEvents list, retention.
    pub audit: Arc<dyn AuditStore>,
}

impl Registry {
    /// Every part from one store that keeps them all.
    pub fn of(store: Arc<dyn Store>) -> Self {
        Self {
            tenants: store.clone(),
            clients: store.clone(),
            roles: store.clone(),
            users: store.clone(),
            grants: store.clone(),
            audit: store,
        }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub provider: Arc<Provider>,
    pub registry: Registry,
    pub clock: Arc<dyn Clock>,
    /// The load balancers whose `X-Forwarded-For` names the client (`client_address`).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// Password checks and hashes, a bounded number at once.
    pub passwords: passwords::PasswordGate,
    /// An argon2id hash of nothing anyone knows: a sign-in for an unknown user is checked
    /// against it, so it costs what a real check costs.
    pub dummy_hash: String,
}

impl AppState {
    /// The clock, in whole seconds (what the stores keep).
    pub fn now(&self) -> OffsetDateTime {
        let now = self.clock.now();
        now.replace_nanosecond(0).unwrap_or(now)
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    #[error("cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("storage: {0}")]
    Storage(#[from] gatehouse_registry::RegistryError),
    #[error("first start: {0}")]
    Bootstrap(gatehouse_registry::RegistryError),
    #[error("keys: {0}")]
    Keys(#[from] gatehouse_provider::ProtocolError),
}

/// A server bound and running.
pub struct Running {
    pub addr: SocketAddr,
    pub issuer: String,
    pub first_start: Option<bootstrap::FirstStart>,
    pub server: Server,
    /// The metrics listener's address, when `GATEHOUSE_METRICS_LISTEN` asked for one.
    pub metrics_addr: Option<SocketAddr>,
    /// The metrics listener, running beside `server`; [`Running::serve`] stops it with it.
    metrics: Option<ServerHandle>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("issuer", &self.issuer)
            .field("metrics_addr", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

impl Running {
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the main server stops (a signal, or [`Running::handle`]), then stops
    /// the metrics listener too.
    pub async fn serve(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(metrics) = self.metrics {
            metrics.stop(true).await;
        }
        result
    }
}

/// How often a running server looks at the stored signing keys: a rotation by another
/// instance, or by `gatehouse rotate-keys`, is in force here within this (issue 8: within a
/// second). A look that fails (the database is away) is simply made again a second later.
const KEY_LOOK: std::time::Duration = std::time::Duration::from_secs(1);
/// How often expired grants and sign-in counters are deleted.
const PURGE: std::time::Duration = std::time::Duration::from_secs(60);

/// `gatehouse rotate-keys`: adds new signing keys to `store`. They are published at once
/// and sign from `PUBLISH_AHEAD` on; running servers pick them up within a second. Answers
/// the new key ids.
pub async fn rotate_keys(
    config: &Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> Result<Vec<String>, StartError> {
    let provider = Provider::new(Stores::of(store), clock, config.settings(String::new())).await?;
    let actor = gatehouse_registry::audit::Actor::System("gatehouse rotate-keys".into());
    Ok(provider.rotate_keys(actor, &gatehouse_registry::audit::Origin::command()).await?)
}

/// The longest a request may take, body included: a client trickling its body a byte a
/// second would otherwise hold its connection (and a file descriptor) for as long as it likes.
const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Answers 408 to a request not done within [`REQUEST_DEADLINE`].
async fn deadline(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    match tokio::time::timeout(REQUEST_DEADLINE, next.call(req)).await {
        Ok(response) => response.map(actix_web::dev::ServiceResponse::map_into_boxed_body),
        Err(_) => Err(actix_web::error::ErrorRequestTimeout("the request took too long")),
    }
}

/// Bootstraps an empty `store`, loads the keys, binds and starts serving. The store and the
/// clock are the caller's: the binary picks the backend from the configuration.
pub async fn start(config: Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Result<Running, StartError> {
    let listener = TcpListener::bind(&config.listen).map_err(|e| StartError::Listen(config.listen.clone(), e))?;
    let addr = listener.local_addr().map_err(|e| StartError::Listen(config.listen.clone(), e))?;
    // Bound first, so an address that cannot be had stops the start before anything is
    // bootstrapped; the recorder is installed at once, so the start's own work is counted.
    let metrics_listener = match &config.metrics_listen {
        Some(listen) => {
            let listener = TcpListener::bind(listen).map_err(|e| StartError::Listen(listen.clone(), e))?;
            Some((listener, metrics::recorder()))
        }
        None => None,
    };
    // Bound to every interface, the default URL names loopback: browsers can reach it, and
    // cookies may then be sent over plain http (set GATEHOUSE_PUBLIC_URL in production).
    let shown = if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{shown}"));
    let issuer = format!("{public_url}/identity");
    // Keys first: if they cannot be loaded, nothing is bootstrapped whose generated
    // credentials would then never be shown.
    let registry = Registry::of(Arc::clone(&store));
    let provider = Arc::new(
        Provider::new(Stores::of(Arc::clone(&store)), Arc::clone(&clock), config.settings(issuer.clone())).await?,
    );
    let dummy = SecretValue::generate()?;
    let dummy_hash = tokio::task::spawn_blocking(move || hash_password(&dummy, &mut PasswordMemory::default()))
        .await
        .map_err(|e| StartError::Storage(gatehouse_registry::RegistryError::Storage(e.to_string())))??;
    let first_start =
        bootstrap::first_start(registry.tenants.as_ref(), &config, clock.now()).await.map_err(StartError::Bootstrap)?;
    // From here on nothing may stop the start: the first start's generated credentials
    // are shown only once the server runs. The console is a convenience; its absence is
    // logged, and the next start tries again.
    if let Err(e) =
        console::ensure_console_clients(registry.tenants.as_ref(), registry.clients.as_ref(), &public_url, clock.now())
            .await
    {
        tracing::error!(error = %e, "could not register the console client");
    }
    // Another instance, or `gatehouse rotate-keys`, may rotate the keys: look every second,
    // well within PUBLISH_AHEAD, so a new key is known here before it signs anywhere.
    let looking = Arc::clone(&provider);
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(KEY_LOOK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            match looking.reload_keys().await {
                // Said once per outage, not every second.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "could not read the signing keys; trying every second");
                }
                Err(_) => {}
                Ok(()) => failing = false,
            }
        }
    });
    // Sessions, codes, refresh tokens and sign-in counters that can no longer matter go, and
    // audit events past their retention.
    let purging = Arc::clone(&provider);
    let (audit, retention) = (Arc::clone(&registry.audit), time::Duration::days(config.audit_retention_days.into()));
    let purge_clock = Arc::clone(&clock);
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(PURGE);
        loop {
            tick.tick().await;
            if let Err(e) = purging.purge_expired().await {
                tracing::warn!(error = %e, "could not purge expired grants");
            }
            if let Err(e) = audit.purge_events(purge_clock.now() - retention).await {
                tracing::warn!(error = %e, "could not purge old audit events");
            }
        }
    });
    // What could still fail here is not worth refusing the start for (the credentials of a
    // first start are shown only once the server runs).
    let metrics =
        metrics_listener.and_then(|(listener, handle)| match metrics::serve(listener, handle, Arc::clone(&store)) {
            Ok((addr, server)) => {
                let handle = server.handle();
                actix_web::rt::spawn(server);
                Some((addr, handle))
            }
            Err(e) => {
                tracing::error!(error = %e, "could not serve the metrics");
                None
            }
        });
    let recording = metrics.is_some();
    let trusted_proxies = config.trusted_proxies.clone().into();
    let passwords = passwords::PasswordGate::default();
    let state = AppState { provider, registry, clock, trusted_proxies, passwords, dummy_hash };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap(actix_web::middleware::from_fn(oidc::cors::cors))
            .wrap(actix_web::middleware::from_fn(admin::dialect::dialect))
            .wrap(actix_web::middleware::from_fn(deadline))
            // It sees the answer the client gets, the deadline's 408 included.
            .wrap(Condition::new(recording, actix_web::middleware::from_fn(metrics::record_http)))
            // Outermost: a request id, its span and its access line, for whatever answers below.
            .wrap(actix_web::middleware::from_fn(requests::requests))
            .configure(health::routes)
            .configure(oidc::routes)
            .configure(console::routes)
            .configure(admin::routes)
    })
    // A request's head must arrive within 5 s (actix-web's default, said here), and a stop
    // waits at most 5 s for requests in flight.
    .client_request_timeout(std::time::Duration::from_secs(5))
    .shutdown_timeout(5)
    .listen(listener)
    .map_err(|e| StartError::Listen(config.listen.clone(), e))?
    .run();
    let (metrics_addr, metrics) = metrics.unzip();
    Ok(Running { addr, issuer, first_start, server, metrics_addr, metrics })
}
