//! Office staff and their roles.

use crate::accounts::model::AccountId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Finds citizens and acts for them at the counter.
    Clerk,
    /// A clerk who also sees every office action.
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Role::Clerk, Role::Supervisor].into_iter().find(|r| r.as_str() == s)
    }
}

/// A member of an office's staff.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Staff {
    #[serde(skip)]
    pub account_id: AccountId,
    pub username: String,
    pub name: String,
    pub role: Role,
    pub office: String,
}
