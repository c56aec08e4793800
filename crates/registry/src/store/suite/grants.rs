//! Suite cases for what the protocol remembers: sessions, codes, refresh tokens and their
//! rotation, revocations, server secrets, and the purge.

use time::Duration;
use uuid::Uuid;

use super::{Store, NOW};
use crate::grant::{
    AuthorizationCode, CodeUse, RefreshToken, RefreshUse, SecretHashKey, Session, WithUser, REVOCATION_KEPT,
};
use crate::secret::SecretValue;
use crate::user::UserChanges;

/// A rotation at .9 of a second, retried 0.6 s later with a 1 s grace: a retry, whatever
/// precision the store keeps its times in.
pub async fn the_grace_window_holds_for_a_rotation_late_in_a_second<S: Store>(store: &S) {
    let (sliding, grace) = (Duration::days(15), Duration::seconds(1));
    let token = refresh_token("late", Duration::days(20), sliding);
    store.save_refresh(token.clone()).await.expect("save");
    let rotated = NOW + Duration::milliseconds(900);
    let first = store.use_refresh(token.client_id, &key("late"), key("late-next"), rotated, sliding, grace, None).await;
    assert!(matches!(first.expect("use"), RefreshUse::Rotated(_)));
    let retry = NOW + Duration::milliseconds(1500);
    let again = store.use_refresh(token.client_id, &key("late"), key("late-other"), retry, sliding, grace, None).await;
    assert!(matches!(again.expect("retry"), RefreshUse::Retried(_)), "a retry 0.6 s after the rotation");
}

/// A fresh refresh token of a new family, issued at `NOW`.
pub(super) fn refresh_token(handle: &str, absolute: Duration, sliding: Duration) -> RefreshToken {
    RefreshToken {
        handle: key(handle),
        family: Uuid::new_v4(),
        client_id: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        scope: "openid offline_access".into(),
        sid: "sid".into(),
        auth_time: NOW,
        created: NOW,
        absolute_expiry: NOW + absolute,
        expires: NOW + sliding,
        consumed: None,
    }
}

pub(super) fn key(name: &str) -> SecretHashKey {
    SecretValue::new(name).hash().into()
}

pub async fn sessions_expire_and_end<S: Store>(store: &S) {
    let session = Session {
        handle: key("s1"),
        sid: "sid-1".into(),
        tenant_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        auth_time: NOW,
        expires: NOW + Duration::hours(8),
    };
    store.create_session(session.clone(), None).await.expect("create");
    let found = store.find_session(&key("s1"), NOW).await.expect("find");
    assert_eq!(found, Some(WithUser { record: session, user: None }), "no such user");
    assert_eq!(store.find_session(&key("s1"), NOW + Duration::hours(8)).await.expect("find"), None);
    assert_eq!(store.find_session(&key("other"), NOW).await.expect("find"), None);
    store.delete_session(&key("s1"), None).await.expect("delete");
    store.delete_session(&key("s1"), None).await.expect("deleting twice is fine");
    assert_eq!(store.find_session(&key("s1"), NOW).await.expect("find"), None);
}

pub async fn codes_are_spent_once<S: Store>(store: &S) {
    let code = AuthorizationCode {
        handle: key("c1"),
        client_id: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        redirect_uri: "https://app.example.com/cb".into(),
        scope: "openid".into(),
        nonce: Some("n".into()),
        code_challenge: Some("challenge".into()),
        sid: "sid".into(),
        auth_time: NOW,
        expires: NOW + Duration::minutes(5),
        family: Uuid::new_v4(),
    };
    store.save_code(code.clone()).await.expect("save");
    let fresh = CodeUse::Fresh(Box::new(WithUser { record: code.clone(), user: None }));
    assert_eq!(store.use_code(&key("c1"), NOW).await.expect("use"), fresh);
    assert_eq!(store.use_code(&key("c1"), NOW).await.expect("use"), CodeUse::Replayed(code.clone().into()));
    let late = AuthorizationCode { handle: key("c2"), ..code };
    store.save_code(late).await.expect("save");
    assert_eq!(store.use_code(&key("c2"), NOW + Duration::minutes(5)).await.expect("use"), CodeUse::Unknown);
    assert_eq!(store.use_code(&key("nope"), NOW).await.expect("use"), CodeUse::Unknown);
}

