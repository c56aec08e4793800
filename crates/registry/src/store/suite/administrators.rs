//! Suite cases for the rule that a tenant keeps an enabled Tenant Administrator user: a
//! delete, a disable or a demotion that would leave none is refused, also when two
//! administrators remove each other at once.

use futures_util::future::join_all;
use uuid::Uuid;

use super::{tenant, user};
use crate::error::RegistryError;
use crate::role::{TENANT_ADMINISTRATOR, TENANT_MEMBER};
use crate::store::Store;
use crate::user::{User, UserChanges};

async fn administrator<S: Store>(store: &S, t: Uuid, name: &str) -> User {
    let changes = UserChanges { role_ids: Some(vec![TENANT_ADMINISTRATOR]), ..Default::default() };
    let created = store.create_user(user(t, name), None).await.expect("create");
    store.update_user(t, created.id, changes, None).await.expect("make administrator")
}

fn disable() -> UserChanges {
    UserChanges { enabled: Some(false), ..Default::default() }
}

fn demote() -> UserChanges {
    UserChanges { role_ids: Some(vec![TENANT_MEMBER]), ..Default::default() }
}

fn is_last_administrator<T: std::fmt::Debug>(answer: &Result<T, RegistryError>) -> bool {
    matches!(answer, Err(RegistryError::LastAdministrator(_)))
}

pub async fn the_last_administrator_cannot_be_removed<S: Store>(store: &S) {
    let t = tenant(store).await;
    let ada = administrator(store, t, "ada").await;
    assert!(is_last_administrator(&store.update_user(t, ada.id, disable(), None).await), "disable");
    assert!(is_last_administrator(&store.update_user(t, ada.id, demote(), None).await), "demote");
    assert!(is_last_administrator(&store.delete_user(t, ada.id, None).await), "delete");
    assert_eq!(store.get_user(t, ada.id).await.expect("unchanged"), ada, "nothing was written");
    let rename = UserChanges { given_name: Some("Ada".into()), ..Default::default() };
    store.update_user(t, ada.id, rename, None).await.expect("other changes go on");

    // A disabled administrator, or one of another tenant, does not count.
    let off = administrator(store, t, "off").await;
    store.update_user(t, off.id, disable(), None).await.expect("disable the second");
    let elsewhere = tenant(store).await;
    administrator(store, elsewhere, "ada").await;
    assert!(is_last_administrator(&store.delete_user(t, ada.id, None).await), "still the last");

    // With a second enabled administrator, the first may go; then the second is the last.
    let bo = administrator(store, t, "bo").await;
    store.update_user(t, ada.id, demote(), None).await.expect("demote with another left");
    assert!(is_last_administrator(&store.delete_user(t, bo.id, None).await), "bo is now the last");
    store.delete_user(t, off.id, None).await.expect("a disabled administrator may go");
}

/// Two administrators, each removing the other at once (delete, disable or demote), eight
/// times over: one change of each pair goes through, the other is refused.
pub async fn administrators_removing_each_other_at_once_leave_one<S: Store>(store: &S) {
    for round in 0..8 {
        let t = tenant(store).await;
        let (a, b) = (administrator(store, t, "a").await, administrator(store, t, "b").await);
        let remove = |id: Uuid, how: usize| async move {
            match how % 3 {
                0 => store.delete_user(t, id, None).await,
                1 => store.update_user(t, id, disable(), None).await.map(drop),
                _ => store.update_user(t, id, demote(), None).await.map(drop),
            }
        };
        let answers = join_all([remove(a.id, round), remove(b.id, round + 1)]).await;
        let refused = answers.iter().filter(|a| is_last_administrator(a)).count();
        assert_eq!((answers.iter().filter(|a| a.is_ok()).count(), refused), (1, 1), "round {round}: {answers:?}");
        let mut administrators = 0;
        for id in [a.id, b.id] {
            if store.get_user(t, id).await.is_ok_and(|u| u.administers()) {
                administrators += 1;
            }
        }
        assert_eq!(administrators, 1, "round {round}");
    }
}
