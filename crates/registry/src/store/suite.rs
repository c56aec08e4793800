//! The behaviour every store must show. Each backend runs it with [`store_suite!`]:
//!
//! ```ignore
//! gatehouse_registry::store_suite!((MyStore::new(), ()));
//! ```
//!
//! The expression yields the store and a guard that lives as long as the test (a temporary
//! directory, a database schema). Build with the `test-suite` feature from outside.

use futures_util::future::join_all;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{ClientRef, ListQuery, SecretChanges, Store};
use crate::client::{Client, ClientChanges, ClientKind, IdTokenSigningAlg};
use crate::error::RegistryError;
use crate::role::{Role, RoleChanges, TENANT_ADMINISTRATOR, TENANT_MEMBER};
use crate::secret::{NewSecret, SecretValue};
use crate::tenant::{SigningKeyRecord, Tenant, TenantSeed};
use crate::user::{User, UserChanges};

mod administrators;
mod audit;
mod concurrent;
mod device;
mod grants;
mod snapshot;
pub use administrators::*;
pub use audit::*;
pub use concurrent::*;
pub use device::*;
pub use grants::*;
use grants::{key, refresh_token};
pub use snapshot::*;

/// Generates one `#[tokio::test]` per case of the suite for the store `$make` yields.
#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        $crate::store_suite!(@cases $make;
            tenants_are_created_once_and_atomically,
            the_first_tenant_is_created_once_under_concurrency,
            the_first_signing_key_is_kept_once_under_concurrency,
            attempts_are_counted_once_each_under_concurrency_and_windows_restart,
            the_grace_window_holds_for_a_rotation_late_in_a_second,
            clients_round_trip_and_ids_are_unique,
            clients_are_reached_only_through_their_tenant_and_kind,
            lists_page_in_creation_order_and_filter,
            updates_apply_all_or_nothing,
            the_id_token_algorithm_round_trips,
            deletes_take_secrets_along,
            secrets_are_limited_numbered_and_changeable,
            role_references_are_checked_and_cascade,
            users_have_unique_names_per_tenant,
            users_keep_their_contact_details,
            the_last_administrator_cannot_be_removed,
            administrators_removing_each_other_at_once_leave_one,
            signing_keys_rotate_and_prune,
            cors_origins_are_answered_live,
            sessions_expire_and_end,
            codes_are_spent_once,
            grants_answer_their_user_as_stored_now,
            refresh_tokens_rotate_retry_and_detect_reuse,
            codes_are_spent_once_under_concurrency,
            refresh_tokens_rotate_once_under_concurrency,
            secrets_stay_within_the_limit_under_concurrency,
            ids_and_user_names_are_taken_once_under_concurrency,
            server_secrets_are_kept_once,
            expired_grants_are_purged,
            a_users_grants_are_revoked_together,
            revocations_are_forgotten_once_nothing_needs_them,
            device_codes_are_decided_once_and_redeemed_once,
            device_codes_expire_and_are_purged,
            device_codes_are_redeemed_once_under_concurrency,
            audit_events_are_written_with_their_change_and_only_then,
            audit_events_list_newest_first_filtered_and_paged,
            audit_events_are_purged_by_age,
        );
        $crate::store_suite!(@pairs $make;
            a_snapshot_copies_everything_into_an_empty_store,
            an_import_into_a_store_that_is_not_empty_is_refused,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make;
                $crate::store::suite::$case(&store).await;
            }
        )*
    };
    // Cases that need a second, fresh store of the same backend: `$make` once more.
    (@pairs $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make;
                let (fresh, _fresh_guard) = $make;
                $crate::store::suite::$case(&store, &fresh).await;
            }
        )*
    };
}

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

async fn tenant<S: Store>(store: &S) -> Uuid {
    let id = Uuid::new_v4();
    store
        .create_tenant(TenantSeed {
            tenant: Tenant { id, name: "t".into(), created: NOW },
            users: vec![],
            clients: vec![],
        })
        .await
        .expect("tenant");
    id
}