pub async fn refresh_tokens_rotate_retry_and_detect_reuse<S: Store>(store: &S) {
    let sliding = Duration::days(15);
    let grace = Duration::seconds(10);
    let first = refresh_token("r1", Duration::days(20), sliding);
    store.save_refresh(first.clone()).await.expect("save");
    let t1 = NOW + Duration::days(10);
    let RefreshUse::Rotated(used) =
        store.use_refresh(first.client_id, &key("r1"), key("r2"), t1, sliding, grace, None).await.expect("use")
    else {
        panic!("first use rotates");
    };
    assert_eq!(used.record.family, first.family);
    let second = store.find_refresh(&key("r2")).await.expect("find").expect("successor stored");
    // The sliding lifetime is renewed but never passes the family's absolute end.
    assert_eq!((second.created, second.expires, second.consumed), (t1, first.absolute_expiry, None));

    // A retry within the grace window answers the same successor.
    let retried = store
        .use_refresh(first.client_id, &key("r1"), key("r2"), t1 + Duration::seconds(5), sliding, grace, None)
        .await
        .expect("use");
    assert!(matches!(retried, RefreshUse::Retried(_)));
    assert_eq!(store.find_refresh(&key("r2")).await.expect("find"), Some(second));

    // After it, reuse revokes the whole family: the successor dies too.
    let reused = store
        .use_refresh(first.client_id, &key("r1"), key("r2"), t1 + Duration::seconds(11), sliding, grace, None)
        .await
        .expect("use");
    assert_eq!(reused, RefreshUse::Reused);
    assert!(store.family_revoked(first.family).await.expect("revoked"));
    let dead = store
        .use_refresh(first.client_id, &key("r2"), key("r3"), t1 + Duration::seconds(12), sliding, grace, None)
        .await
        .expect("use");
    assert_eq!(dead, RefreshUse::Invalid);

    // Far from the family's end, the successor gets the whole sliding lifetime.
    let long = refresh_token("s1", Duration::days(90), sliding);
    store.save_refresh(long.clone()).await.expect("save");
    let rotated =
        store.use_refresh(long.client_id, &key("s1"), key("s2"), t1, sliding, grace, None).await.expect("use");
    assert!(matches!(rotated, RefreshUse::Rotated(_)), "{rotated:?}");
    let slid = store.find_refresh(&key("s2")).await.expect("find").expect("successor stored");
    assert_eq!((slid.created, slid.expires, slid.family), (t1, t1 + sliding, long.family));

    // Another client's attempt is refused and spends nothing.
    let mine = RefreshToken { handle: key("m1"), family: Uuid::new_v4(), ..first.clone() };
    store.save_refresh(mine.clone()).await.expect("save");
    let stolen =
        store.use_refresh(Uuid::new_v4(), &key("m1"), key("m2"), NOW, sliding, grace, None).await.expect("use");
    assert_eq!(stolen, RefreshUse::Invalid);
    assert_eq!(store.find_refresh(&key("m1")).await.expect("find"), Some(mine));

    // Expired and unknown tokens are invalid; revoking a family by hand works too.
    let other = RefreshToken { handle: key("o1"), family: Uuid::new_v4(), ..first.clone() };
    store.save_refresh(other.clone()).await.expect("save");
    let expired = store
        .use_refresh(first.client_id, &key("o1"), key("o2"), NOW + sliding, sliding, grace, None)
        .await
        .expect("use");
    assert_eq!(expired, RefreshUse::Invalid);
    let unknown =
        store.use_refresh(first.client_id, &key("none"), key("x"), NOW, sliding, grace, None).await.expect("use");
    assert_eq!(unknown, RefreshUse::Invalid);
    let live = RefreshToken { handle: key("l1"), family: Uuid::new_v4(), ..first };
    store.save_refresh(live.clone()).await.expect("save");
    store.revoke_family(live.family, NOW, None).await.expect("revoke");
    let revoked =
        store.use_refresh(first.client_id, &key("l1"), key("l2"), NOW, sliding, grace, None).await.expect("use");
    assert_eq!(revoked, RefreshUse::Invalid);
}

