//! Suite cases of [`SnapshotStore`](crate::store::SnapshotStore): a store filled through the
//! ordinary methods is exported, imported into a fresh store and exported again, equal; an
//! import into a store that holds anything is refused and changes nothing. Each case takes
//! two stores of the backend (see `store_suite!`); [`a_snapshot_moves_between_backends`]
//! takes two of different backends.

use time::Duration;
use uuid::Uuid;

use super::{at, hybrid, key, new_secret, refresh_token, user, NOW};
use crate::client::{Client, ClientChanges, ClientKind};
use crate::device::{DeviceDecision, DevicePoll};
use crate::error::RegistryError;
use crate::grant::{AuthorizationCode, CodeUse, RefreshUse, Session};
use crate::role::{Role, RoleChanges, TENANT_MEMBER};
use crate::secret::SecretValue;
use crate::store::{SecretChanges, Snapshot, Store};
use crate::tenant::{SigningKeyRecord, Tenant, TenantSeed};
use crate::user::{User, UserChanges};

const HMAC: &str = "refresh-successor-hmac";
const SLIDING: Duration = Duration::days(15);
const GRACE: Duration = Duration::seconds(10);

/// What [`fill`] made, to check the copy behaves as the original.
#[derive(Debug)]
pub struct Filled {
    pub tenant_id: Uuid,
    pub hybrid: Client,
    pub rotated_client: Uuid,
}

fn signing_key(kid: &str) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        private_der: kid.as_bytes().to_vec(),
        created: NOW,
        retired: None,
    }
}

fn code(handle: &str, tenant_id: Uuid, user_id: Uuid) -> AuthorizationCode {
    AuthorizationCode {
        handle: key(handle),
        client_id: Uuid::new_v4(),
        tenant_id,
        user_id,
        redirect_uri: "https://app.example.com/cb".into(),
        scope: "openid".into(),
        nonce: Some(format!("nonce-{handle}")),
        code_challenge: None,
        sid: "sid-1".into(),
        auth_time: NOW,
        expires: NOW + Duration::minutes(5),
        family: Uuid::new_v4(),
    }
}

