//! Suite cases of the audit trail: an event goes with its change, in its transaction, and
//! only when the change is made; lists are newest first, filtered, paged, with totals; old
//! events are purged.

use time::Duration;
use uuid::Uuid;

use super::{at, hybrid, key, new_secret, refresh_token, tenant, user, Store, NOW};
use crate::audit::{family_target, Actor, AuditAction, AuditEvent, AuditQuery, Origin, Outcome};
use crate::client::ClientChanges;
use crate::grant::{RefreshUse, Session};
use crate::role::{Role, RoleChanges};
use crate::store::SecretChanges;
use crate::tenant::SigningKeyRecord;
use crate::user::UserChanges;

fn event(tenant_id: Option<Uuid>, action: AuditAction, target: &str, seconds: i64) -> AuditEvent {
    let origin = Origin::new(Some("192.0.2.7".into()), Uuid::new_v4());
    AuditEvent::new(tenant_id, NOW + Duration::seconds(seconds), Actor::User(Uuid::nil()), action, target, &origin)
}

async fn all<S: Store>(store: &S, tenant_id: Uuid) -> Vec<AuditEvent> {
    store.list_events(tenant_id, &AuditQuery { count: 1000, ..AuditQuery::default() }).await.expect("list").items
}

/// Every changing method writes its event when it makes its change, and none when it fails.
pub async fn audit_events_are_written_with_their_change_and_only_then<S: Store>(store: &S) {
    let t = tenant(store).await;
    let mut expected: Vec<AuditEvent> = Vec::new();
    let mut n = 0;
    let mut ev = |action| {
        n += 1;
        event(Some(t), action, &format!("target-{n}"), n)
    };
    use AuditAction as A;

    let client = hybrid(t, "audited");
    let e = ev(A::ClientCreate);
    store.create_client(client.clone(), None, Some(&e)).await.expect("create");
    expected.push(e.clone());
    // A second create of the same id is refused: no event.
    let refused = store.create_client(client.clone(), None, Some(&ev(A::ClientCreate))).await;
    assert!(refused.is_err());
    let e = ev(A::ClientUpdate);
    let changes = ClientChanges { name: Some("renamed".into()), ..Default::default() };
    store.update_client(at(&client), changes, Some(&e)).await.expect("update");
    expected.push(e.clone());
    let bad = ClientChanges { access_token_lifetime: Some(1), ..Default::default() };
    assert!(store.update_client(at(&client), bad, Some(&ev(A::ClientUpdate))).await.is_err());

    let e = ev(A::SecretCreate);
    let secret = store.add_secret(at(&client), new_secret("s"), Some(&e)).await.expect("secret");
    expected.push(e.on_secret(secret.id));
    let e = ev(A::SecretUpdate);
    let changes = SecretChanges { description: Some("d".into()), ..Default::default() };
    store.update_secret(at(&client), secret.id, changes, Some(&e)).await.expect("update secret");
    expected.push(e.clone());
    assert!(store.delete_secret(at(&client), 99, Some(&ev(A::SecretDelete))).await.is_err());
    let e = ev(A::SecretDelete);
    store.delete_secret(at(&client), secret.id, Some(&e)).await.expect("delete secret");
    expected.push(e.clone());

    let role = Role::custom(t, RoleChanges { name: Some("Readers".into()), ..Default::default() }).expect("role");
    let e = ev(A::RoleCreate);
    store.create_role(t, role.clone(), Some(&e)).await.expect("role");
    expected.push(e.clone());
    let e = ev(A::RoleUpdate);
    let changes = RoleChanges { description: Some("r".into()), ..Default::default() };
    store.update_role(t, role.id, changes, Some(&e)).await.expect("update role");
    expected.push(e.clone());
    assert!(store.delete_role(t, Uuid::new_v4(), Some(&ev(A::RoleDelete))).await.is_err());
    let e = ev(A::RoleDelete);
    store.delete_role(t, role.id, Some(&e)).await.expect("delete role");
    expected.push(e.clone());

    let alice = user(t, "alice");
    let e = ev(A::UserCreate);
    store.create_user(alice.clone(), Some(&e)).await.expect("user");
    expected.push(e.clone());
    assert!(store.create_user(user(t, "ALICE"), Some(&ev(A::UserCreate))).await.is_err(), "name taken");
    let e = ev(A::UserSetPassword);
    let changes = UserChanges { password_hash: Some("$argon2id$other".into()), ..Default::default() };
    store.update_user(t, alice.id, changes, Some(&e)).await.expect("password");
    expected.push(e.clone());
    let e = ev(A::TokenFamilyRevoke);
    store.revoke_user_grants(t, alice.id, NOW, Some(&e)).await.expect("revoke user");
    expected.push(e.clone());

    let session = Session {
        handle: key("audited-session"),
        sid: "sid".into(),
        tenant_id: t,
        user_id: alice.id,
        auth_time: NOW,
        expires: NOW + Duration::hours(1),
    };
    let e = ev(A::SignIn);
    store.create_session(session, Some(&e)).await.expect("session");
    expected.push(e.clone());
    let e = ev(A::Logout);
    store.delete_session(&key("audited-session"), Some(&e)).await.expect("logout");
    expected.push(e.clone());
    // No session left to end: no event.
    store.delete_session(&key("audited-session"), Some(&ev(A::Logout))).await.expect("again");

    let e = ev(A::TokenFamilyRevoke);
    store.revoke_family(Uuid::new_v4(), NOW, Some(&e)).await.expect("revoke");
    expected.push(e.clone());
    // A refresh token presented again after its rotation: its family's revocation is written
    // with the family as the target.
    let (sliding, grace) = (Duration::days(15), Duration::seconds(1));
    let token = refresh_token("audited-refresh", Duration::days(20), sliding);
    store.save_refresh(token.clone()).await.expect("save");
    let rotated = store
        .use_refresh(
            token.client_id,
            &token.handle,
            key("audited-next"),
            NOW,
            sliding,
            grace,
            Some(&ev(A::TokenFamilyRevoke)),
        )
        .await;
    assert!(matches!(rotated.expect("rotate"), RefreshUse::Rotated(_)), "a rotation writes no event");
    let e = ev(A::TokenFamilyRevoke);
    let later = NOW + Duration::minutes(1);
    let reused = store.use_refresh(token.client_id, &token.handle, key("x"), later, sliding, grace, Some(&e)).await;
    assert!(matches!(reused.expect("reuse"), RefreshUse::Reused));
    expected.push(e.on_family(token.family));

    let e = ev(A::UserDelete);
    store.delete_user(t, alice.id, Some(&e)).await.expect("delete user");
    expected.push(e.clone());
    assert!(store.delete_user(t, alice.id, Some(&ev(A::UserDelete))).await.is_err());

    let e = ev(A::ClientDelete);
    store.delete_client(at(&client), Some(&e)).await.expect("delete");
    expected.push(e.clone());
    assert!(store.delete_client(at(&client), Some(&ev(A::ClientDelete))).await.is_err());

    // Keys are the server's: their events belong to no tenant, and every tenant sees them.
    let mut key_event = ev(A::KeysRotate);
    key_event.tenant_id = None;
    key_event.actor = Actor::System("gatehouse rotate-keys".into());
    let record = SigningKeyRecord {
        kid: "audited-key".into(),
        alg: "ES256".into(),
        private_der: vec![1],
        created: NOW,
        retired: None,
    };
    store.rotate_signing_key(record, NOW, Some(&key_event)).await.expect("rotate");
    expected.push(key_event);

    // A refused request changes nothing and is written on its own.
    let refusal = ev(A::UserDelete).refused("the last administrator");
    store.record_event(&refusal).await.expect("record");
    expected.push(refusal);

    expected.reverse();
    assert_eq!(all(store, t).await, expected, "each event once, newest first, as written");
    let other = tenant(store).await;
    let seen_by_other = all(store, other).await;
    assert_eq!(seen_by_other.len(), 1, "another tenant sees only the server's events");
    assert_eq!(seen_by_other[0].action, A::KeysRotate);
}