fn hybrid(tenant_id: Uuid, name: &str) -> Client {
    let changes = ClientChanges {
        name: Some(name.into()),
        redirect_uris: Some(vec!["https://app.example.com/cb".into()]),
        tags: Some(vec![format!("tag-{name}")]),
        ..Default::default()
    };
    Client::create(tenant_id, ClientKind::Hybrid, changes, NOW).expect("valid client")
}

fn new_secret(description: &str) -> NewSecret {
    NewSecret {
        description: description.into(),
        expiration: Some(NOW + Duration::days(365)),
        hash: SecretValue::new(description).hash(),
        created: NOW,
    }
}

fn at(c: &Client) -> ClientRef {
    ClientRef { tenant_id: c.tenant_id, kind: c.kind, id: c.id }
}

/// Several first starts at once, as several instances on one empty store: one creates its
/// tenant, the others find it and create nothing.
pub async fn the_first_tenant_is_created_once_under_concurrency<S: Store>(store: &S) {
    let seed = || {
        let id = Uuid::new_v4();
        TenantSeed {
            tenant: Tenant { id, name: "first".into(), created: NOW },
            users: vec![user(id, "admin")],
            clients: vec![],
        }
    };
    let created = join_all((0..8).map(|_| store.create_first_tenant(seed()))).await;
    let created: Vec<bool> = created.into_iter().map(|r| r.expect("first start")).collect();
    assert_eq!(created.iter().filter(|c| **c).count(), 1, "{created:?}");
    assert_eq!(store.list_tenants().await.expect("list").len(), 1);
    assert!(!store.create_first_tenant(seed()).await.expect("later start"));
}

/// Several instances generating their first key of an algorithm at once keep one.
pub async fn the_first_signing_key_is_kept_once_under_concurrency<S: Store>(store: &S) {
    let key = |kid: &str| SigningKeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        private_der: vec![1, 2, 3],
        created: NOW,
        retired: None,
    };
    let kids: Vec<String> = (0..8).map(|i| format!("k{i}")).collect();
    let stored = join_all(kids.iter().map(|k| store.add_first_signing_key(key(k)))).await;
    let stored: Vec<bool> = stored.into_iter().map(|r| r.expect("add")).collect();
    assert_eq!(stored.iter().filter(|s| **s).count(), 1, "{stored:?}");
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.iter().filter(|k| k.alg == "ES256" && k.retired.is_none()).count(), 1);
    assert!(!store.add_first_signing_key(key("later")).await.expect("later"));
}

/// The sign-in throttle's counters: every attempt of many at once gets its own count; a
/// window restarts; clearing, forgiving and purging do what they say.
pub async fn attempts_are_counted_once_each_under_concurrency_and_windows_restart<S: Store>(store: &S) {
    let window = Duration::minutes(15);
    let keys = vec!["user/t/alice".to_owned(), "addr/192.0.2.1".to_owned()];
    let counted = join_all((0..10).map(|_| store.count_attempt(&keys, NOW, window))).await;
    let mut user_counts: Vec<u32> = counted.iter().map(|c| c.as_ref().expect("count")[0]).collect();
    user_counts.sort_unstable();
    assert_eq!(user_counts, (1..=10).collect::<Vec<u32>>(), "each attempt sees its own count");
    let later = NOW + Duration::minutes(14);
    assert_eq!(store.count_attempt(&keys, later, window).await.expect("count"), vec![11, 11]);
    store.clear_attempts("user/t/alice").await.expect("clear");
    store.forgive_attempt("addr/192.0.2.1").await.expect("forgive");
    store.forgive_attempt("addr/unknown").await.expect("forgive unknown");
    assert_eq!(store.count_attempt(&keys, later, window).await.expect("count"), vec![1, 11]);
    // The address's window began at NOW: after it, counting starts again.
    let after = NOW + window;
    assert_eq!(store.count_attempt(&keys[1..], after, window).await.expect("count"), vec![1]);
    // Purging drops windows that began before the cut: the user's began at `later`.
    assert_eq!(store.purge_attempts(later).await.expect("purge"), 0);
    assert_eq!(store.purge_attempts(after + Duration::seconds(1)).await.expect("purge"), 2);
    assert_eq!(store.count_attempt(&keys[..1], after, window).await.expect("count"), vec![1]);
}

