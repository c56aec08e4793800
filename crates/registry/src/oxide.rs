//! Our registry as an [oxide-auth] [`Registrar`] (feature `oxide-auth`), so that servers
//! built on oxide-auth's endpoints can admit exactly the clients Gatehouse admits.
//!
//! Every call reads the store: a client disabled, a redirect URI removed or a secret
//! deleted takes effect on the next request, as it does in Gatehouse itself.
//!
//! [oxide-auth]: https://docs.rs/oxide-auth/0.6

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use oxide_auth::primitives::registrar::{
    BoundClient, ClientUrl, ExactUrl, PreGrant, RegisteredUrl, Registrar, RegistrarError,
};
use oxide_auth::primitives::scope::Scope;
use time::OffsetDateTime;
use tokio::runtime::{Handle, RuntimeFlavor};
use url::Url;
use uuid::Uuid;

use crate::client::Client;
use crate::secret::{self, ClientSecret, SecretValue};
use crate::store::ClientStore;
use crate::uri::redirect_uri_matches;

/// The oxide-auth this adapter is built against, for callers that do not depend on it.
pub use oxide_auth;

/// The scopes an interactive client may be granted (`offline_access` only when the client
/// allows offline access).
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "offline_access", "ocsapi"];

/// What a client is granted when it asks for no scope.
pub const DEFAULT_SCOPE: &str = "openid";

/// A [`Registrar`] over a Gatehouse [`ClientStore`].
///
/// * `bound_redirect`: the client must exist, be enabled and be interactive (not
///   `ClientCredential`). A presented redirect URI must equal a registered one exactly, except
///   that a registered `http` loopback IP literal matches on any port (RFC 8252 §7.3). With
///   none presented, the client's only registered URI is used; with several, it is refused.
/// * `negotiate`: the requested scope intersected with [`SCOPES`] (without `offline_access`
///   unless the client allows it); [`DEFAULT_SCOPE`] when none is asked for; refused when
///   nothing of what was asked for may be granted.
/// * `check`: confidential clients (kinds with secrets) must present one of their live
///   secrets, verified with [`secret::verify`] at the current UTC time; public
///   (`AuthorizationCode`) clients must present none.
///
/// Unknown, disabled or mismatched clients are all [`RegistrarError::Unspecified`], so
/// that they cannot be told apart; a failing store is [`RegistrarError::PrimitiveError`].
///
/// # Blocking
///
/// oxide-auth calls its registrar synchronously, but our stores are async. Each call runs
/// the store's future to completion on `handle`'s runtime, in the way that is sound where
/// the call is made:
///
/// * outside any runtime (a plain thread): `handle.block_on` on this thread;
/// * on a worker of a **multi-thread** runtime (an async handler calling an oxide-auth
///   endpoint): inside [`tokio::task::block_in_place`], which hands this worker's other
///   tasks to another worker first, so blocking stalls neither them nor the runtime;
///   `block_on` alone would panic there ("cannot start a runtime from within a runtime");
/// * on a **current-thread** runtime, where `block_in_place` panics: on a scoped helper
///   thread, which this thread waits for. This thread's runtime is stalled meanwhile, so
///   `handle` must be able to finish the store's future without it: our stores need only
///   the runtime's blocking pool, which has its own threads, but prefer a multi-thread
///   runtime.
pub struct OxideRegistrar<S: ?Sized> {
    store: Arc<S>,
    handle: Handle,
}

impl<S: ?Sized> fmt::Debug for OxideRegistrar<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OxideRegistrar").finish_non_exhaustive()
    }
}

impl<S: ?Sized> Clone for OxideRegistrar<S> {
    fn clone(&self) -> Self {
        Self { store: Arc::clone(&self.store), handle: self.handle.clone() }
    }
}

impl<S: ClientStore + ?Sized> OxideRegistrar<S> {
    /// A registrar reading `store`, whose futures run on `handle`'s runtime.
    pub fn new(store: Arc<S>, handle: Handle) -> Self {
        Self { store, handle }
    }

