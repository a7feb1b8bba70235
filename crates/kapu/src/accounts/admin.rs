//! Office and operator use cases (`kapu admin ...`): create an account for a
//! citizen in person, lift a citizen's locks, list accounts, read the audit log.

use crate::Kapu;
use crate::accounts::model::{Account, AccountId, AccountStatus, FullName, Language, Username};
use crate::accounts::repo::AccountRepo;
use crate::accounts::repo::NewAccount;
use crate::accounts::service::{AccountError, Field, FormErrors, Problem};
use crate::audit::model::{AuditEntry, AuditEvent, Outcome};
use crate::audit::repo::AuditRepo;
use crate::audit::{Actor, Subject};
use crate::crypto::random_id;
use crate::mail::EmailAddress;
use crate::passwords::Password;
use crate::store::StoreError;
use crate::throttle::{ThrottleRepo, username_key};
use crate::twostep::repo::TwoStepRepo;

/// What an office unlock lifted.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Unlocked {
    /// The name's password limit (or the lost-phone form's) was waiting or locked.
    pub login: bool,
    /// The code step had wrong codes counted, a wait or a lock.
    pub codes: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no account with the username {0:?}")]
    NoSuchUser(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(errors: &FormErrors) -> String {
    errors
        .0
        .iter()
        .map(|(field, problem)| {
            format!("{}: {}", field.id(), crate::i18n::problem_text(crate::i18n::texts(Language::En), problem))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Kapu {
    /// Creates an active account (the clerk has seen the citizen's ID).
    pub async fn admin_create_user(
        &self,
        username: &str,
        full_name: &str,
        email: &str,
        password: &Password,
        language: Language,
    ) -> Result<Account, AdminError> {
        let mut errors = FormErrors::default();
        let username = Username::parse(username).map_err(|e| errors.add(Field::Username, Problem::Username(e))).ok();
        let full_name = FullName::parse(full_name).map_err(|e| errors.add(Field::FullName, Problem::FullName(e))).ok();
        let email = EmailAddress::parse(email).map_err(|e| errors.add(Field::Email, Problem::Email(e))).ok();
        let context = [username.as_ref().map_or("", |u| u.as_str()), full_name.as_ref().map_or("", |n| n.as_str())];
        if let Err(r) = self.config.password_policy.check(password, &context) {
            errors.add(Field::Password, Problem::Password(r));
        }
        let (Some(username), Some(full_name), Some(email)) = (username, full_name, email) else {
            return Err(AdminError::Invalid(describe(&errors)));
        };
        if !errors.is_empty() {
            return Err(AdminError::Invalid(describe(&errors)));
        }
        let hash = self.hasher.hash(password).await.map_err(AccountError::from)?;
        let now = self.now();
        let account = NewAccount {
            id: AccountId(random_id()),
            username: username.clone(),
            full_name,
            email,
            password_hash: hash.as_str().to_owned(),
            status: AccountStatus::Active,
            pending_expires_at: None,
            language,
            created_at: now,
        };
        let tx = self.store.begin().await?;
        match tx.insert_account(&account).await {
            Err(StoreError::Conflict) => {
                tx.rollback().await?;
                return Err(AdminError::Invalid(format!("username: the username {:?} is taken", username.as_str())));
            }
            other => other?,
        }
        let created =
            tx.account_by_id(&account.id).await?.ok_or_else(|| AdminError::NoSuchUser(username.to_string()))?;
        let subject = Subject::account(&created);
        self.audit(&tx, AuditEvent::AccountCreatedByOffice, Outcome::Success, subject, &Actor::default(), None).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Lifts every lock on a citizen (`kapu admin user unlock`): the login
    /// limit of the name, the code step's wait or lock, and the lost-phone
    /// form's limit. Audited with the office's reason.
    pub async fn admin_unlock(&self, username: &str, reason: &str) -> Result<Unlocked, AdminError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AdminError::Invalid("a reason is required (e.g. \"called from the registered phone\")".into()));
        }
        let name = Username::parse(username).map_err(|_| AdminError::NoSuchUser(username.to_owned()))?;
        let account =
            self.store.account_by_username(&name).await?.ok_or_else(|| AdminError::NoSuchUser(username.to_owned()))?;
        let tx = self.store.begin().await?;
        let login = tx.clear_throttle(&username_key("user", name.as_str())).await?;
        let lost_phone = tx.clear_throttle(&username_key("revoke", name.as_str())).await?;
        let codes = tx.lift_code_lock(&account.id).await?;
        let unlocked = Unlocked { login: login || lost_phone, codes };
        let detail: String =
            format!("login={} codes={}: {reason}", unlocked.login, unlocked.codes).chars().take(500).collect();
        let subject = Subject::account(&account);
        self.audit(&tx, AuditEvent::Unlocked, Outcome::Success, subject, &Actor::default(), Some(detail)).await?;
        tx.commit().await?;
        Ok(unlocked)
    }

    pub async fn admin_list_users(&self, limit: i64, offset: i64) -> Result<Vec<Account>, AdminError> {
        Ok(self.store.list_accounts(limit, offset).await?)
    }

    pub async fn admin_audit(&self, username: &str, limit: i64) -> Result<Vec<AuditEntry>, AdminError> {
        let name = Username::parse(username).map_err(|_| AdminError::NoSuchUser(username.to_owned()))?;
        let account =
            self.store.account_by_username(&name).await?.ok_or_else(|| AdminError::NoSuchUser(username.to_owned()))?;
        Ok(self.store.audit_for_account(&account.id, limit).await?)
    }
}