fn user(tenant_id: Uuid, name: &str) -> User {
    let changes = UserChanges {
        user_name: Some(name.into()),
        password_hash: Some("$argon2id$stub".into()),
        ..Default::default()
    };
    User::create(tenant_id, changes, NOW).expect("valid user")
}

pub async fn tenants_are_created_once_and_atomically<S: Store>(store: &S) {
    assert!(store.is_empty().await.expect("is_empty"));
    let id = tenant(store).await;
    assert!(!store.is_empty().await.expect("is_empty"));
    assert_eq!(store.get_tenant(id).await.expect("get").id, id);
    let roles = store.list_roles(id).await.expect("roles");
    assert!(roles.iter().any(|r| r.id == TENANT_ADMINISTRATOR && r.built_in));
    assert!(roles.iter().any(|r| r.id == TENANT_MEMBER && r.built_in));
    let again =
        TenantSeed { tenant: Tenant { id, name: "again".into(), created: NOW }, users: vec![], clients: vec![] };
    assert!(matches!(store.create_tenant(again).await, Err(RegistryError::Conflict(_))));
    assert!(matches!(store.get_tenant(Uuid::new_v4()).await, Err(RegistryError::NotFound("tenant"))));

    // A seed that fails part-way (two users with one name) leaves nothing behind.
    let other = Uuid::new_v4();
    let seed = TenantSeed {
        tenant: Tenant { id: other, name: "o".into(), created: NOW },
        users: vec![user(other, "admin"), user(other, "ADMIN")],
        clients: vec![(hybrid(other, "c"), Some(new_secret("s")))],
    };
    assert!(store.create_tenant(seed).await.is_err());
    assert!(matches!(store.get_tenant(other).await, Err(RegistryError::NotFound("tenant"))));
    assert_eq!(store.list_tenants().await.expect("list").len(), 1);
}

pub async fn clients_round_trip_and_ids_are_unique<S: Store>(store: &S) {
    let t = tenant(store).await;
    let mut client = hybrid(t, "a");
    client.post_logout_redirect_uris = vec!["https://app.example.com/bye".into()];
    let first = store.create_client(client.clone(), Some(new_secret("first")), None).await.expect("create");
    assert_eq!(first.as_ref().map(|s| s.id), Some(1));
    assert_eq!(store.get_client(at(&client)).await.expect("get"), client);
    let (found, secrets) = store.find_client(client.id).await.expect("find").expect("present");
    assert_eq!(found, client);
    assert_eq!(secrets.len(), 1);
    assert!(secrets[0].hash.matches(&SecretValue::new("first").hash()));

    let mut dup = hybrid(tenant(store).await, "b");
    dup.id = client.id;
    assert!(matches!(store.create_client(dup, None, None).await, Err(RegistryError::Conflict(_))));
    let nowhere = hybrid(Uuid::new_v4(), "c");
    assert!(matches!(store.create_client(nowhere, None, None).await, Err(RegistryError::NotFound("tenant"))));
    assert!(store.find_client(Uuid::new_v4()).await.expect("find").is_none());
}

pub async fn clients_are_reached_only_through_their_tenant_and_kind<S: Store>(store: &S) {
    let t = tenant(store).await;
    let client = hybrid(t, "a");
    store.create_client(client.clone(), None, None).await.expect("create");
    let other_kind = ClientRef { kind: ClientKind::AuthorizationCode, ..at(&client) };
    let other_tenant = ClientRef { tenant_id: tenant(store).await, ..at(&client) };
    for wrong in [other_kind, other_tenant] {
        assert!(matches!(store.get_client(wrong).await, Err(RegistryError::NotFound("client"))));
        assert!(matches!(store.delete_client(wrong, None).await, Err(RegistryError::NotFound("client"))));
        assert!(store.update_client(wrong, ClientChanges::default(), None).await.is_err());
        assert!(store.add_secret(wrong, new_secret("x"), None).await.is_err());
    }
    assert!(store.get_client(at(&client)).await.is_ok());
}

