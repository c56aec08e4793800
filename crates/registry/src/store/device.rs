//! The device authorization grant's storage (RFC 8628): one record per device code.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::device::{DeviceCode, DeviceDecision, DevicePoll};
use crate::error::Result;
use crate::grant::SecretHashKey;

/// Device codes, found by the hash of the device code or of the normalised user code.
#[async_trait]
pub trait DeviceCodeStore: Send + Sync {
    /// Stores a new device code. `Conflict` when its handle or its user code is already
    /// stored (the caller draws another user code); nothing is written then.
    async fn save_device_code(&self, code: DeviceCode) -> Result<()>;
    /// The record with this user code, if it is still pending and live at `now`.
    async fn find_user_code(&self, user_code: &SecretHashKey, now: OffsetDateTime) -> Result<Option<DeviceCode>>;
    /// Records a person's decision, atomically, if the code is still pending and live at
    /// `now` (see [`crate::device::decided`]): answers the record as decided, or `None`
    /// (unknown, expired, or decided already) and nothing changes.
    async fn decide_device_code(
        &self,
        user_code: &SecretHashKey,
        decision: DeviceDecision,
        now: OffsetDateTime,
    ) -> Result<Option<DeviceCode>>;
    /// `client_id` polls with a device code, atomically, by [`crate::device::device_step`]:
    /// of any number of polls at once of an approved code, exactly one is `Approved`.
    async fn poll_device_code(
        &self,
        client_id: Uuid,
        handle: &SecretHashKey,
        now: OffsetDateTime,
    ) -> Result<DevicePoll>;
    /// Deletes the device codes that expired at or before `before`. Answers how many went.
    async fn purge_device_codes(&self, before: OffsetDateTime) -> Result<u64>;
}
