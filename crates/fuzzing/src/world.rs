//! One tenant on an in-memory store and a fixed clock, with a client of each kind, a user
//! with a session, and the provider over them: built once per process, as building a
//! provider costs a key pair. Ids and the secret are fixed, so that seeds can name them.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use gatehouse_provider::clock::FixedClock;
use gatehouse_provider::handles::key_of;
use gatehouse_provider::{KeyRing, Provider, Settings, Stores};
use gatehouse_registry::grant::{Session, WithUser};
use gatehouse_registry::store::memory::MemoryStore;
use gatehouse_registry::store::{GrantStore, TenantStore};
use gatehouse_registry::{
    Client, ClientChanges, ClientKind, NewSecret, SecretValue, Tenant, TenantSeed, User, UserChanges,
    TENANT_ADMINISTRATOR,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::{uuid, Uuid};

pub const NOW: OffsetDateTime = datetime!(2026-11-30 12:00 UTC);
pub const ISSUER: &str = "https://id.example.com/identity";
pub const TENANT: Uuid = uuid!("11111111-1111-4111-8111-111111111111");
/// A hybrid client (secret, offline access, tokens via the browser).
pub const HYBRID: Uuid = uuid!("22222222-2222-4222-8222-222222222222");
/// An authorization-code client: public, PKCE, offline access.
pub const PUBLIC: Uuid = uuid!("33333333-3333-4333-8333-333333333333");
/// A client-credentials client holding Tenant Administrator.
pub const MACHINE: Uuid = uuid!("44444444-4444-4444-8444-444444444444");
pub const USER: Uuid = uuid!("55555555-5555-4555-8555-555555555555");
/// A device code client (RFC 8628): public, offline access.
pub const DEVICE: Uuid = uuid!("66666666-6666-4666-8666-666666666666");
/// The secret of both confidential clients.
pub const SECRET: &str = "fuzz-secret";
pub const REDIRECT: &str = "https://app.example.com/cb";
pub const LOOPBACK: &str = "http://127.0.0.1/cb";
pub const POST_LOGOUT: &str = "https://app.example.com/bye";
/// The public id of the user's browser session.
pub const SID: &str = "fuzz-sid";

pub struct World {
    runtime: tokio::runtime::Runtime,
    pub store: Arc<MemoryStore>,
    pub provider: Provider,
    /// The provider's keys, loaded a second time from the store, to sign what the fuzzer
    /// writes.
    pub keys: KeyRing,
    pub session: WithUser<Session>,
}

/// The world of this process.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(World::new)
}

impl World {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a tokio runtime");
        let store = Arc::new(MemoryStore::new());
        let (provider, keys, session) = runtime.block_on(async {
            store.create_tenant(seed()).await.expect("the fuzz tenant");
            let clock = Arc::new(FixedClock::at(NOW));
            let provider =
                Provider::new(Stores::of(store.clone()), clock, Settings::new(ISSUER)).await.expect("the provider");
            let keys = KeyRing::load(store.as_ref(), NOW, Duration::hours(1)).await.expect("the keys");
            // As `Provider::start_session` makes one, but with a `sid` that seeds can name.
            let session = Session {
                handle: key_of("fuzz-session"),
                sid: SID.into(),
                tenant_id: TENANT,
                user_id: USER,
                auth_time: NOW,
                expires: NOW + Duration::hours(8),
            };
            store.create_session(session.clone(), None).await.expect("a session");
            // As the server finds it behind the cookie: with its user.
            let session = store.find_session(&session.handle, NOW).await.expect("read").expect("the session");
            (provider, keys, session)
        });
        Self { runtime, store, provider, keys, session }
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

pub fn secret() -> NewSecret {
    NewSecret { description: String::new(), expiration: None, hash: SecretValue::new(SECRET).hash(), created: NOW }
}

pub fn user() -> User {
    let changes = UserChanges {
        id: Some(USER),
        user_name: Some("alice".into()),
        email: Some("alice@example.com".into()),
        given_name: Some("Alice".into()),
        password_hash: Some("not-a-hash".into()),
        ..Default::default()
    };
    User::create(TENANT, changes, NOW).expect("the fuzz user")
}

pub fn clients() -> Vec<(Client, Option<NewSecret>)> {
    let browser = |id, name: &str| ClientChanges {
        id: Some(id),
        name: Some(name.into()),
        redirect_uris: Some(vec![REDIRECT.into(), LOOPBACK.into()]),
        post_logout_redirect_uris: Some(vec![POST_LOGOUT.into()]),
        allow_offline_access: Some(true),
        ..Default::default()
    };
    let hybrid = ClientChanges { allow_access_tokens_via_browser: Some(true), ..browser(HYBRID, "hybrid") };
    let machine = ClientChanges {
        id: Some(MACHINE),
        name: Some("machine".into()),
        role_ids: Some(vec![TENANT_ADMINISTRATOR]),
        ..Default::default()
    };
    let device = ClientChanges {
        id: Some(DEVICE),
        name: Some("device".into()),
        allow_offline_access: Some(true),
        ..Default::default()
    };
    let client = |kind, changes| Client::create(TENANT, kind, changes, NOW).expect("a fuzz client");
    vec![
        (client(ClientKind::Hybrid, hybrid), Some(secret())),
        (client(ClientKind::AuthorizationCode, browser(PUBLIC, "public")), None),
        (client(ClientKind::ClientCredential, machine), Some(secret())),
        (client(ClientKind::DeviceCode, device), None),
    ]
}

pub fn seed() -> TenantSeed {
    TenantSeed {
        tenant: Tenant { id: TENANT, name: "fuzz".into(), created: NOW },
        users: vec![user()],
        clients: clients(),
    }
}