pub async fn lists_page_in_creation_order_and_filter<S: Store>(store: &S) {
    let t = tenant(store).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let c = hybrid(t, &format!("c{i}"));
        ids.push(c.id);
        store.create_client(c, None, None).await.expect("create");
    }
    let cc = Client::create(
        t,
        ClientKind::ClientCredential,
        ClientChanges { name: Some("m".into()), ..Default::default() },
        NOW,
    )
    .expect("valid");
    store.create_client(cc, None, None).await.expect("create cc");

    let page = store
        .list_clients(t, ClientKind::Hybrid, &ListQuery { skip: 2, count: 3, ..Default::default() })
        .await
        .expect("list");
    assert_eq!(page.total, 7);
    assert_eq!(page.items.iter().map(|c| c.id).collect::<Vec<_>>(), ids[2..5].to_vec());
    let by_id = ListQuery { ids: vec![ids[1], ids[6], Uuid::new_v4()], ..Default::default() };
    let page = store.list_clients(t, ClientKind::Hybrid, &by_id).await.expect("list");
    assert_eq!(page.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![ids[1], ids[6]]);
    let by_tag = ListQuery { tags: vec!["tag-c3".into(), "tag-c4".into()], ..Default::default() };
    let page = store.list_clients(t, ClientKind::Hybrid, &by_tag).await.expect("list");
    assert_eq!((page.total, page.items.len()), (2, 2));
    let by_name = ListQuery { name: Some("C3".into()), ..Default::default() };
    let page = store.list_clients(t, ClientKind::Hybrid, &by_name).await.expect("list");
    assert_eq!(page.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![ids[3]]);
    let wildcard = ListQuery { name: Some("%".into()), ..Default::default() };
    assert_eq!(store.list_clients(t, ClientKind::Hybrid, &wildcard).await.expect("list").total, 0);
    let cc_page = store.list_clients(t, ClientKind::ClientCredential, &ListQuery::default()).await.expect("list");
    assert_eq!(cc_page.total, 1);
    assert!(matches!(
        store.list_clients(Uuid::new_v4(), ClientKind::Hybrid, &ListQuery::default()).await,
        Err(RegistryError::NotFound("tenant"))
    ));
}

pub async fn updates_apply_all_or_nothing<S: Store>(store: &S) {
    let t = tenant(store).await;
    let client = hybrid(t, "a");
    store.create_client(client.clone(), None, None).await.expect("create");
    let updated = store
        .update_client(
            at(&client),
            ClientChanges { access_token_lifetime: Some(120), enabled: Some(false), ..Default::default() },
            None,
        )
        .await
        .expect("update");
    assert_eq!((updated.access_token_lifetime, updated.enabled, &updated.name), (120, false, &client.name));
    // A bad field anywhere in the change leaves the whole client as it was.
    let bad = ClientChanges {
        name: Some("renamed".into()),
        redirect_uris: Some(vec!["http://evil.example.com/cb".into()]),
        ..Default::default()
    };
    assert!(matches!(store.update_client(at(&client), bad, None).await, Err(RegistryError::Invalid(_))));
    assert_eq!(store.get_client(at(&client)).await.expect("get"), updated);
}

