//! Browser sessions: started by a sign-in, found by their cookie, ended by sign-out or
//! logout. Password checks are the server's (they run on its blocking pool).

use gatehouse_registry::grant::Session;
use gatehouse_registry::{SecretValue, User};
use uuid::Uuid;

use crate::error::ProtocolError;
use crate::handles::{key_of, new_handle};
use crate::Provider;

impl Provider {
    /// The live session behind a cookie value.
    pub async fn session(&self, cookie: &str) -> Result<Option<Session>, ProtocolError> {
        Ok(self.stores.grants.find_session(&key_of(cookie), self.clock.now()).await?)
    }

    /// An enabled user of the tenant by user name, for the sign-in form.
    pub async fn user_for_sign_in(&self, tenant_id: Uuid, user_name: &str) -> Result<Option<User>, ProtocolError> {
        Ok(self.stores.users.find_user_by_name(tenant_id, user_name).await?.filter(|u| u.enabled))
    }

    /// Starts a session for a user whose password the server has checked. Answers the
    /// cookie value (shown only to the browser) and the session.
    pub async fn start_session(&self, user: &User) -> Result<(SecretValue, Session), ProtocolError> {
        let now = self.clock.now();
        let (cookie, handle) = new_handle()?;
        let session = Session {
            handle,
            sid: Uuid::new_v4().simple().to_string(),
            tenant_id: user.tenant_id,
            user_id: user.id,
            auth_time: now,
            expires: now + self.settings.session_lifetime,
        };
        self.stores.grants.create_session(session.clone()).await?;
        Ok((cookie, session))
    }

    pub async fn end_session_cookie(&self, cookie: &str) -> Result<(), ProtocolError> {
        Ok(self.stores.grants.delete_session(&key_of(cookie)).await?)
    }
}