pub async fn server_secrets_are_kept_once<S: Store>(store: &S) {
    assert_eq!(store.server_secret("refresh", vec![1, 2]).await.expect("first"), vec![1, 2]);
    assert_eq!(store.server_secret("refresh", vec![3, 4]).await.expect("second"), vec![1, 2]);
    assert_eq!(store.server_secret("other", vec![5]).await.expect("other"), vec![5]);
}

pub async fn expired_grants_are_purged<S: Store>(store: &S) {
    let session = Session {
        handle: key("p-s"),
        sid: "sid".into(),
        tenant_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        auth_time: NOW,
        expires: NOW + Duration::hours(1),
    };
    store.create_session(session.clone(), None).await.expect("session");
    store
        .create_session(Session { handle: key("p-s2"), expires: NOW + Duration::hours(3), ..session }, None)
        .await
        .expect("session");
    assert_eq!(store.purge_expired(NOW + Duration::hours(2)).await.expect("purge"), 1);
    assert!(store.find_session(&key("p-s2"), NOW).await.expect("find").is_some());
}

/// A revocation is remembered while a refresh token of the family is stored, and for
/// `REVOCATION_KEPT` after it was made (the access tokens it killed may live that long);
/// then the purge forgets it.
pub async fn revocations_are_forgotten_once_nothing_needs_them<S: Store>(store: &S) {
    let with_token = refresh_token("f-r", Duration::days(1), Duration::days(1));
    store.save_refresh(with_token.clone()).await.expect("save");
    store.revoke_family(with_token.family, NOW, None).await.expect("revoke");
    let access_only = Uuid::new_v4();
    store.revoke_family(access_only, NOW, None).await.expect("revoke");
    let revoked = |family| async move { store.family_revoked(family).await.expect("revoked") };
    store.purge_expired(NOW + REVOCATION_KEPT - Duration::seconds(1)).await.expect("purge");
    assert!(revoked(access_only).await && revoked(with_token.family).await, "too soon");
    store.purge_expired(NOW + REVOCATION_KEPT).await.expect("purge");
    assert!(!revoked(access_only).await, "nothing of it can be alive");
    assert!(revoked(with_token.family).await, "its refresh token is still stored");
    assert_eq!(store.purge_expired(NOW + Duration::days(1)).await.expect("purge"), 2, "the token and the revocation");
    assert!(!revoked(with_token.family).await);
}

