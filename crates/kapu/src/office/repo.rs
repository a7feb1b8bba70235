//! The `office_staff` table. Only this module writes it.

use async_trait::async_trait;

use super::model::{Role, Staff};
use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};

#[derive(Debug, sqlx::FromRow)]
struct StaffRow {
    account_id: String,
    username: String,
    full_name: String,
    role: String,
    office: String,
}

impl From<StaffRow> for Staff {
    fn from(r: StaffRow) -> Self {
        Staff {
            account_id: AccountId(r.account_id),
            username: r.username,
            name: r.full_name,
            // An unknown role (written by a newer version) gives least rights.
            role: Role::parse(&r.role).unwrap_or(Role::Clerk),
            office: r.office,
        }
    }
}

const SELECT: &str = "SELECT s.account_id, a.username, a.full_name, s.role, s.office \
     FROM office_staff s JOIN accounts a ON a.id = s.account_id";

#[async_trait]
pub trait OfficeRepo: Db {
    async fn staff_of(&self, account_id: &AccountId) -> Result<Option<Staff>, StoreError> {
        let row: Option<StaffRow> =
            self.fetch_optional(query(&format!("{SELECT} WHERE s.account_id = $1")).bind(&account_id.0)).await?;
        Ok(row.map(Staff::from))
    }

    async fn list_staff(&self) -> Result<Vec<Staff>, StoreError> {
        let rows: Vec<StaffRow> = self.fetch_all(query(&format!("{SELECT} ORDER BY a.username"))).await?;
        Ok(rows.into_iter().map(Staff::from).collect())
    }

    /// Adds the account to the staff, or changes its role and office.
    async fn upsert_staff(
        &self,
        account_id: &AccountId,
        role: Role,
        office: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO office_staff (account_id, role, office, added_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (account_id) DO UPDATE SET role = excluded.role, office = excluded.office",
            )
            .bind(&account_id.0)
            .bind(role.as_str())
            .bind(office)
            .bind(now),
        )
        .await
        .map(drop)
    }

    /// Whether the account was on the staff.
    async fn delete_staff(&self, account_id: &AccountId) -> Result<bool, StoreError> {
        Ok(self.execute(query("DELETE FROM office_staff WHERE account_id = $1").bind(&account_id.0)).await? == 1)
    }

    /// Accounts whose verified identity has this family name (as on the
    /// document: an exact match, the same on both engines) and birth date.
    async fn accounts_by_identity(&self, family_name: &str, birth_date: &str) -> Result<Vec<String>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Name {
            username: String,
        }
        let rows: Vec<Name> = self
            .fetch_all(
                query(
                    "SELECT a.username FROM identities i JOIN accounts a ON a.id = i.account_id \
                     WHERE i.family_name = $1 AND i.birth_date = $2 ORDER BY a.username LIMIT 50",
                )
                .bind(family_name)
                .bind(birth_date),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.username).collect())
    }
}

impl<T: Db> OfficeRepo for T {}
