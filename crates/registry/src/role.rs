//! Roles. Two are built in, with the same ids in every tenant, so scripts can name them.

use uuid::{uuid, Uuid};

use crate::error::{RegistryError, Result};

/// Every client and user of a tenant holds it; reads of the admin API need it.
pub const TENANT_MEMBER: Uuid = uuid!("f1a9c6a2-2d2f-4a53-9a7b-7c3d5e0b1a01");
/// Writes of the admin API need it.
pub const TENANT_ADMINISTRATOR: Uuid = uuid!("2b7c4e6d-8f14-4c39-b0a2-5d6e7f8a9b02");

/// The product's well-known `RoleTypeId` of Tenant Administrator (admin-api.md, Role). Its
/// client library finds the built-in roles by these, not by their ids.
pub const TENANT_ADMINISTRATOR_TYPE: Uuid = uuid!("2dc742ab-39ea-4fc0-a39e-2bcb71c26a5f");
/// The product's well-known `RoleTypeId` of Tenant Member.
pub const TENANT_MEMBER_TYPE: Uuid = uuid!("7ad2b9ef-5386-4ead-ac9f-ad99c5c5b977");

/// The product's `RoleScope` of a tenant role, the only scope this server has (its others
/// are 0 none, 2 community, 3 cluster).
pub const TENANT_SCOPE: i64 = 1;
/// A custom role's `Name`: at most this many characters (after trimming).
pub const NAME_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub built_in: bool,
}

/// A custom role as a create or a partial update gives it (`None` leaves a property as it
/// is). Besides our properties, the product's client library sends `RoleScope` and may send
/// `RoleTypeId`, `TenantId` and `CommunityId`: each is accepted only with the one value this
/// server can honour, so that a GET body sent back is accepted.
#[derive(Debug, Clone, Default)]
pub struct RoleChanges {
    pub id: Option<Uuid>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub role_scope: Option<i64>,
    pub role_type_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    /// Ours, shown by GET: accepted when it says what the role is.
    pub built_in: Option<bool>,
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

    /// The product's `RoleTypeId`: the well-known type of a built-in role; a custom role has
    /// none.
    pub fn type_id(&self) -> Option<Uuid> {
        match self.id {
            TENANT_ADMINISTRATOR if self.built_in => Some(TENANT_ADMINISTRATOR_TYPE),
            TENANT_MEMBER if self.built_in => Some(TENANT_MEMBER_TYPE),
            _ => None,
        }
    }

    /// A role a Tenant Administrator defines in `tenant_id`.
    pub fn custom(tenant_id: Uuid, changes: RoleChanges) -> Result<Self> {
        let mut role = Role {
            id: changes.id.unwrap_or_else(Uuid::new_v4),
            name: String::new(),
            description: String::new(),
            built_in: false,
        };
        if changes.name.is_none() {
            return Err(RegistryError::invalid("Name", "is required, at most 256 characters"));
        }
        role.apply(tenant_id, RoleChanges { id: None, ..changes })?;
        Ok(role)
    }

