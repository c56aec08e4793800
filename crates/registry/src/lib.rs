//! The Gatehouse registry: who may ask. Tenants, clients of four kinds, their secrets,
//! roles and local users; the pure rules that bind them; and the stores that keep them.
//!
//! Nothing here speaks HTTP. The rules are those of `shared/spec/admin-api.md`.

pub mod audit;
pub mod client;
pub mod device;
pub mod error;
pub mod grant;
#[cfg(feature = "oxide-auth")]
pub mod oxide;
pub mod role;
pub mod secret;
pub mod store;
pub mod tenant;
pub mod uri;
pub mod user;

pub use client::{Client, ClientChanges, ClientKind, IdTokenSigningAlg};
pub use error::{Invalid, RegistryError, Result};
pub use role::{
    Role, RoleChanges, TENANT_ADMINISTRATOR, TENANT_ADMINISTRATOR_TYPE, TENANT_MEMBER, TENANT_MEMBER_TYPE, TENANT_SCOPE,
};
pub use secret::{ClientSecret, NewSecret, SecretHash, SecretValue};
pub use store::{ClientRef, ListQuery, Page, SecretChanges, Store};
pub use tenant::{SigningKeyRecord, Tenant, TenantSeed};
pub use user::{User, UserChanges};
