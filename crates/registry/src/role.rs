//! Roles. Two are built in, with the same ids in every tenant, so scripts can name them.

use uuid::{uuid, Uuid};

use crate::error::{RegistryError, Result};

/// Every client and user of a tenant holds it; reads of the admin API need it.
pub const TENANT_MEMBER: Uuid = uuid!("f1a9c6a2-2d2f-4a53-9a7b-7c3d5e0b1a01");
/// Writes of the admin API need it.
pub const TENANT_ADMINISTRATOR: Uuid = uuid!("2b7c4e6d-8f14-4c39-b0a2-5d6e7f8a9b02");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub built_in: bool,
}

impl Role {
    pub fn built_ins() -> [Role; 2] {
        [
            Role {
                id: TENANT_ADMINISTRATOR,
                name: "Tenant Administrator".into(),
                description: "Adds and manages clients, users and roles of the tenant.".into(),
                built_in: true,
            },
            Role {
                id: TENANT_MEMBER,
                name: "Tenant Member".into(),
                description: "Every member of the tenant; may read its registrations.".into(),
                built_in: true,
            },
        ]
    }

    /// A role a Tenant Administrator defines.
    pub fn custom(id: Option<Uuid>, name: Option<String>, description: Option<String>) -> Result<Self> {
        let name = name.map(|n| n.trim().to_owned()).unwrap_or_default();
        if name.is_empty() || name.chars().count() > 256 {
            return Err(RegistryError::invalid("Name", "is required, at most 256 characters"));
        }
        Ok(Role {
            id: id.unwrap_or_else(Uuid::new_v4),
            name,
            description: description.unwrap_or_default(),
            built_in: false,
        })
    }
}