    /// Runs a store future to completion from synchronous code (see "Blocking" above).
    fn block_on<T: Send>(&self, fut: impl Future<Output = T> + Send) -> T {
        match Handle::try_current().map(|current| current.runtime_flavor()) {
            Err(_) => self.handle.block_on(fut),
            Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| self.handle.block_on(fut)),
            Ok(_) => std::thread::scope(|scope| {
                scope
                    .spawn(|| self.handle.block_on(fut))
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }),
        }
    }

    /// The enabled client with this id and its secrets; anything else is `Unspecified`.
    fn enabled_client(&self, client_id: &str) -> Result<(Client, Vec<ClientSecret>), RegistrarError> {
        let Ok(id) = Uuid::parse_str(client_id) else {
            return Err(RegistrarError::Unspecified);
        };
        match self.block_on(self.store.find_client(id)) {
            Ok(Some((client, secrets))) if client.enabled => Ok((client, secrets)),
            Ok(_) => Err(RegistrarError::Unspecified),
            Err(_) => Err(RegistrarError::PrimitiveError),
        }
    }

    /// The enabled client with this id, if it sends users through the authorize endpoint.
    fn interactive_client(&self, client_id: &str) -> Result<Client, RegistrarError> {
        let (client, _) = self.enabled_client(client_id)?;
        if !client.kind.is_interactive() {
            return Err(RegistrarError::Unspecified);
        }
        Ok(client)
    }
}

/// Whether a URI bound earlier is still registered. oxide-auth hands it back to
/// `negotiate` parsed (normalised by `url`), so a registered URI also counts in its
/// normalised form; `bound_redirect` already held the client to the exact string.
fn still_registered(client: &Client, bound: &RegisteredUrl) -> bool {
    let bound = bound.as_str();
    client
        .redirect_uris
        .iter()
        .any(|r| redirect_uri_matches(r, bound) || Url::parse(r).is_ok_and(|u| redirect_uri_matches(u.as_str(), bound)))
}