pub async fn a_users_grants_are_revoked_together<S: Store>(store: &S) {
    let (tenant_id, user_id, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let session = Session {
        handle: key("u-s"),
        sid: "s".into(),
        tenant_id,
        user_id,
        auth_time: NOW,
        expires: NOW + Duration::hours(1),
    };
    store.create_session(session.clone(), None).await.expect("session");
    store.create_session(Session { handle: key("o-s"), user_id: other, ..session }, None).await.expect("session");
    let refresh = RefreshToken {
        handle: key("u-r"),
        family: Uuid::new_v4(),
        client_id: Uuid::new_v4(),
        tenant_id,
        user_id,
        scope: "openid".into(),
        sid: "s".into(),
        auth_time: NOW,
        created: NOW,
        absolute_expiry: NOW + Duration::days(1),
        expires: NOW + Duration::days(1),
        consumed: None,
    };
    store.save_refresh(refresh.clone()).await.expect("refresh");
    let theirs = RefreshToken { handle: key("o-r"), family: Uuid::new_v4(), user_id: other, ..refresh.clone() };
    store.save_refresh(theirs.clone()).await.expect("refresh");
    let device =
        crate::device::DeviceCode { tenant_id, ..super::device::device_code("u-d", "UDUDUDUD", Uuid::new_v4()) };
    store.save_device_code(device).await.expect("device code");
    let approval = crate::device::Approval { user_id, ..super::device::approval() };
    let approve = crate::device::DeviceDecision::Approve(approval.clone());
    store.decide_device_code(&key("UDUDUDUD"), approve, NOW).await.expect("decide").expect("pending");
    store.revoke_user_grants(tenant_id, user_id, NOW, None).await.expect("revoke");
    assert!(store.family_revoked(approval.family).await.expect("revoked"), "the device code they approved");
    assert!(store.find_session(&key("u-s"), NOW).await.expect("find").is_none());
    assert!(store.find_session(&key("o-s"), NOW).await.expect("find").is_some());
    assert!(store.family_revoked(refresh.family).await.expect("revoked"));
    assert!(!store.family_revoked(theirs.family).await.expect("revoked"));
}

/// A session, a code and a refresh token answer their user as stored at that moment, read
/// in the same transaction (issue 10: a grant is one trip to the store): a disabled user as
/// disabled, a deleted one as none.
pub async fn grants_answer_their_user_as_stored_now<S: Store>(store: &S) {
    let tenant_id = super::tenant(store).await;
    let user = store.create_user(super::user(tenant_id, "carol"), None).await.expect("user");
    let session = Session {
        handle: key("w-s"),
        sid: "s".into(),
        tenant_id,
        user_id: user.id,
        auth_time: NOW,
        expires: NOW + Duration::hours(1),
    };
    store.create_session(session.clone(), None).await.expect("session");
    let found = store.find_session(&key("w-s"), NOW).await.expect("find").expect("live");
    assert_eq!(found, WithUser { record: session, user: Some(user.clone()) });

    let code = |handle: &str| AuthorizationCode {
        handle: key(handle),
        client_id: Uuid::new_v4(),
        tenant_id,
        user_id: user.id,
        redirect_uri: "https://app.example.com/cb".into(),
        scope: "openid offline_access".into(),
        nonce: None,
        code_challenge: None,
        sid: "s".into(),
        auth_time: NOW,
        expires: NOW + Duration::minutes(5),
        family: Uuid::new_v4(),
    };
    store.save_code(code("w-c1")).await.expect("save");
    let disabled = UserChanges { enabled: Some(false), ..Default::default() };
    let disabled = store.update_user(tenant_id, user.id, disabled, None).await.expect("disable");
    let CodeUse::Fresh(used) = store.use_code(&key("w-c1"), NOW).await.expect("use") else { panic!("fresh") };
    assert_eq!(used.user, Some(disabled.clone()), "as stored now: disabled");

    let refresh =
        RefreshToken { tenant_id, user_id: user.id, ..refresh_token("w-r1", Duration::days(1), Duration::days(1)) };
    store.save_refresh(refresh.clone()).await.expect("save");
    let (sliding, grace) = (Duration::days(1), Duration::seconds(5));
    let rotated = store.use_refresh(refresh.client_id, &key("w-r1"), key("w-r2"), NOW, sliding, grace, None).await;
    let RefreshUse::Rotated(rotated) = rotated.expect("use") else { panic!("rotated") };
    assert_eq!(rotated.user, Some(disabled.clone()));
    let retried = store.use_refresh(refresh.client_id, &key("w-r1"), key("w-r2"), NOW, sliding, grace, None).await;
    let RefreshUse::Retried(retried) = retried.expect("use") else { panic!("retried") };
    assert_eq!(retried.user, Some(disabled));

    store.save_code(code("w-c2")).await.expect("save");
    store.delete_user(tenant_id, user.id, None).await.expect("delete");
    let CodeUse::Fresh(used) = store.use_code(&key("w-c2"), NOW).await.expect("use") else { panic!("fresh") };
    assert_eq!(used.user, None, "deleted");
}
