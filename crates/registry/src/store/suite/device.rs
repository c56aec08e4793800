//! Suite cases for device codes (RFC 8628): found by user code while pending, decided
//! once, polled with slow_down, redeemed once (under concurrency too), expired, purged.

use futures_util::future::join_all;
use time::Duration;
use uuid::Uuid;

use super::{key, NOW};
use crate::device::{Approval, DeviceCode, DeviceDecision, DevicePoll, DeviceStatus};
use crate::error::RegistryError;
use crate::store::Store;

/// A pending device code issued at `NOW`, living five minutes, polled every 5 s.
pub(super) fn device_code(handle: &str, user_code: &str, client_id: Uuid) -> DeviceCode {
    DeviceCode {
        handle: key(handle),
        user_code: key(user_code),
        client_id,
        tenant_id: Uuid::new_v4(),
        scope: "openid offline_access".into(),
        expires: NOW + Duration::minutes(5),
        interval: 5,
        last_poll: None,
        status: DeviceStatus::Pending,
    }
}

pub(super) fn approval() -> Approval {
    Approval { user_id: Uuid::new_v4(), sid: "sid".into(), auth_time: NOW, family: Uuid::new_v4() }
}

pub async fn device_codes_are_decided_once_and_redeemed_once<S: Store>(store: &S) {
    let client = Uuid::new_v4();
    let code = device_code("dev-1", "BCDFGHJK", client);
    store.save_device_code(code.clone()).await.expect("save");
    let taken = store.save_device_code(device_code("dev-2", "BCDFGHJK", client)).await;
    assert!(matches!(taken, Err(RegistryError::Conflict(_))), "a user code is stored once");
    assert_eq!(store.find_user_code(&key("BCDFGHJK"), NOW).await.expect("find"), Some(code.clone()));
    assert_eq!(store.find_user_code(&key("ZZZZZZZZ"), NOW).await.expect("find"), None);

    let handle = key("dev-1");
    let poll = |at: Duration, client: Uuid| store.poll_device_code(client, &handle, NOW + at);
    assert_eq!(poll(Duration::ZERO, Uuid::new_v4()).await.expect("poll"), DevicePoll::Invalid, "another client's");
    assert_eq!(poll(Duration::ZERO, client).await.expect("poll"), DevicePoll::Pending);
    assert_eq!(poll(Duration::seconds(2), client).await.expect("poll"), DevicePoll::SlowDown { interval: 10 });
    assert_eq!(poll(Duration::seconds(12), client).await.expect("poll"), DevicePoll::Pending, "10 s after the last");

    let approved = store.decide_device_code(&key("BCDFGHJK"), DeviceDecision::Approve(approval()), NOW).await;
    let approved = approved.expect("decide").expect("pending");
    assert!(matches!(approved.status, DeviceStatus::Approved(_)));
    let again = store.decide_device_code(&key("BCDFGHJK"), DeviceDecision::Deny, NOW).await.expect("decide");
    assert_eq!(again, None, "decided once");
    assert_eq!(store.find_user_code(&key("BCDFGHJK"), NOW).await.expect("find"), None, "no longer pending");
    match poll(Duration::seconds(30), client).await.expect("poll") {
        DevicePoll::Approved(r) => assert_eq!((r.status, r.scope), (approved.status, code.scope)),
        other => panic!("expected Approved, got {other:?}"),
    }
    assert_eq!(poll(Duration::seconds(40), client).await.expect("poll"), DevicePoll::Invalid, "redeemed");

    store.save_device_code(device_code("dev-3", "CCCCCCCC", client)).await.expect("save");
    store.decide_device_code(&key("CCCCCCCC"), DeviceDecision::Deny, NOW).await.expect("deny").expect("pending");
    let denied = store.poll_device_code(client, &key("dev-3"), NOW).await.expect("poll");
    assert_eq!(denied, DevicePoll::Denied);
    let unknown = store.poll_device_code(client, &key("nothing"), NOW).await.expect("poll");
    assert_eq!(unknown, DevicePoll::Invalid);
}

pub async fn device_codes_expire_and_are_purged<S: Store>(store: &S) {
    let client = Uuid::new_v4();
    store.save_device_code(device_code("dev-old", "DDDDDDDD", client)).await.expect("save");
    store.save_device_code(device_code("dev-new", "FFFFFFFF", client)).await.expect("save");
    let late = NOW + Duration::minutes(5);
    assert_eq!(store.find_user_code(&key("DDDDDDDD"), late).await.expect("find"), None);
    let decided = store.decide_device_code(&key("DDDDDDDD"), DeviceDecision::Approve(approval()), late).await;
    assert_eq!(decided.expect("decide"), None, "too late to approve");
    assert_eq!(store.poll_device_code(client, &key("dev-old"), late).await.expect("poll"), DevicePoll::Expired);
    let mut later = device_code("dev-later", "GGGGGGGG", client);
    later.expires = NOW + Duration::minutes(30);
    store.save_device_code(later).await.expect("save");
    assert_eq!(store.purge_device_codes(late).await.expect("purge"), 2);
    assert_eq!(store.poll_device_code(client, &key("dev-old"), late).await.expect("poll"), DevicePoll::Invalid);
    assert!(store.find_user_code(&key("GGGGGGGG"), late).await.expect("find").is_some(), "a live code stays");
}

/// Eight polls of one approved code at once: one gets the tokens.
pub async fn device_codes_are_redeemed_once_under_concurrency<S: Store>(store: &S) {
    let client = Uuid::new_v4();
    store.save_device_code(device_code("dev-race", "HHHHHHHH", client)).await.expect("save");
    let approved = store.decide_device_code(&key("HHHHHHHH"), DeviceDecision::Approve(approval()), NOW).await;
    assert!(approved.expect("decide").is_some());
    let handle = key("dev-race");
    let polls = join_all((0..8).map(|_| store.poll_device_code(client, &handle, NOW))).await;
    let redeemed = polls.iter().filter(|p| matches!(p, Ok(DevicePoll::Approved(_)))).count();
    assert_eq!(redeemed, 1, "{polls:?}");
    assert!(polls.iter().all(|p| matches!(p, Ok(DevicePoll::Approved(_) | DevicePoll::Invalid))), "{polls:?}");
}
