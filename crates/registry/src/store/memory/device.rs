//! The in-memory store's device codes: under the one lock, each method is a transaction.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::MemoryStore;
use crate::device::{decided, device_step, DeviceCode, DeviceDecision, DevicePoll, DeviceStep};
use crate::error::{RegistryError, Result};
use crate::grant::SecretHashKey;
use crate::store::DeviceCodeStore;

#[async_trait]
impl DeviceCodeStore for MemoryStore {
    async fn save_device_code(&self, code: DeviceCode) -> Result<()> {
        let mut state = self.lock()?;
        let taken = state.device_codes.values().any(|d| d.handle == code.handle || d.user_code == code.user_code);
        if taken {
            return Err(RegistryError::Conflict("the device code or user code is taken".into()));
        }
        state.device_codes.insert(code.handle.clone(), code);
        Ok(())
    }

    async fn find_user_code(&self, user_code: &SecretHashKey, now: OffsetDateTime) -> Result<Option<DeviceCode>> {
        let state = self.lock()?;
        let found = state.device_codes.values().find(|d| &d.user_code == user_code);
        Ok(found.filter(|d| d.status == crate::device::DeviceStatus::Pending && d.is_live(now)).cloned())
    }

    async fn decide_device_code(
        &self,
        user_code: &SecretHashKey,
        decision: DeviceDecision,
        now: OffsetDateTime,
    ) -> Result<Option<DeviceCode>> {
        let mut state = self.lock()?;
        let Some(record) = state.device_codes.values_mut().find(|d| &d.user_code == user_code) else {
            return Ok(None);
        };
        let next = decided(record, decision, now);
        if let Some(next) = &next {
            *record = next.clone();
        }
        Ok(next)
    }

    async fn poll_device_code(
        &self,
        client_id: Uuid,
        handle: &SecretHashKey,
        now: OffsetDateTime,
    ) -> Result<DevicePoll> {
        let mut state = self.lock()?;
        Ok(match device_step(client_id, state.device_codes.get(handle), now) {
            DeviceStep::Answer(poll) => poll,
            DeviceStep::Write(poll, record) => {
                state.device_codes.insert(handle.clone(), *record);
                poll
            }
        })
    }

    async fn purge_device_codes(&self, before: OffsetDateTime) -> Result<u64> {
        let mut state = self.lock()?;
        let count = state.device_codes.len();
        state.device_codes.retain(|_, d| d.is_live(before));
        Ok((count - state.device_codes.len()) as u64)
    }
}