/// Filters by action, actor and time; paging with the total of all that match; events of one
/// second keep the order they were written in.
pub async fn audit_events_list_newest_first_filtered_and_paged<S: Store>(store: &S) {
    let (t, other) = (Uuid::new_v4(), Uuid::new_v4());
    let client = Uuid::new_v4();
    let mut written = Vec::new();
    for i in 0..12 {
        let action = if i % 3 == 0 { AuditAction::SignInFailed } else { AuditAction::ClientUpdate };
        // Two at each second: order within a second is the order written.
        let mut e = event(Some(t), action, &format!("t{i}"), i / 2);
        if i % 4 == 0 {
            e.actor = Actor::Client(client);
        }
        if action == AuditAction::SignInFailed {
            e = e.with_outcome(Outcome::Failed).with_detail("wrong password");
            e.actor = Actor::Name(format!("name-{i}"));
        }
        store.record_event(&e).await.expect("record");
        written.push(e);
    }
    store.record_event(&event(Some(other), AuditAction::ClientCreate, "elsewhere", 0)).await.expect("other");
    let newest_first: Vec<AuditEvent> = written.iter().rev().cloned().collect();

    let page = store.list_events(t, &AuditQuery { skip: 2, count: 3, ..AuditQuery::default() }).await.expect("page");
    assert_eq!(page.total, 12);
    assert_eq!(page.items, newest_first[2..5].to_vec());

    let failed = AuditQuery { action: Some(AuditAction::SignInFailed), ..AuditQuery::default() };
    let page = store.list_events(t, &failed).await.expect("by action");
    assert_eq!(page.total, 4);
    assert!(page.items.iter().all(|e| e.action == AuditAction::SignInFailed && e.outcome == Outcome::Failed));

    let by_client = AuditQuery { actor: Some(client.to_string()), ..AuditQuery::default() };
    let page = store.list_events(t, &by_client).await.expect("by actor");
    let expected: Vec<AuditEvent> = newest_first.iter().filter(|e| e.actor == Actor::Client(client)).cloned().collect();
    assert_eq!(page.items, expected);
    let by_name = AuditQuery { actor: Some("name-3".into()), ..AuditQuery::default() };
    assert_eq!(store.list_events(t, &by_name).await.expect("by name").items, vec![written[3].clone()]);

    // [from, to): seconds 1 and 2, that is events 2 to 5.
    let window = AuditQuery {
        from: Some(NOW + Duration::seconds(1)),
        to: Some(NOW + Duration::seconds(3)),
        ..AuditQuery::default()
    };
    let page = store.list_events(t, &window).await.expect("by time");
    assert_eq!(page.items, written[2..6].iter().rev().cloned().collect::<Vec<_>>());
    assert_eq!(page.total, 4);
    let none = AuditQuery { count: 0, ..AuditQuery::default() };
    let page = store.list_events(t, &none).await.expect("count 0");
    assert_eq!((page.items.len(), page.total), (0, 12));
}

/// Retention: what is older than the cut goes, the rest stays.
pub async fn audit_events_are_purged_by_age<S: Store>(store: &S) {
    let t = Uuid::new_v4();
    for seconds in [0, 10, 20] {
        store.record_event(&event(Some(t), AuditAction::SignIn, &family_target(t), seconds)).await.expect("record");
    }
    assert_eq!(store.purge_events(NOW + Duration::seconds(10)).await.expect("purge"), 1);
    let left: Vec<i64> = all(store, t).await.iter().map(|e| (e.time - NOW).whole_seconds()).collect();
    assert_eq!(left, vec![20, 10]);
    assert_eq!(store.purge_events(NOW).await.expect("purge nothing"), 0);
}
