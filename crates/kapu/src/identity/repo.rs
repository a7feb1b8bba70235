//! The `identities` and `identity_bindings` tables. Only this module writes
//! them. Each method is one statement; use cases compose them in one
//! transaction.

use async_trait::async_trait;

use super::model::{BirthDate, DocumentKind, PersonName, PersonalData, VerifiedIdentity};
use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};

/// An identity as it will be stored.
#[derive(Debug, Clone)]
pub struct NewIdentity<'a> {
    pub account_id: &'a AccountId,
    pub person_key: &'a str,
    pub data: &'a PersonalData,
    /// The document kind and number, sealed.
    pub document_sealed: &'a [u8],
    pub clerk: &'a str,
    pub office: &'a str,
    pub verified_at: UnixTime,
}

#[derive(Debug, sqlx::FromRow)]
struct IdentityRow {
    family_name: String,
    given_name: String,
    birth_family_name: String,
    birth_given_name: String,
    mother_birth_name: String,
    place_of_birth: String,
    birth_date: String,
    document_sealed: Vec<u8>,
    clerk: String,
    office: String,
    verified_at: i64,
}

/// An identity read back, with its sealed document (opened by the service).
#[derive(Debug)]
pub struct StoredIdentity {
    pub identity: VerifiedIdentityParts,
    pub document_sealed: Vec<u8>,
}

/// What the row holds besides the document's kind (which is sealed with its number).
#[derive(Debug)]
pub struct VerifiedIdentityParts {
    pub data: PersonalData,
    pub clerk: String,
    pub office: String,
    pub verified_at: UnixTime,
}

impl VerifiedIdentityParts {
    pub fn with_document(self, document_kind: DocumentKind) -> VerifiedIdentity {
        VerifiedIdentity {
            data: self.data,
            document_kind,
            clerk: self.clerk,
            office: self.office,
            verified_at: self.verified_at,
        }
    }
}

impl TryFrom<IdentityRow> for StoredIdentity {
    type Error = StoreError;

    fn try_from(r: IdentityRow) -> Result<Self, StoreError> {
        let birth_date = BirthDate::from_stored(&r.birth_date).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Decode("an identity has an unreadable birth date".into()))
        })?;
        let data = PersonalData {
            family_name: PersonName::from_stored(r.family_name),
            given_name: PersonName::from_stored(r.given_name),
            birth_family_name: PersonName::from_stored(r.birth_family_name),
            birth_given_name: PersonName::from_stored(r.birth_given_name),
            mother_birth_name: PersonName::from_stored(r.mother_birth_name),
            place_of_birth: PersonName::from_stored(r.place_of_birth),
            birth_date,
        };
        Ok(StoredIdentity {
            identity: VerifiedIdentityParts { data, clerk: r.clerk, office: r.office, verified_at: r.verified_at },
            document_sealed: r.document_sealed,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct AccountIdRow {
    account_id: String,
}

/// A verification waiting for its code, taken when the code is redeemed.
#[derive(Debug, sqlx::FromRow)]
pub struct RedeemedBinding {
    pub identity_sealed: Vec<u8>,
    pub clerk: String,
    pub office: String,
}

#[async_trait]
pub trait IdentityRepo: Db {
    async fn identity_of(&self, account_id: &AccountId) -> Result<Option<StoredIdentity>, StoreError> {
        let row: Option<IdentityRow> = self
            .fetch_optional(
                query(
                    "SELECT family_name, given_name, birth_family_name, birth_given_name, mother_birth_name, \
                     place_of_birth, birth_date, document_sealed, clerk, office, verified_at \
                     FROM identities WHERE account_id = $1",
                )
                .bind(&account_id.0),
            )
            .await?;
        row.map(StoredIdentity::try_from).transpose()
    }

    /// Binds an identity to an account. [`StoreError::Conflict`] when the
    /// account already has one, or the person is bound to another account.
    async fn insert_identity(&self, i: &NewIdentity<'_>) -> Result<(), StoreError> {
        let birth_date = i.data.birth_date.iso();
        self.execute(
            query(
                "INSERT INTO identities (account_id, person_key, family_name, given_name, birth_family_name, \
                 birth_given_name, mother_birth_name, place_of_birth, birth_date, document_sealed, clerk, office, \
                 verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&i.account_id.0)
            .bind(i.person_key)
            .bind(i.data.family_name.as_str())
            .bind(i.data.given_name.as_str())
            .bind(i.data.birth_family_name.as_str())
            .bind(i.data.birth_given_name.as_str())
            .bind(i.data.mother_birth_name.as_str())
            .bind(i.data.place_of_birth.as_str())
            .bind(birth_date.as_str())
            .bind(i.document_sealed)
            .bind(i.clerk)
            .bind(i.office)
            .bind(i.verified_at),
        )
        .await
        .map(drop)
    }

    /// The account a person's identity is bound to, if any.
    async fn account_of_person(&self, person_key: &str) -> Result<Option<AccountId>, StoreError> {
        let row: Option<AccountIdRow> = self
            .fetch_optional(query("SELECT account_id FROM identities WHERE person_key = $1").bind(person_key))
            .await?;
        Ok(row.map(|r| AccountId(r.account_id)))
    }

    /// A verification waiting for the citizen to enter its code.
    async fn insert_binding(
        &self,
        code_hash: &str,
        identity_sealed: &[u8],
        clerk: &str,
        office: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO identity_bindings (code_hash, identity_sealed, clerk, office, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(code_hash)
            .bind(identity_sealed)
            .bind(clerk)
            .bind(office)
            .bind(now)
            .bind(expires_at),
        )
        .await
        .map(drop)
    }

    /// Takes a live code's verification: one DELETE, so of racing
    /// redemptions (any number of instances) exactly one gets it.
    async fn redeem_binding(&self, code_hash: &str, now: UnixTime) -> Result<Option<RedeemedBinding>, StoreError> {
        self.fetch_optional(
            query(
                "DELETE FROM identity_bindings WHERE code_hash = $1 AND expires_at > $2 \
                 RETURNING identity_sealed, clerk, office",
            )
            .bind(code_hash)
            .bind(now),
        )
        .await
    }

    /// Codes nobody entered in time.
    async fn sweep_bindings(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM identity_bindings WHERE expires_at <= $1").bind(now)).await
    }
}

impl<T: Db> IdentityRepo for T {}