/// The ID token algorithm is stored, read by every path (get, find, list) and changed by a
/// partial update that names it; a client created without it has RS256.
pub async fn the_id_token_algorithm_round_trips<S: Store>(store: &S) {
    let t = tenant(store).await;
    let plain = hybrid(t, "plain");
    store.create_client(plain.clone(), None, None).await.expect("create");
    let es256 = |name: &str| ClientChanges {
        name: Some(name.into()),
        redirect_uris: Some(vec!["https://spa.example.com/cb".into()]),
        id_token_signing_algorithm: Some("ES256".into()),
        ..Default::default()
    };
    let browser = Client::create(t, ClientKind::AuthorizationCode, es256("browser"), NOW).expect("valid");
    store.create_client(browser.clone(), None, None).await.expect("create");
    assert_eq!(store.get_client(at(&plain)).await.expect("get").id_token_signing_alg, IdTokenSigningAlg::RS256);
    assert_eq!(store.get_client(at(&browser)).await.expect("get").id_token_signing_alg, IdTokenSigningAlg::ES256);
    let (found, _) = store.find_client(browser.id).await.expect("find").expect("present");
    assert_eq!(found.id_token_signing_alg, IdTokenSigningAlg::ES256);
    let listed = store.list_clients(t, ClientKind::AuthorizationCode, &ListQuery::default()).await.expect("list");
    assert_eq!(listed.items.iter().map(|c| c.id_token_signing_alg).collect::<Vec<_>>(), [IdTokenSigningAlg::ES256]);

    let to = |alg: &str| ClientChanges { id_token_signing_algorithm: Some(alg.into()), ..Default::default() };
    let switched = store.update_client(at(&plain), to("ES256"), None).await.expect("update");
    assert_eq!(switched.id_token_signing_alg, IdTokenSigningAlg::ES256);
    let renamed =
        store.update_client(at(&plain), ClientChanges { name: Some("renamed".into()), ..Default::default() }, None);
    assert_eq!(renamed.await.expect("update").id_token_signing_alg, IdTokenSigningAlg::ES256, "left as it is");
    assert!(matches!(store.update_client(at(&plain), to("es256"), None).await, Err(RegistryError::Invalid(_))));
    let back = store.update_client(at(&plain), to("RS256"), None).await.expect("update");
    assert_eq!(back.id_token_signing_alg, IdTokenSigningAlg::RS256);
    assert_eq!(store.get_client(at(&plain)).await.expect("get"), back);
}

pub async fn deletes_take_secrets_along<S: Store>(store: &S) {
    let t = tenant(store).await;
    let client = hybrid(t, "a");
    store.create_client(client.clone(), Some(new_secret("s")), None).await.expect("create");
    store.delete_client(at(&client), None).await.expect("delete");
    assert!(store.find_client(client.id).await.expect("find").is_none());
    assert!(matches!(store.list_secrets(at(&client)).await, Err(RegistryError::NotFound("client"))));
    // The id is free again.
    store.create_client(client.clone(), None, None).await.expect("re-create");
    assert!(store.list_secrets(at(&client)).await.expect("secrets").is_empty());
}

pub async fn secrets_are_limited_numbered_and_changeable<S: Store>(store: &S) {
    let t = tenant(store).await;
    let client = hybrid(t, "a");
    store.create_client(client.clone(), Some(new_secret("s1")), None).await.expect("create");
    for i in 2..=10 {
        let s = store.add_secret(at(&client), new_secret(&format!("s{i}")), None).await.expect("add");
        assert_eq!(s.id, i);
    }
    let eleventh = store.add_secret(at(&client), new_secret("s11"), None).await;
    // A client created without a secret numbers its first one 1.
    let bare = hybrid(t, "bare");
    store.create_client(bare.clone(), None, None).await.expect("create");
    assert_eq!(store.add_secret(at(&bare), new_secret("b1"), None).await.expect("add").id, 1);
    assert!(matches!(eleventh, Err(RegistryError::Invalid(ref i)) if i.field == "Secrets"));
    assert_eq!(store.list_secrets(at(&client)).await.expect("list").len(), 10);

    store.delete_secret(at(&client), 3, None).await.expect("delete");
    assert!(matches!(store.delete_secret(at(&client), 3, None).await, Err(RegistryError::NotFound("secret"))));
    // Ids are never reused, so a deleted secret's id never names another secret.
    assert_eq!(store.add_secret(at(&client), new_secret("s12"), None).await.expect("add").id, 11);

    let changed = store
        .update_secret(
            at(&client),
            2,
            SecretChanges { description: Some("renamed".into()), expiration: Some(None) },
            None,
        )
        .await
        .expect("update");
    assert_eq!((changed.description.as_str(), changed.expiration), ("renamed", None));
    let listed = store.list_secrets(at(&client)).await.expect("list");
    assert_eq!(listed.iter().find(|s| s.id == 2).map(|s| s.expiration), Some(None));
    assert!(matches!(
        store.update_secret(at(&client), 99, SecretChanges::default(), None).await,
        Err(RegistryError::NotFound("secret"))
    ));
}

