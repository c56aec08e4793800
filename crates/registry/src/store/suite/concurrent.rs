//! Suite cases that race several calls of one method, as several requests (on one instance
//! or many sharing the store) do: what the contract says "exactly once" holds under
//! concurrency, not only one call after another.

use futures_util::future::join_all;
use time::Duration;
use uuid::Uuid;

use super::{at, hybrid, key, new_secret, refresh_token, tenant, user, NOW};
use crate::error::RegistryError;
use crate::grant::{AuthorizationCode, CodeUse, RefreshUse};
use crate::secret::MAX_SECRETS_PER_CLIENT;
use crate::store::Store;

/// Eight presentations of one code at once: one is `Fresh`, seven are `Replayed`.
pub async fn codes_are_spent_once_under_concurrency<S: Store>(store: &S) {
    let code = AuthorizationCode {
        handle: key("race-code"),
        client_id: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        redirect_uri: "https://app.example.com/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: Some("challenge".into()),
        sid: "sid".into(),
        auth_time: NOW,
        expires: NOW + Duration::minutes(5),
        family: Uuid::new_v4(),
    };
    store.save_code(code.clone()).await.expect("save");
    let handle = key("race-code");
    let uses = join_all((0..8).map(|_| store.use_code(&handle, NOW))).await;
    let uses: Vec<CodeUse> = uses.into_iter().map(|u| u.expect("use")).collect();
    let fresh = uses.iter().filter(|u| matches!(u, CodeUse::Fresh(f) if f.record == code)).count();
    let replayed = uses.iter().filter(|u| **u == CodeUse::Replayed(code.clone().into())).count();
    assert_eq!((fresh, replayed), (1, 7), "{uses:?}");
}

/// Eight presentations of one refresh token at once (a client retrying in parallel): one
/// rotates it, the seven others are retries within the grace window and store nothing.
pub async fn refresh_tokens_rotate_once_under_concurrency<S: Store>(store: &S) {
    let (sliding, grace) = (Duration::days(15), Duration::seconds(10));
    let token = refresh_token("race-r1", Duration::days(30), sliding);
    store.save_refresh(token.clone()).await.expect("save");
    let handle = key("race-r1");
    let uses = join_all(
        (0..8).map(|_| store.use_refresh(token.client_id, &handle, key("race-r2"), NOW, sliding, grace, None)),
    )
    .await;
    let uses: Vec<RefreshUse> = uses.into_iter().map(|u| u.expect("use")).collect();
    let rotated = uses.iter().filter(|u| matches!(u, RefreshUse::Rotated(_))).count();
    let retried = uses.iter().filter(|u| matches!(u, RefreshUse::Retried(_))).count();
    assert_eq!((rotated, retried), (1, 7), "{uses:?}");
    assert!(!store.family_revoked(token.family).await.expect("revoked"), "retries are not reuse");
    let successor = store.find_refresh(&key("race-r2")).await.expect("find").expect("one successor stored");
    assert_eq!((successor.family, successor.consumed), (token.family, None));
    let first = store.find_refresh(&handle).await.expect("find").expect("kept");
    assert_eq!(first.consumed, Some(NOW));
}

/// Eight additions at once to a client with five secrets: five succeed, three are refused,
/// and the client never holds more than the maximum, with no id given twice.
pub async fn secrets_stay_within_the_limit_under_concurrency<S: Store>(store: &S) {
    let t = tenant(store).await;
    let client = hybrid(t, "racy");
    store.create_client(client.clone(), Some(new_secret("s1")), None).await.expect("create");
    for i in 2..=5 {
        store.add_secret(at(&client), new_secret(&format!("s{i}")), None).await.expect("add");
    }
    let added = join_all((0..8).map(|i| store.add_secret(at(&client), new_secret(&format!("r{i}")), None))).await;
    let ok = added.iter().filter(|a| a.is_ok()).count();
    let refused =
        added.iter().filter(|a| matches!(a, Err(RegistryError::Invalid(ref i)) if i.field == "Secrets")).count();
    assert_eq!((ok, refused), (5, 3), "{added:?}");
    let mut ids: Vec<u32> = store.list_secrets(at(&client)).await.expect("list").iter().map(|s| s.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=MAX_SECRETS_PER_CLIENT as u32).collect::<Vec<_>>());
}

/// One client id created at once in eight tenants, and one user name in eight spellings:
/// one of each is stored, the others are `Conflict`.
pub async fn ids_and_user_names_are_taken_once_under_concurrency<S: Store>(store: &S) {
    let mut tenants = Vec::new();
    for _ in 0..8 {
        tenants.push(tenant(store).await);
    }
    let id = Uuid::new_v4();
    let clients = tenants.iter().map(|t| {
        let mut c = hybrid(*t, "same-id");
        c.id = id;
        c
    });
    let created = join_all(clients.map(|c| store.create_client(c, None, None))).await;
    let conflicts = created.iter().filter(|c| matches!(c, Err(RegistryError::Conflict(_)))).count();
    assert_eq!((created.iter().filter(|c| c.is_ok()).count(), conflicts), (1, 7), "{created:?}");
    assert!(store.find_client(id).await.expect("find").is_some());

    let names = ["Alice", "alice", "ALICE", "aLice", "alIce", "aliCe", "alicE", "ALice"];
    let users = join_all(names.iter().map(|n| store.create_user(user(tenants[0], n), None))).await;
    let conflicts = users.iter().filter(|u| matches!(u, Err(RegistryError::Conflict(_)))).count();
    assert_eq!((users.iter().filter(|u| u.is_ok()).count(), conflicts), (1, 7), "{users:?}");
}
