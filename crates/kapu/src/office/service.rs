//! Office use cases: staff by `kapu admin office`, the console's access
//! rule, finding a citizen, the citizen's card, and the counter actions
//! (each the same use case as the command line's, with the clerk named in
//! the audited reason).

use super::model::{Role, Staff};
use super::repo::OfficeRepo;
use crate::Kapu;
use crate::accounts::admin::{AdminError, Unlocked};
use crate::accounts::model::{Account, Username};
use crate::accounts::repo::AccountRepo;
use crate::audit::model::AuditEntry;
use crate::audit::repo::AuditRepo;
use crate::delegations::model::Delegation;
use crate::delegations::repo::DelegationRepo;
use crate::identity::model::VerifiedIdentity;
use crate::identity::service::{IdentityError, VerificationInput};
use crate::oidc::model::Level;
use crate::sessions::model::ActiveSession;
use crate::store::StoreError;
use crate::twostep::repo::TwoStepRepo;
use crate::twostep::service::TwoStepError;

#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    #[error("no account named {0:?}")]
    NoAccount(String),
    #[error("--office must be 1 to 200 characters without control characters")]
    Office,
    #[error("{0:?} is not on the office staff")]
    NotStaff(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a session may not use the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not on any office's staff (every citizen).
    NotStaff,
    /// Staff, but this session logged in without a code.
    NeedsTwoStep,
}

/// Why the console will not act for a username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Unknown,
    /// The staff member's own account: another clerk acts on it.
    Own,
}

/// What the console shows of a citizen: never a secret (no key, no
/// revocation code, no password hash, no document number).
#[derive(Debug)]
pub struct CitizenCard {
    pub account: Account,
    pub identity: Option<VerifiedIdentity>,
    pub two_step_on: bool,
    pub events: Vec<AuditEntry>,
    pub delegations: Vec<Delegation>,
}

/// How a clerk's action reads in the audit log: who, where, why.
fn reason_of(staff: &Staff, typed: &str) -> String {
    format!("clerk={} ({}), {}; reason={}", staff.username, staff.name, staff.office, typed.trim())
}

impl Kapu {
    /// `kapu admin office add`: the account joins an office's staff (or
    /// changes role or office).
    pub async fn admin_office_add(&self, username: &str, role: Role, office: &str) -> Result<Staff, OfficeError> {
        let office = office.trim();
        if office.is_empty() || office.chars().count() > 200 || office.chars().any(char::is_control) {
            return Err(OfficeError::Office);
        }
        let account = self.office_account_named(username).await?;
        self.store.upsert_staff(&account.id, role, office, self.now()).await?;
        self.store.staff_of(&account.id).await?.ok_or_else(|| OfficeError::NotStaff(username.to_owned()))
    }

    /// `kapu admin office remove`.
    pub async fn admin_office_remove(&self, username: &str) -> Result<(), OfficeError> {
        let account = self.office_account_named(username).await?;
        if self.store.delete_staff(&account.id).await? {
            Ok(())
        } else {
            Err(OfficeError::NotStaff(username.to_owned()))
        }
    }

    pub async fn admin_office_list(&self) -> Result<Vec<Staff>, StoreError> {
        self.store.list_staff().await
    }

    async fn office_account_named(&self, username: &str) -> Result<Account, OfficeError> {
        let no_account = || OfficeError::NoAccount(username.to_owned());
        let name = Username::parse(username).map_err(|_| no_account())?;
        self.store.account_by_username(&name).await?.ok_or_else(no_account)
    }

    /// The console's door: staff, logged in with a code this session
    /// (Ügyfélkapu+ required, whatever the one-step cut-off says).
    pub async fn console_staff(&self, session: &ActiveSession) -> Result<Result<Staff, Refused>, StoreError> {
        let Some(staff) = self.store.staff_of(&session.account.id).await? else { return Ok(Err(Refused::NotStaff)) };
        if crate::oidc::service::session_level(session) != Level::TwoStep {
            return Ok(Err(Refused::NeedsTwoStep));
        }
        Ok(Ok(staff))
    }

    /// Whether `staff` may act for `username`: an existing account, not their own.
    pub async fn console_target(&self, staff: &Staff, username: &str) -> Result<Result<(), Target>, StoreError> {
        let Ok(name) = Username::parse(username) else { return Ok(Err(Target::Unknown)) };
        match self.store.account_by_username(&name).await? {
            None => Ok(Err(Target::Unknown)),
            Some(a) if a.id == staff.account_id => Ok(Err(Target::Own)),
            Some(_) => Ok(Ok(())),
        }
    }

    /// Usernames matching a search: the username itself, or a verified
    /// family name with a date of birth.
    pub async fn console_find(
        &self,
        username: &str,
        family_name: &str,
        birth_date: &str,
    ) -> Result<Vec<String>, StoreError> {
        if let Ok(name) = Username::parse(username)
            && let Some(account) = self.store.account_by_username(&name).await?
        {
            return Ok(vec![account.username.as_str().to_owned()]);
        }
        match (family_name.trim(), birth_date.trim().parse::<jiff::civil::Date>()) {
            (family, Ok(date)) if !family.is_empty() => {
                self.store.accounts_by_identity(family, &date.to_string()).await
            }
            _ => Ok(Vec::new()),
        }
    }

    pub async fn citizen_card(&self, username: &str) -> Result<Option<CitizenCard>, IdentityError> {
        let Ok(name) = Username::parse(username) else { return Ok(None) };
        let Some(account) = self.store.account_by_username(&name).await? else { return Ok(None) };
        let identity = self.verified_identity(&account.id).await?;
        let two_step_on = self.store.credential(&account.id).await?.is_some();
        let events = self.store.audit_for_account(&account.id, 20).await?;
        let delegations = self.store.delegations_of(&account.id).await?;
        Ok(Some(CitizenCard { account, identity, two_step_on, events, delegations }))
    }

    /// "Kétlépcsős azonosítás visszaállítása" at the counter.
    pub async fn console_reset_two_step(
        &self,
        staff: &Staff,
        username: &str,
        typed_reason: &str,
    ) -> Result<Account, TwoStepError> {
        if typed_reason.trim().is_empty() {
            return Err(TwoStepError::Internal("a reason is required".into()));
        }
        self.office_reset_two_step(username, &reason_of(staff, typed_reason)).await
    }

    /// "Zárolások feloldása" at the counter.
    pub async fn console_unlock(
        &self,
        staff: &Staff,
        username: &str,
        typed_reason: &str,
    ) -> Result<Unlocked, AdminError> {
        if typed_reason.trim().is_empty() {
            return Err(AdminError::Invalid("a reason is required".into()));
        }
        self.admin_unlock(username, &reason_of(staff, typed_reason)).await
    }

    /// "Személyazonosság igazolása" at the counter: the clerk and office
    /// are the staff member's own, not typed.
    pub async fn console_verify(
        &self,
        staff: &Staff,
        username: &str,
        mut input: VerificationInput,
    ) -> Result<
        Result<Account, IdentityError>,
        Vec<(crate::identity::service::InputField, crate::identity::service::InputProblem)>,
    > {
        input.clerk = format!("{} ({})", staff.username, staff.name);
        input.office = staff.office.clone();
        let v = self.parse_verification(&input)?;
        Ok(self.office_verify_account(username, &v).await)
    }

    /// Every office action, newest first (supervisors only: the page checks).
    pub async fn office_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        self.store.office_actions(limit).await
    }
}