pub async fn role_references_are_checked_and_cascade<S: Store>(store: &S) {
    let t = tenant(store).await;
    let custom = store
        .create_role(
            t,
            Role::custom(t, RoleChanges { name: Some("Readers".into()), ..Default::default() }).expect("role"),
            None,
        )
        .await
        .expect("create role");
    assert!(matches!(store.create_role(t, custom.clone(), None).await, Err(RegistryError::Conflict(_))));
    let unknown = Uuid::new_v4();
    let changes =
        ClientChanges { name: Some("m".into()), role_ids: Some(vec![custom.id, unknown]), ..Default::default() };
    let bad = Client::create(t, ClientKind::ClientCredential, changes, NOW).expect("valid shape");
    assert!(
        matches!(store.create_client(bad.clone(), None, None).await, Err(RegistryError::Invalid(ref i)) if i.field == "RoleIds" && i.rule.contains(&unknown.to_string()))
    );
    let good = Client { role_ids: vec![TENANT_MEMBER, custom.id], ..bad };
    store.create_client(good.clone(), None, None).await.expect("create");

    // A custom role changes in part and all or nothing; a built-in one not at all.
    let renamed = RoleChanges { name: Some("Auditors".into()), ..Default::default() };
    let renamed = store.update_role(t, custom.id, renamed, None).await.expect("update role");
    assert_eq!((renamed.name.as_str(), renamed.description.as_str()), ("Auditors", custom.description.as_str()));
    let bad = RoleChanges { description: Some("kept?".into()), name: Some(" ".into()), ..Default::default() };
    assert!(matches!(store.update_role(t, custom.id, bad, None).await, Err(RegistryError::Invalid(_))));
    assert_eq!(store.get_role(t, custom.id).await.expect("get"), renamed);
    let admin = RoleChanges { name: Some("Owner".into()), ..Default::default() };
    assert!(matches!(store.update_role(t, TENANT_ADMINISTRATOR, admin, None).await, Err(RegistryError::Invalid(_))));
    assert!(matches!(
        store.update_role(t, Uuid::new_v4(), RoleChanges::default(), None).await,
        Err(RegistryError::NotFound("role"))
    ));
    assert!(matches!(store.delete_role(t, TENANT_MEMBER, None).await, Err(RegistryError::Invalid(_))));
    store.delete_role(t, custom.id, None).await.expect("delete role");
    assert_eq!(store.get_client(at(&good)).await.expect("get").role_ids, vec![TENANT_MEMBER]);
    assert!(matches!(store.get_role(t, custom.id).await, Err(RegistryError::NotFound("role"))));
}

pub async fn users_have_unique_names_per_tenant<S: Store>(store: &S) {
    let t = tenant(store).await;
    let alice = store.create_user(user(t, "Alice"), None).await.expect("create");
    assert_eq!(alice.role_ids, vec![TENANT_MEMBER]);
    assert!(matches!(store.create_user(user(t, "alice"), None).await, Err(RegistryError::Conflict(_))));
    store.create_user(user(tenant(store).await, "alice"), None).await.expect("other tenant may");
    let found = store.find_user_by_name(t, "ALICE").await.expect("find").expect("present");
    assert_eq!(found.id, alice.id);
    let bob = store.create_user(user(t, "bob"), None).await.expect("create");
    let rename = UserChanges { user_name: Some("Alice".into()), ..Default::default() };
    assert!(matches!(store.update_user(t, bob.id, rename, None).await, Err(RegistryError::Conflict(_))));
    let admin = UserChanges { role_ids: Some(vec![TENANT_ADMINISTRATOR]), enabled: Some(false), ..Default::default() };
    let bob = store.update_user(t, bob.id, admin, None).await.expect("update");
    assert_eq!((bob.enabled, bob.role_ids.clone()), (false, vec![TENANT_MEMBER, TENANT_ADMINISTRATOR]));
    assert_eq!(store.get_user(t, bob.id).await.expect("get"), bob);
    assert_eq!(store.list_users(t, &ListQuery::default()).await.expect("list").total, 2);
    store.delete_user(t, bob.id, None).await.expect("delete");
    assert!(matches!(store.get_user(t, bob.id).await, Err(RegistryError::NotFound("user"))));
}