/// Fills a store through its ordinary methods with one of everything it can hold.
pub async fn fill<S: Store + ?Sized>(store: &S) -> Filled {
    let tenant_id = Uuid::new_v4();
    let mut seeded = hybrid(tenant_id, "seeded");
    seeded.allow_offline_access = true;
    store
        .create_tenant(TenantSeed {
            tenant: Tenant { id: tenant_id, name: "copied".into(), created: NOW },
            users: vec![user(tenant_id, "admin")],
            clients: vec![(seeded, Some(new_secret("seeded")))],
        })
        .await
        .expect("tenant");
    let custom = Role::custom(
        tenant_id,
        RoleChanges { name: Some("Readers".into()), description: Some("read only".into()), ..Default::default() },
    )
    .expect("role");
    // With its audit event: the trail travels with the data.
    let origin = crate::audit::Origin::new(Some("192.0.2.1".into()), Uuid::new_v4());
    let event = crate::audit::AuditEvent::new(
        Some(tenant_id),
        NOW,
        crate::audit::Actor::User(Uuid::new_v4()),
        crate::audit::AuditAction::RoleCreate,
        format!("Roles/{}", custom.id),
        &origin,
    )
    .with_detail("Readers");
    let custom = store.create_role(tenant_id, custom, Some(&event)).await.expect("custom role");

    // A client of each kind, with every field set that its kind has.
    let browser = ClientChanges {
        name: Some("browser".into()),
        redirect_uris: Some(vec!["https://spa.example.com/cb".into()]),
        post_logout_redirect_uris: Some(vec!["https://spa.example.com/".into()]),
        allowed_cors_origins: Some(vec!["https://spa.example.com".into()]),
        access_token_lifetime: Some(1800),
        client_uri: Some("https://spa.example.com".into()),
        logo_uri: Some("https://spa.example.com/logo.png".into()),
        tags: Some(vec!["spa".into(), "web".into()]),
        id_token_signing_algorithm: Some("ES256".into()),
        ..Default::default()
    };
    let browser = Client::create(tenant_id, ClientKind::AuthorizationCode, browser, NOW).expect("browser");
    store.create_client(browser, None, None).await.expect("browser client");
    let mut server_app = hybrid(tenant_id, "server app");
    server_app.allow_offline_access = true;
    server_app.enabled = false;
    store.create_client(server_app.clone(), Some(new_secret("h1")), None).await.expect("hybrid");
    let machine = ClientChanges {
        name: Some("machine".into()),
        role_ids: Some(vec![custom.id, TENANT_MEMBER]),
        tags: Some(vec!["m2m".into()]),
        ..Default::default()
    };
    let machine = Client::create(tenant_id, ClientKind::ClientCredential, machine, NOW).expect("machine");
    store.create_client(machine.clone(), Some(new_secret("m1")), None).await.expect("machine client");

    // Secrets 1, 2, 3, then 2 deleted: ids 1 and 3, and the next is 4.
    for s in ["h2", "h3"] {
        store.add_secret(at(&server_app), new_secret(s), None).await.expect("secret");
    }
    store.delete_secret(at(&server_app), 2, None).await.expect("delete secret");
    let changes = SecretChanges { description: Some("renamed".into()), expiration: Some(None) };
    store.update_secret(at(&server_app), 3, changes, None).await.expect("update secret");
    store.add_secret(at(&machine), new_secret("m2"), None).await.expect("secret");

    let changes = UserChanges {
        user_name: Some("carol".into()),
        email: Some("carol@example.com".into()),
        given_name: Some("Carol".into()),
        surname: Some("Signer".into()),
        contact_given_name: Some("Caz".into()),
        contact_surname: Some("Contact".into()),
        role_ids: Some(vec![custom.id]),
        enabled: Some(false),
        password_hash: Some("$argon2id$carol".into()),
        ..Default::default()
    };
    let carol = store.create_user(User::create(tenant_id, changes, NOW).expect("user"), None).await.expect("carol");

    store.add_first_signing_key(signing_key("k1")).await.expect("first key");
    store.rotate_signing_key(signing_key("k2"), NOW + Duration::hours(1), None).await.expect("rotation");
    store.server_secret(HMAC, vec![7; 32]).await.expect("server secret");

    let session = Session {
        handle: key("session"),
        sid: "sid-1".into(),
        tenant_id,
        user_id: carol.id,
        auth_time: NOW,
        expires: NOW + Duration::hours(8),
    };
    store.create_session(session, None).await.expect("session");
    store.save_code(code("used", tenant_id, carol.id)).await.expect("code");
    store.save_code(code("unused", tenant_id, carol.id)).await.expect("code");
    assert!(matches!(store.use_code(&key("used"), NOW).await.expect("use"), CodeUse::Fresh(_)));

    let first = refresh_token("r1", Duration::days(30), SLIDING);
    store.save_refresh(first.clone()).await.expect("refresh");
    let rotated = store.use_refresh(first.client_id, &key("r1"), key("r2"), NOW, SLIDING, GRACE, None).await;
    assert!(matches!(rotated.expect("rotate"), RefreshUse::Rotated(_)));
    let revoked = refresh_token("r-revoked", Duration::days(30), SLIDING);
    store.save_refresh(revoked.clone()).await.expect("refresh");
    store.revoke_family(revoked.family, NOW, None).await.expect("revoke");

    let window = Duration::minutes(15);
    store.count_attempt(&["user:carol".into(), "ip:192.0.2.1".into()], NOW, window).await.expect("count");
    store.count_attempt(&["user:carol".into()], NOW, window).await.expect("count");

    let device_client = Uuid::new_v4();
    let mut polled = super::device::device_code("device-polled", "PPPPPPPP", device_client);
    polled.tenant_id = tenant_id;
    store.save_device_code(polled).await.expect("device code");
    store.poll_device_code(device_client, &key("device-polled"), NOW).await.expect("poll");
    store.poll_device_code(device_client, &key("device-polled"), NOW).await.expect("slow down");
    store
        .save_device_code(super::device::device_code("device-approved", "AAAAAAAA", device_client))
        .await
        .expect("save");
    let approve = DeviceDecision::Approve(super::device::approval());
    store.decide_device_code(&key("AAAAAAAA"), approve, NOW).await.expect("approve").expect("pending");
    Filled { tenant_id, hybrid: server_app, rotated_client: first.client_id }
}