    /// Applies a create's or an update's properties to a custom role of `tenant_id`. A
    /// built-in role cannot be changed: scripts and the admin API's own checks rely on it.
    pub fn apply(&mut self, tenant_id: Uuid, changes: RoleChanges) -> Result<()> {
        if self.built_in {
            return Err(RegistryError::invalid("Id", "names a built-in role, which cannot be changed"));
        }
        if changes.id.is_some_and(|id| id != self.id) {
            return Err(RegistryError::invalid("Id", "cannot be changed; it must match the id in the path"));
        }
        if changes.built_in == Some(true) {
            return Err(RegistryError::invalid("BuiltIn", "must be false or absent: only the two built-in roles are"));
        }
        if changes.role_scope.is_some_and(|s| s != TENANT_SCOPE) {
            return Err(RegistryError::invalid(
                "RoleScope",
                format!("must be {TENANT_SCOPE} (tenant) or absent: this server has only tenant roles"),
            ));
        }
        if changes.role_type_id.is_some() {
            return Err(RegistryError::invalid(
                "RoleTypeId",
                "must be null or absent: a custom role has no type (only the built-in roles have one)",
            ));
        }
        if changes.tenant_id.is_some_and(|t| t != tenant_id) {
            return Err(RegistryError::invalid("TenantId", "must be null, absent, or the tenant in the path"));
        }
        if changes.community_id.is_some() {
            return Err(RegistryError::invalid(
                "CommunityId",
                "must be null or absent: this server has no communities",
            ));
        }
        if let Some(name) = changes.name {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > NAME_MAX {
                return Err(RegistryError::invalid("Name", format!("is required, at most {NAME_MAX} characters")));
            }
            self.name = name;
        }
        if let Some(description) = changes.description {
            self.description = description;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> RoleChanges {
        RoleChanges { name: Some(name.into()), ..Default::default() }
    }

    #[test]
    fn built_ins_have_the_products_type_ids_and_custom_roles_none() {
        let [admin, member] = Role::built_ins();
        assert_eq!((admin.type_id(), member.type_id()), (Some(TENANT_ADMINISTRATOR_TYPE), Some(TENANT_MEMBER_TYPE)));
        let tenant = Uuid::new_v4();
        let custom = Role::custom(tenant, RoleChanges { role_scope: Some(1), tenant_id: Some(tenant), ..named("r") });
        assert_eq!(custom.expect("valid").type_id(), None);
        // A custom role that took a built-in's id (in another tenant's numbering) is no built-in.
        let lookalike = Role { id: TENANT_MEMBER, name: "x".into(), description: String::new(), built_in: false };
        assert_eq!(lookalike.type_id(), None);
    }

    #[test]
    fn the_products_properties_are_accepted_only_with_values_we_honour() {
        let tenant = Uuid::new_v4();
        let field = |new: RoleChanges| match Role::custom(tenant, new) {
            Err(RegistryError::Invalid(i)) => i.field,
            other => panic!("expected a rule, got {other:?}"),
        };
        assert_eq!(field(RoleChanges { role_scope: Some(0), ..named("r") }), "RoleScope");
        assert_eq!(field(RoleChanges { role_scope: Some(2), ..named("r") }), "RoleScope");
        assert_eq!(field(RoleChanges { role_type_id: Some(TENANT_MEMBER_TYPE), ..named("r") }), "RoleTypeId");
        assert_eq!(field(RoleChanges { tenant_id: Some(Uuid::new_v4()), ..named("r") }), "TenantId");
        assert_eq!(field(RoleChanges { community_id: Some(Uuid::new_v4()), ..named("r") }), "CommunityId");
        assert_eq!(field(named("  ")), "Name");
        assert_eq!(field(RoleChanges::default()), "Name");
        assert_eq!(field(RoleChanges { built_in: Some(true), ..named("r") }), "BuiltIn");
    }

    #[test]
    fn custom_roles_change_in_part_and_built_ins_not_at_all() {
        let tenant = Uuid::new_v4();
        let mut role =
            Role::custom(tenant, RoleChanges { description: Some("d".into()), ..named("r") }).expect("valid");
        let rename = RoleChanges { id: Some(role.id), role_scope: Some(1), tenant_id: Some(tenant), ..named(" s ") };
        role.apply(tenant, rename).expect("a GET body sent back with a new name");
        assert_eq!((role.name.as_str(), role.description.as_str()), ("s", "d"));
        let moved = RoleChanges { id: Some(Uuid::new_v4()), ..Default::default() };
        assert!(matches!(role.apply(tenant, moved), Err(RegistryError::Invalid(i)) if i.field == "Id"));
        let [mut admin, _] = Role::built_ins();
        assert!(matches!(admin.apply(tenant, named("x")), Err(RegistryError::Invalid(i)) if i.field == "Id"));
    }
}