pub async fn users_keep_their_contact_details<S: Store>(store: &S) {
    let t = tenant(store).await;
    let changes = UserChanges {
        email: Some("carol@example.com".into()),
        given_name: Some("Carol".into()),
        surname: Some("Signer".into()),
        contact_given_name: Some("Caz".into()),
        contact_surname: Some("Contact".into()),
        password_hash: Some("$argon2id$stub".into()),
        ..Default::default()
    };
    let carol = store.create_user(User::create(t, changes, NOW).expect("valid"), None).await.expect("create");
    assert_eq!(carol.user_name, "carol@example.com", "the address is the user name by default");
    let stored = store.get_user(t, carol.id).await.expect("get");
    assert_eq!(stored, carol);
    assert_eq!(
        (stored.contact_given_name.as_str(), stored.contact_surname.as_str(), stored.email.as_str()),
        ("Caz", "Contact", "carol@example.com")
    );
    // A partial update changes what it names and keeps the rest.
    let rename = UserChanges { contact_surname: Some("Renamed".into()), ..Default::default() };
    let updated = store.update_user(t, carol.id, rename, None).await.expect("update");
    assert_eq!((updated.contact_given_name.as_str(), updated.contact_surname.as_str()), ("Caz", "Renamed"));
    assert_eq!((updated.given_name.as_str(), updated.surname.as_str()), ("Carol", "Signer"));
    let listed = store.list_users(t, &ListQuery { ids: vec![carol.id], ..Default::default() }).await.expect("list");
    assert_eq!(listed.items, vec![updated.clone()]);
    let found = store.find_user_by_name(t, "CAROL@example.com").await.expect("find").expect("present");
    assert_eq!(found, updated);
    // A rule broken in an update leaves the stored user as it was.
    let bad = UserChanges { contact_given_name: Some("x".repeat(257)), ..Default::default() };
    assert!(matches!(store.update_user(t, carol.id, bad, None).await, Err(RegistryError::Invalid(_))));
    assert_eq!(store.get_user(t, carol.id).await.expect("get"), updated);
}

pub async fn signing_keys_rotate_and_prune<S: Store>(store: &S) {
    let key = |kid: &str| SigningKeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        private_der: vec![1, 2, 3],
        created: NOW,
        retired: None,
    };
    store.rotate_signing_key(key("k1"), NOW, None).await.expect("first");
    store.rotate_signing_key(key("k2"), NOW + Duration::hours(1), None).await.expect("second");
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(
        keys.iter().map(|k| (k.kid.as_str(), k.retired)).collect::<Vec<_>>(),
        vec![("k1", Some(NOW + Duration::hours(1))), ("k2", None)]
    );
    assert_eq!(keys[0].private_der, vec![1, 2, 3]);
    store.prune_signing_keys(NOW + Duration::hours(2)).await.expect("prune");
    let keys = store.signing_keys().await.expect("keys");
    assert_eq!(keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), vec!["k2"]);
}

pub async fn cors_origins_are_answered_live<S: Store>(store: &S) {
    let t = tenant(store).await;
    let changes = ClientChanges {
        name: Some("spa".into()),
        redirect_uris: Some(vec!["https://spa.example.com/cb".into()]),
        allowed_cors_origins: Some(vec!["https://SPA.example.com".into()]),
        ..Default::default()
    };
    let spa = Client::create(t, ClientKind::AuthorizationCode, changes, NOW).expect("valid");
    store.create_client(spa.clone(), None, None).await.expect("create");
    assert!(store.cors_origin_allowed("https://spa.example.com").await.expect("cors"));
    assert!(!store.cors_origin_allowed("https://other.example.com").await.expect("cors"));
    store
        .update_client(at(&spa), ClientChanges { enabled: Some(false), ..Default::default() }, None)
        .await
        .expect("disable");
    assert!(!store.cors_origin_allowed("https://spa.example.com").await.expect("cors"));
}