impl<S: ClientStore + ?Sized> Registrar for OxideRegistrar<S> {
    fn bound_redirect<'a>(&self, bound: ClientUrl<'a>) -> Result<BoundClient<'a>, RegistrarError> {
        let client = self.interactive_client(&bound.client_id)?;
        let chosen = match bound.redirect_uri {
            Some(presented) => {
                if !client.redirect_uris.iter().any(|r| redirect_uri_matches(r, presented.as_str())) {
                    return Err(RegistrarError::Unspecified);
                }
                // The presented URI, port included: that is where the loopback client listens.
                presented.into_owned()
            }
            None => match client.redirect_uris.as_slice() {
                [only] => ExactUrl::new(only.clone()).map_err(|_| RegistrarError::PrimitiveError)?,
                _ => return Err(RegistrarError::Unspecified),
            },
        };
        Ok(BoundClient { client_id: bound.client_id, redirect_uri: Cow::Owned(RegisteredUrl::Exact(chosen)) })
    }

    fn negotiate(&self, bound: BoundClient, scope: Option<Scope>) -> Result<PreGrant, RegistrarError> {
        let client = self.interactive_client(&bound.client_id)?;
        if !still_registered(&client, &bound.redirect_uri) {
            return Err(RegistrarError::Unspecified);
        }
        let requested: Vec<&str> = scope.as_ref().map(|s| s.iter().collect()).unwrap_or_default();
        let granted: Vec<&str> = if requested.is_empty() {
            vec![DEFAULT_SCOPE]
        } else {
            let may = |s: &&str| SCOPES.contains(s) && (*s != "offline_access" || client.allow_offline_access);
            requested.into_iter().filter(may).collect()
        };
        if granted.is_empty() {
            return Err(RegistrarError::Unspecified);
        }
        let scope = granted.join(" ").parse().map_err(|_| RegistrarError::PrimitiveError)?;
        Ok(PreGrant { client_id: bound.client_id.into_owned(), redirect_uri: bound.redirect_uri.into_owned(), scope })
    }

    fn check(&self, client_id: &str, passphrase: Option<&[u8]>) -> Result<(), RegistrarError> {
        let (client, secrets) = self.enabled_client(client_id)?;
        match (client.kind.has_secrets(), passphrase) {
            (false, None) => Ok(()),
            (true, Some(presented)) => {
                let presented = std::str::from_utf8(presented).map_err(|_| RegistrarError::Unspecified)?;
                if secret::verify(&secrets, &SecretValue::new(presented), OffsetDateTime::now_utc()) {
                    Ok(())
                } else {
                    Err(RegistrarError::Unspecified)
                }
            }
            // A public client presenting a secret, or a confidential one presenting none.
            _ => Err(RegistrarError::Unspecified),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientChanges, ClientKind};
    use crate::secret::{Expiration, NewSecret};
    use crate::store::memory::MemoryStore;
    use crate::store::{ClientRef, ClientStore, TenantStore};
    use crate::tenant::{Tenant, TenantSeed};

    const CB: &str = "https://app.example.com/cb";

    struct Fixture {
        registrar: OxideRegistrar<MemoryStore>,
        store: Arc<MemoryStore>,
        tenant: Uuid,
    }

    async fn fixture() -> Fixture {
        let store = Arc::new(MemoryStore::new());
        let tenant = Uuid::new_v4();
        let now = OffsetDateTime::now_utc();
        let seed = TenantSeed {
            tenant: Tenant { id: tenant, name: "t".into(), created: now },
            users: vec![],
            clients: vec![],
        };
        store.create_tenant(seed).await.expect("tenant");
        Fixture { registrar: OxideRegistrar::new(Arc::clone(&store), Handle::current()), store, tenant }
    }

    impl Fixture {
        /// A new client; kinds with secrets get `secret`, expiring at `expiration`.
        async fn client(&self, kind: ClientKind, uris: &[&str], secret: (&str, Expiration)) -> Uuid {
            let now = OffsetDateTime::now_utc();
            let changes = ClientChanges {
                name: Some("c".into()),
                redirect_uris: kind.is_interactive().then(|| uris.iter().map(|u| u.to_string()).collect()),
                ..Default::default()
            };
            let client = Client::create(self.tenant, kind, changes, now).expect("valid client");
            let secret = kind.has_secrets().then(|| NewSecret {
                description: String::new(),
                expiration: secret.1,
                hash: SecretValue::new(secret.0).hash(),
                created: now,
            });
            let id = client.id;
            self.store.create_client(client, secret, None).await.expect("create");
            id
        }

        async fn change(&self, id: Uuid, kind: ClientKind, changes: ClientChanges) {
            let at = ClientRef { tenant_id: self.tenant, kind, id };
            self.store.update_client(at, changes, None).await.expect("update");
        }

        fn bind(&self, id: Uuid, uri: Option<&str>) -> Result<String, RegistrarError> {
            let redirect_uri = uri.map(|u| Cow::Owned(u.parse::<ExactUrl>().expect("url")));
            let bound = self.registrar.bound_redirect(ClientUrl { client_id: id.to_string().into(), redirect_uri })?;
            Ok(bound.redirect_uri.as_str().to_owned())
        }

        fn negotiate(&self, id: Uuid, scope: Option<&str>) -> Result<Vec<String>, RegistrarError> {
            let bound = BoundClient {
                client_id: id.to_string().into(),
                redirect_uri: Cow::Owned(RegisteredUrl::Exact(CB.parse().expect("url"))),
            };
            let scope = scope.map(|s| s.parse().expect("scope"));
            let grant = self.registrar.negotiate(bound, scope)?;
            let mut scopes: Vec<String> = grant.scope.iter().map(str::to_owned).collect();
            scopes.sort();
            Ok(scopes)
        }
    }

    const NO_SECRET: (&str, Expiration) = ("", None);

    #[tokio::test(flavor = "multi_thread")]
    async fn unknown_and_disabled_clients_are_refused() {
        let f = fixture().await;
        let unknown = Uuid::new_v4();
        assert!(matches!(f.bind(unknown, None), Err(RegistrarError::Unspecified)));
        assert!(matches!(f.registrar.check(&unknown.to_string(), None), Err(RegistrarError::Unspecified)));
        assert!(matches!(f.registrar.check("not-a-uuid", None), Err(RegistrarError::Unspecified)));

        let id = f.client(ClientKind::AuthorizationCode, &[CB], NO_SECRET).await;
        assert_eq!(f.bind(id, None).expect("enabled"), CB);
        assert!(f.registrar.check(&id.to_string(), None).is_ok());
        // Live: disabling takes effect on the next call.
        f.change(id, ClientKind::AuthorizationCode, ClientChanges { enabled: Some(false), ..Default::default() }).await;
        assert!(matches!(f.bind(id, None), Err(RegistrarError::Unspecified)));
        assert!(matches!(f.negotiate(id, None), Err(RegistrarError::Unspecified)));
        assert!(matches!(f.registrar.check(&id.to_string(), None), Err(RegistrarError::Unspecified)));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn redirect_uris_match_exactly() {
        let f = fixture().await;
        let two = f.client(ClientKind::Hybrid, &[CB, "https://app.example.com/other"], ("s", None)).await;
        assert_eq!(f.bind(two, Some(CB)).expect("exact"), CB);
        for wrong in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://APP.example.com/cb",
            "https://app.example.com:443/cb",
            "https://evil.example.com/cb",
        ] {
            assert!(matches!(f.bind(two, Some(wrong)), Err(RegistrarError::Unspecified)), "{wrong}");
        }
        // None presented: only a client with exactly one registered URI gets it.
        assert!(matches!(f.bind(two, None), Err(RegistrarError::Unspecified)));
        let one = f.client(ClientKind::AuthorizationCode, &[CB], NO_SECRET).await;
        assert_eq!(f.bind(one, None).expect("only one"), CB);
        // Machine clients never come through the authorize endpoint.
        let m2m = f.client(ClientKind::ClientCredential, &[], ("s", None)).await;
        assert!(matches!(f.bind(m2m, None), Err(RegistrarError::Unspecified)));
        assert!(matches!(f.negotiate(m2m, None), Err(RegistrarError::Unspecified)));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn loopback_ip_literals_match_any_port() {
        let f = fixture().await;
        let uris = ["http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost/cb"];
        let id = f.client(ClientKind::AuthorizationCode, &uris, NO_SECRET).await;
        // The presented URI is bound, port included: that is where the app listens.
        assert_eq!(f.bind(id, Some("http://127.0.0.1:51234/cb")).expect("any port"), "http://127.0.0.1:51234/cb");
        assert!(f.bind(id, Some("http://[::1]:9/cb")).is_ok());
        assert!(f.bind(id, Some("http://localhost/cb")).is_ok());
        for wrong in [
            "http://127.0.0.1:5/other",
            "http://127.0.0.2:5/cb",
            "https://127.0.0.1:5/cb",
            "http://localhost:5/cb", // names are not IP literals
        ] {
            assert!(matches!(f.bind(id, Some(wrong)), Err(RegistrarError::Unspecified)), "{wrong}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn public_clients_present_no_secret() {
        let f = fixture().await;
        let id = f.client(ClientKind::AuthorizationCode, &[CB], NO_SECRET).await.to_string();
        assert!(f.registrar.check(&id, None).is_ok());
        assert!(matches!(f.registrar.check(&id, Some(b"anything")), Err(RegistrarError::Unspecified)));
        assert!(matches!(f.registrar.check(&id, Some(b"")), Err(RegistrarError::Unspecified)));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn confidential_clients_need_a_live_secret() {
        let f = fixture().await;
        let later = Some(OffsetDateTime::now_utc() + time::Duration::days(1));
        let earlier = Some(OffsetDateTime::now_utc() - time::Duration::days(1));
        for kind in [ClientKind::Hybrid, ClientKind::ClientCredential] {
            let id = f.client(kind, &[CB], ("right", later)).await.to_string();
            assert!(f.registrar.check(&id, Some(b"right")).is_ok(), "{kind:?}");
            assert!(matches!(f.registrar.check(&id, Some(b"wrong")), Err(RegistrarError::Unspecified)));
            assert!(matches!(f.registrar.check(&id, Some(&[0xff, 0xfe])), Err(RegistrarError::Unspecified)));
            assert!(matches!(f.registrar.check(&id, None), Err(RegistrarError::Unspecified)));
            let expired = f.client(kind, &[CB], ("old", earlier)).await.to_string();
            assert!(matches!(f.registrar.check(&expired, Some(b"old")), Err(RegistrarError::Unspecified)));
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn scopes_are_negotiated_down_to_what_the_client_may_have() {
        let f = fixture().await;
        let id = f.client(ClientKind::Hybrid, &[CB], ("s", None)).await;
        assert_eq!(f.negotiate(id, None).expect("default"), ["openid"]);
        assert_eq!(f.negotiate(id, Some("")).expect("default"), ["openid"]);
        assert_eq!(
            f.negotiate(id, Some("openid profile email ocsapi admin")).expect("some"),
            ["email", "ocsapi", "openid", "profile"]
        );
        // offline_access only when the client allows it, read live.
        assert_eq!(f.negotiate(id, Some("openid offline_access")).expect("some"), ["openid"]);
        assert!(matches!(f.negotiate(id, Some("offline_access admin")), Err(RegistrarError::Unspecified)));
        let allow = ClientChanges { allow_offline_access: Some(true), ..Default::default() };
        f.change(id, ClientKind::Hybrid, allow).await;
        assert_eq!(f.negotiate(id, Some("openid offline_access")).expect("some"), ["offline_access", "openid"]);

        // The grant keeps the bound redirect URI; one no longer registered is refused.
        let bound = BoundClient {
            client_id: id.to_string().into(),
            redirect_uri: Cow::Owned(RegisteredUrl::Semantic(Url::parse(CB).expect("url"))),
        };
        let grant = f.registrar.negotiate(bound, None).expect("semantic form of a registered URI");
        assert_eq!((grant.client_id, grant.redirect_uri.as_str()), (id.to_string(), CB));
        let gone = BoundClient {
            client_id: id.to_string().into(),
            redirect_uri: Cow::Owned(RegisteredUrl::Exact("https://app.example.com/gone".parse().expect("url"))),
        };
        assert!(matches!(f.registrar.negotiate(gone, None), Err(RegistrarError::Unspecified)));
    }

    /// The registrar may be called from a runtime worker, a blocking-pool thread, a plain
    /// thread and a current-thread runtime, without panicking or deadlocking.
    #[test]
    fn blocks_correctly_wherever_it_is_called() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
        let (f, id) = runtime.block_on(async {
            let f = fixture().await;
            let id = f.client(ClientKind::AuthorizationCode, &[CB], NO_SECRET).await.to_string();
            (f, id)
        });
        let registrar = f.registrar.clone();
        // Outside any runtime.
        assert!(registrar.check(&id, None).is_ok());
        // On a worker of the multi-thread runtime, and on its blocking pool.
        let (r, i) = (registrar.clone(), id.clone());
        assert!(runtime
            .block_on(async move { tokio::spawn(async move { r.check(&i, None) }).await })
            .expect("task")
            .is_ok());
        let (r, i) = (registrar.clone(), id.clone());
        assert!(runtime.block_on(runtime.spawn_blocking(move || r.check(&i, None))).expect("task").is_ok());
        // On a current-thread runtime.
        let current = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        assert!(current.block_on(async { registrar.check(&id, None) }).is_ok());
    }
}