/// The snapshot holds what [`fill`] wrote, exactly.
fn check_filled(snapshot: &Snapshot, filled: &Filled) {
    let counts = snapshot.counts();
    assert_eq!(
        (counts.tenants, counts.roles, counts.users, counts.clients, counts.client_secrets),
        (1, 3, 2, 4, 5),
        "{counts}"
    );
    assert_eq!((counts.signing_keys, counts.server_secrets, counts.sessions, counts.codes), (2, 1, 1, 2));
    assert_eq!((counts.refresh_tokens, counts.revoked_families, counts.attempts), (3, 1, 2));
    assert_eq!(counts.device_codes, 2);
    let polled = snapshot.device_codes.iter().find(|d| d.handle == key("device-polled")).expect("polled");
    assert_eq!((polled.interval, polled.last_poll), (10, Some(NOW)));
    let tenant = &snapshot.tenants[0];
    assert_eq!(tenant.tenant.id, filled.tenant_id);
    let stored = tenant.clients.iter().find(|c| c.client.id == filled.hybrid.id).expect("hybrid client");
    assert_eq!(stored.client, filled.hybrid);
    assert_eq!(stored.secrets.iter().map(|s| s.id).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(stored.next_secret_id, 4);
    let browser = tenant.clients.iter().find(|c| c.client.kind == ClientKind::AuthorizationCode).expect("browser");
    assert_eq!(browser.client.id_token_signing_alg, crate::client::IdTokenSigningAlg::ES256);
    assert_eq!(snapshot.codes.iter().filter(|c| c.used).count(), 1);
    let r1 = snapshot.refresh_tokens.iter().find(|r| r.token.handle == key("r1")).expect("r1");
    assert_eq!((r1.token.consumed, r1.successor.clone()), (Some(NOW), Some(key("r2"))));
    assert_eq!(snapshot.signing_keys.iter().map(|k| k.retired.is_some()).collect::<Vec<_>>(), vec![true, false]);
}

/// Exports `from` (filled), imports into `to` (empty), and checks the copy: equal when
/// exported again, and behaving as the original.
pub async fn a_snapshot_moves_between_backends<A: Store + ?Sized, B: Store + ?Sized>(from: &A, to: &B) {
    let filled = fill(from).await;
    let snapshot = from.export().await.expect("export");
    check_filled(&snapshot, &filled);
    to.import(snapshot.clone()).await.expect("import");
    assert_eq!(to.export().await.expect("export the copy"), snapshot);
    assert_eq!(from.export().await.expect("export again"), snapshot, "an export changes nothing");

    // The copy goes on where the original was.
    assert!(!to.is_empty().await.expect("is_empty"));
    let (_, secrets) = to.find_client(filled.hybrid.id).await.expect("find").expect("copied");
    assert!(secrets.iter().any(|s| s.id == 1 && s.hash.matches(&SecretValue::new("h1").hash())));
    assert_eq!(
        to.add_secret(at(&filled.hybrid), new_secret("h4"), None).await.expect("add").id,
        4,
        "ids are not reused"
    );
    assert_eq!(to.server_secret(HMAC, vec![9; 32]).await.expect("secret"), vec![7; 32]);
    assert!(matches!(to.use_code(&key("used"), NOW).await.expect("use"), CodeUse::Replayed(_)));
    assert!(matches!(to.use_code(&key("unused"), NOW).await.expect("use"), CodeUse::Fresh(_)));
    let retry = to.use_refresh(filled.rotated_client, &key("r1"), key("r3"), NOW, SLIDING, GRACE, None).await;
    assert!(matches!(retry.expect("retry"), RefreshUse::Retried(_)), "the successor link survives");
    let (revoked, _) = snapshot.revoked_families[0];
    assert!(to.family_revoked(revoked).await.expect("revoked"));
    assert!(to.find_session(&key("session"), NOW).await.expect("session").is_some());
    let counted = to.count_attempt(&["user:carol".into()], NOW, Duration::minutes(15)).await.expect("count");
    assert_eq!(counted, vec![3], "throttle counters carry on");
    let approved = snapshot.device_codes.iter().find(|d| d.handle == key("device-approved")).expect("approved");
    let polled = to.poll_device_code(approved.client_id, &key("device-approved"), NOW).await.expect("poll");
    assert!(matches!(polled, DevicePoll::Approved(_)), "an approval carries over");
    let keys = to.signing_keys().await.expect("keys");
    assert_eq!(keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), vec!["k1", "k2"]);
}

/// Export, import into a fresh store of the same backend, export again: equal.
pub async fn a_snapshot_copies_everything_into_an_empty_store<S: Store>(store: &S, fresh: &S) {
    a_snapshot_moves_between_backends(store, fresh).await;
}

/// A store holding anything at all (here a throttle counter, then a tenant) refuses an
/// import, and keeps what it held.
pub async fn an_import_into_a_store_that_is_not_empty_is_refused<S: Store>(store: &S, other: &S) {
    fill(store).await;
    let snapshot = store.export().await.expect("export");
    other.count_attempt(&["ip:192.0.2.9".into()], NOW, Duration::minutes(15)).await.expect("count");
    let before = other.export().await.expect("export");
    assert!(matches!(other.import(snapshot.clone()).await, Err(RegistryError::Conflict(_))));
    assert_eq!(other.export().await.expect("export"), before, "nothing was written");
    assert!(matches!(store.import(snapshot.clone()).await, Err(RegistryError::Conflict(_))));
    assert_eq!(store.export().await.expect("export"), snapshot, "nothing was written");
}
