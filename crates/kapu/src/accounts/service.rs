//! Account use cases. Each parses its input into domain types, checks the
//! rules, and stores the result with its audit event in one unit of work.
//! Nothing is stored when any field is wrong.

use crate::Kapu;
use crate::accounts::model::{
    Account, AccountId, AccountStatus, EmailLink, FullName, FullNameError, Language, LinkPurpose, Username,
    UsernameError,
};
use crate::accounts::repo::{AccountRepo, NewAccount};
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::repo::AuditRepo;
use crate::audit::{Actor, Subject};
use crate::clock::UnixTime;
use crate::crypto::{random_id, random_token, token_hash};
use crate::mail::notice::Notice;
use crate::mail::{EmailAddress, EmailAddressError};
use crate::passwords::{HashError, Password, PasswordRejection};
use crate::sessions::model::SessionRecord;
use crate::sessions::repo::SessionRepo;
use crate::store::{Db, StoreError};
use crate::throttle::{
    Action, AttemptKeys, CheckError, PasswordCheck, Taken, ThrottleRepo, give_back, take_attempts, username_key,
};
use crate::twostep::repo::TwoStepRepo;
use crate::twostep::service::LoginStep;

/// The form fields the account pages have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Username,
    FullName,
    Email,
    Password,
    PasswordAgain,
    CurrentPassword,
    Confirm,
    Code,
    RevocationCode,
    BindingCode,
    AgentUsername,
    AgentBirthDate,
    Matter,
    Service,
    ValidFrom,
    ValidUntil,
}

impl Field {
    /// The HTML id of the field's input, for error-summary links.
    pub fn id(self) -> &'static str {
        match self {
            Field::Username => "username",
            Field::FullName => "full_name",
            Field::Email => "email",
            Field::Password => "password",
            Field::PasswordAgain => "password_again",
            Field::CurrentPassword => "current_password",
            Field::Confirm => "confirm",
            Field::Code => "code",
            Field::RevocationCode => "revocation_code",
            Field::BindingCode => "binding_code",
            Field::AgentUsername => "agent_username",
            Field::AgentBirthDate => "agent_birth_date",
            Field::Matter => "matter",
            Field::Service => "service",
            Field::ValidFrom => "valid_from",
            Field::ValidUntil => "valid_until",
        }
    }
}

/// What is wrong with a field; the pages say it in the page's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Username(UsernameError),
    UsernameTaken,
    FullName(FullNameError),
    Email(EmailAddressError),
    Password(PasswordRejection),
    PasswordMismatch,
    /// Nothing typed in a password field.
    PasswordEmpty,
    WrongPassword,
    MustConfirm,
    /// Not six digits (a typing slip, not counted as a guess).
    CodeFormat(otp::CodeError),
    /// Not the current code.
    WrongCode,
    /// The right code, but used already: wait for the next one (not a guess).
    CodeAlreadyUsed,
    MustConfirmSaved,
    /// Too many wrong passwords: wait before the next try.
    TooManyAttempts,
    /// Username, password or revocation code wrong (one answer for all).
    RevocationDataWrong,
    /// What was typed cannot be a revocation code (not 16 digits): not a
    /// guess, so no try is used.
    RevocationCodeFormat,
    /// No identity binding code typed.
    BindingCodeEmpty,
    /// What was typed cannot be a binding code (not 16 letters and digits).
    BindingCodeFormat,
    /// Not a live binding code (wrong, used or expired: one answer).
    BindingCodeWrong,
    /// Not a date like 2026-12-31.
    DateFormat,
    /// No verified citizen with this username and date of birth (one answer).
    DelegationAgentUnknown,
    /// A citizen cannot delegate to themselves.
    DelegationAgentSelf,
    /// Not one of the configured matters.
    DelegationMatter,
    /// Not a registered service.
    DelegationService,
    /// The first day is before today.
    DelegationStartPast,
    /// The last day is before the first.
    DelegationEndBeforeStart,
    /// Longer than `delegations.max_days`.
    DelegationTooLong {
        max_days: i64,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors(pub Vec<(Field, Problem)>);

impl FormErrors {
    pub fn add(&mut self, field: Field, problem: Problem) {
        self.0.push((field, problem));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn for_field(&self, field: Field) -> Option<&Problem> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, p)| p)
    }
    fn into_result(self) -> Result<(), AccountError> {
        if self.is_empty() { Ok(()) } else { Err(AccountError::Form(self)) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the form has errors")]
    Form(FormErrors),
    /// The link was used already, expired or never existed.
    #[error("the link is not valid")]
    LinkInvalid,
    /// Too many wrong passwords: no attempt is checked before `until`.
    #[error("too many failed attempts")]
    Blocked { until: UnixTime },
    /// Too many registrations, resets or address changes from this address
    /// (or in all): try again after `until`.
    #[error("too many requests")]
    RateLimited { until: UnixTime },
    /// Too many password checks at once; try again in a moment.
    #[error("the server is busy")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl From<HashError> for AccountError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AccountError::Busy,
            other => AccountError::Hash(other.to_string()),
        }
    }
}

impl From<CheckError> for AccountError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Store(e) => e.into(),
            CheckError::Hash(e) => e.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// A field was left empty: said per field, no attempt taken (nothing was
    /// guessed, and it tells nothing about any account).
    #[error("a field is empty")]
    Form(FormErrors),
    /// Wrong username or password: one answer for both. `blocked_until` is set
    /// when this failure means waiting before the next try.
    #[error("wrong username or password")]
    InvalidCredentials { blocked_until: Option<UnixTime> },
    /// Too many failures: no attempt is checked before `until`.
    #[error("too many failed attempts")]
    Blocked { until: UnixTime },
    /// The password was right but the registration link was never opened.
    #[error("the registration is not confirmed yet")]
    NotConfirmed,
    #[error("the server is busy")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl From<HashError> for LoginError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => LoginError::Busy,
            other => LoginError::Hash(other.to_string()),
        }
    }
}

impl From<CheckError> for LoginError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Store(e) => e.into(),
            CheckError::Hash(e) => e.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RegistrationInput {
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub password: Password,
    pub password_again: Password,
    pub language: Language,
}

/// A new session: the cookie token (shown once) and what was stored.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub record: SessionRecord,
    pub account: Account,
}

fn email_local_part(email: &str) -> &str {
    email.split('@').next().unwrap_or("")
}

impl Kapu {
    fn check_new_password(&self, errors: &mut FormErrors, password: &Password, again: &Password, context: &[&str]) {
        if let Err(rejection) = self.config.password_policy.check(password, context) {
            errors.add(Field::Password, Problem::Password(rejection));
        } else if password.expose() != again.expose() {
            errors.add(Field::PasswordAgain, Problem::PasswordMismatch);
        }
    }

    pub(crate) fn new_link(
        &self,
        purpose: LinkPurpose,
        account_id: &AccountId,
        new_email: Option<String>,
        ttl: i64,
    ) -> (String, EmailLink) {
        let token = random_token();
        let now = self.now();
        let link = EmailLink {
            token_hash: token_hash(&token),
            purpose,
            account_id: account_id.clone(),
            new_email,
            created_at: now,
            expires_at: now + ttl,
        };
        (token, link)
    }

    /// Stores a link on `db`; earlier links of the same purpose stop working.
    pub(crate) async fn replace_link(&self, db: &impl Db, link: &EmailLink) -> Result<(), StoreError> {
        db.delete_email_links(&link.account_id, link.purpose).await?;
        db.insert_email_link(link).await
    }

    /// Takes an attempt on a rate-limited action (before its hash or mail).
    async fn rate_limit(&self, action: Action, actor: &Actor) -> Result<(), AccountError> {
        let keys = AttemptKeys::action(&self.limits, action, actor.client_addr.as_deref());
        match take_attempts(&self.store, &keys, self.now()).await? {
            Ok(_) => Ok(()),
            Err(until) => Err(AccountError::RateLimited { until }),
        }
    }

    /// "Még nem regisztrált?": stores a pending account and emails the link
    /// that activates it.
    pub async fn register(&self, input: RegistrationInput, actor: &Actor) -> Result<(), AccountError> {
        let mut errors = FormErrors::default();
        let username =
            Username::parse(&input.username).map_err(|e| errors.add(Field::Username, Problem::Username(e))).ok();
        let full_name =
            FullName::parse(&input.full_name).map_err(|e| errors.add(Field::FullName, Problem::FullName(e))).ok();
        let email = EmailAddress::parse(&input.email).map_err(|e| errors.add(Field::Email, Problem::Email(e))).ok();
        let context = [
            username.as_ref().map_or("", |u| u.as_str()),
            full_name.as_ref().map_or("", |n| n.as_str()),
            email.as_ref().map_or("", |e| email_local_part(e.as_str())),
        ];
        self.check_new_password(&mut errors, &input.password, &input.password_again, &context);
        let now = self.now();
        if let Some(name) = &username
            && let Some(existing) = self.store.account_by_username(name).await?
        {
            // A pending registration whose link expired frees the name.
            let expired_pending = existing.status == AccountStatus::Pending && self.pending_expired(&existing, now);
            if !expired_pending {
                errors.add(Field::Username, Problem::UsernameTaken);
            }
        }
        errors.clone().into_result()?;
        let (Some(username), Some(full_name), Some(email)) = (username, full_name, email) else {
            return Err(AccountError::Form(errors));
        };
        // A registration costs a hash and a mail: limited before either.
        self.rate_limit(Action::Registration, actor).await?;
        let password_hash = self.hasher.hash_new_password(&input.password).await?;
        let ttl = self.config.email_links.registration_ttl_seconds;
        let account = NewAccount {
            id: AccountId(random_id()),
            username,
            full_name,
            email,
            password_hash: password_hash.as_str().to_owned(),
            status: AccountStatus::Pending,
            pending_expires_at: Some(now + ttl),
            language: input.language,
            created_at: now,
        };
        let (token, link) = self.new_link(LinkPurpose::Registration, &account.id, None, ttl);
        let tx = self.store.begin().await?;
        tx.delete_expired_registration(&account.username, now).await?;
        match tx.insert_account(&account).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                tx.rollback().await?;
                let mut errors = FormErrors::default();
                errors.add(Field::Username, Problem::UsernameTaken);
                return Err(AccountError::Form(errors));
            }
            Err(e) => return Err(e.into()),
        }
        tx.insert_email_link(&link).await?;
        let subject =
            Subject { account_id: Some(account.id.clone()), username: Some(account.username.as_str().to_owned()) };
        self.audit(&tx, AuditEvent::Registered, Outcome::Success, subject, actor, None).await?;
        self.send_registration_link(&tx, &account.username, &account.email, account.language, &token).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn send_registration_link(
        &self,
        db: &impl Db,
        username: &Username,
        email: &EmailAddress,
        language: Language,
        token: &str,
    ) -> Result<(), StoreError> {
        let ttl = self.config.email_links.registration_ttl_seconds;
        let notice = Notice::RegistrationLink {
            username: username.as_str().to_owned(),
            url: self.link(&format!("/register/confirm/{token}")),
            hours: (ttl + 3599) / 3600,
        };
        self.send_notice(db, email, None, language, notice).await.map(drop)
    }

    /// "Nem kaptam meg a levelet" after registering: a new link (the old one
    /// stops working) if a registration with this name and address waits for
    /// its confirmation. The caller answers the same either way.
    pub async fn resend_registration_link(
        &self,
        typed_username: &str,
        typed_email: &str,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        self.rate_limit(Action::Registration, actor).await?;
        let (Ok(name), Ok(email)) = (Username::parse(typed_username), EmailAddress::parse(typed_email)) else {
            return Ok(());
        };
        let now = self.now();
        let Some(account) = self.store.account_by_username(&name).await? else { return Ok(()) };
        if account.status != AccountStatus::Pending
            || self.pending_expired(&account, now)
            || !account.email.as_str().eq_ignore_ascii_case(email.as_str())
        {
            return Ok(());
        }
        let ttl = account.created_at + self.config.email_links.registration_ttl_seconds - now;
        let (token, link) = self.new_link(LinkPurpose::Registration, &account.id, None, ttl);
        let tx = self.store.begin().await?;
        self.replace_link(&tx, &link).await?;
        self.send_registration_link(&tx, &account.username, &account.email, account.language, &token).await?;
        tx.commit().await?;
        Ok(())
    }

    fn pending_expired(&self, account: &Account, now: UnixTime) -> bool {
        // Pending accounts store their expiry in the link; the account row's
        // creation time plus the TTL is the same moment.
        account.created_at + self.config.email_links.registration_ttl_seconds <= now
    }

    /// Whether a registration link can still be used (to show its page).
    pub async fn registration_link_is_valid(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.store.email_link_account(&token_hash(token), LinkPurpose::Registration, self.now()).await?.is_some())
    }

    /// Opens the registration link: the account becomes usable. Single use.
    pub async fn confirm_registration(&self, token: &str, actor: &Actor) -> Result<Account, AccountError> {
        let now = self.now();
        let tx = self.store.begin().await?;
        let Some(link) = tx.consume_email_link(&token_hash(token), LinkPurpose::Registration, now).await? else {
            tx.rollback().await?;
            return Err(AccountError::LinkInvalid);
        };
        tx.activate_account(&link.account_id, now).await?;
        let account = tx.account_by_id(&AccountId(link.account_id)).await?.ok_or(AccountError::LinkInvalid)?;
        self.audit(&tx, AuditEvent::RegistrationConfirmed, Outcome::Success, Subject::account(&account), actor, None)
            .await?;
        tx.commit().await?;
        Ok(account)
    }

    /// "AZONOSÍTÁS": username and password. The attempt is taken (on the
    /// typed name and the client address) before the password is checked.
    /// Unknown names and wrong passwords get the same answer after the same
    /// work (a dummy hash), and count against the same limits.
    pub async fn login(
        &self,
        typed_username: &str,
        password: &Password,
        actor: &Actor,
    ) -> Result<LoginStep, LoginError> {
        let mut empty = FormErrors::default();
        if typed_username.trim().is_empty() {
            empty.add(Field::Username, Problem::Username(UsernameError::Empty));
        }
        if password.expose().is_empty() {
            empty.add(Field::Password, Problem::PasswordEmpty);
        }
        if !empty.is_empty() {
            return Err(LoginError::Form(empty));
        }
        let account = match Username::parse(typed_username) {
            Ok(name) => self.store.account_by_username(&name).await?,
            Err(_) => None,
        };
        let keys = AttemptKeys::password(&self.limits, typed_username, actor.client_addr.as_deref());
        let (needs_rehash, taken) = match self.check_password_limited(&keys, account.as_ref(), password).await? {
            PasswordCheck::Blocked { until } => {
                self.metrics.login("blocked");
                let detail = Some(format!("blocked until {}", self.format_time(until)));
                let subject = Subject::typed_username(typed_username);
                self.audit(&self.store, AuditEvent::LoginBlocked, Outcome::Failure, subject, actor, detail).await?;
                return Err(LoginError::Blocked { until });
            }
            PasswordCheck::Checked { right: true, needs_rehash, taken } => (needs_rehash, taken),
            PasswordCheck::Checked { right: false, taken, .. } => {
                return Err(self.login_failed(typed_username, account.as_ref(), &taken, actor).await?);
            }
        };
        let Some(account) = account else {
            return Err(LoginError::Hash("a right password for no account".into()));
        };
        if account.status != AccountStatus::Active {
            give_back(&self.store, &taken).await?;
            self.metrics.login("not_confirmed");
            return Err(LoginError::NotConfirmed);
        }
        let upgraded = if needs_rehash { Some(self.hasher.hash(password).await?) } else { None };
        let tx = self.store.begin().await?;
        give_back(&tx, &taken).await?;
        if let Some(hash) = &upgraded {
            tx.set_password_hash(&account.id, hash.as_str(), self.now()).await?;
        }
        let step = self.after_password(&tx, &account, actor).await?;
        if let LoginStep::Done(_) = &step {
            self.audit(&tx, AuditEvent::LoginSucceeded, Outcome::Success, Subject::account(&account), actor, None)
                .await?;
            self.notify_login(&tx, &account, actor).await?;
        }
        tx.commit().await?;
        if let LoginStep::Done(_) = &step {
            self.metrics.login("success");
        }
        Ok(step)
    }

    /// A wrong password: the attempt stays counted; the failure (and a
    /// lockout it reached) is recorded; the answer says how long to wait.
    async fn login_failed(
        &self,
        typed_username: &str,
        account: Option<&Account>,
        taken: &Taken,
        actor: &Actor,
    ) -> Result<LoginError, StoreError> {
        self.metrics.login("invalid_credentials");
        let subject = account.map_or_else(|| Subject::typed_username(typed_username), Subject::account);
        let now = self.now();
        let user_attempt = taken.number_on("user:").unwrap_or(0);
        let address_attempt = taken.number_on("addr:").unwrap_or(0);
        let wait = self.limits.username.wait_after(user_attempt).max(self.limits.address.wait_after(address_attempt));
        let locked_out = user_attempt == self.limits.username.lockout_after;
        let tx = self.store.begin().await?;
        self.audit(&tx, AuditEvent::LoginFailed, Outcome::Failure, subject.clone(), actor, None).await?;
        if locked_out {
            self.metrics.lockout();
            let detail = Some(format!("locked until {}", self.format_time(now + wait)));
            self.audit(&tx, AuditEvent::LockedOut, Outcome::Failure, subject, actor, detail).await?;
        }
        tx.commit().await?;
        Ok(LoginError::InvalidCredentials { blocked_until: (wait > 0).then_some(now + wait) })
    }

    /// "Email me about every login" (Beállítások), on the login's unit of work.
    pub(crate) async fn notify_login(&self, db: &impl Db, account: &Account, actor: &Actor) -> Result<(), StoreError> {
        if !account.notify_logins {
            return Ok(());
        }
        let address = actor.client_addr.clone().unwrap_or_else(|| "?".to_owned());
        self.notify_account(db, account, Notice::LoginNotice { address }).await
    }

    /// "Elfelejtett jelszó": emails a reset link if the name belongs to an
    /// active account. The caller answers the same either way, without waiting
    /// for this (run it in the background), so neither text nor timing tells.
    pub async fn request_password_reset(&self, typed_username: &str, actor: &Actor) -> Result<(), AccountError> {
        let Ok(name) = Username::parse(typed_username) else {
            return Ok(());
        };
        self.rate_limit(Action::PasswordReset, actor).await?;
        let Some(account) = self.store.account_by_username(&name).await? else {
            let subject = Subject::typed_username(typed_username);
            self.audit(&self.store, AuditEvent::PasswordResetRequested, Outcome::Failure, subject, actor, None).await?;
            return Ok(());
        };
        if account.status != AccountStatus::Active {
            return Ok(());
        }
        let ttl = self.config.email_links.password_reset_ttl_seconds;
        let (token, link) = self.new_link(LinkPurpose::PasswordReset, &account.id, None, ttl);
        let tx = self.store.begin().await?;
        self.replace_link(&tx, &link).await?;
        self.audit(&tx, AuditEvent::PasswordResetRequested, Outcome::Success, Subject::account(&account), actor, None)
            .await?;
        let notice = Notice::PasswordResetLink {
            username: account.username.as_str().to_owned(),
            url: self.link(&format!("/password/reset/{token}")),
            minutes: ttl / 60,
        };
        self.send_notice(&tx, &account.email, None, account.language, notice).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn password_reset_link_is_valid(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.store.email_link_account(&token_hash(token), LinkPurpose::PasswordReset, self.now()).await?.is_some())
    }

    /// Sets a new password from a reset link (single use) and ends every
    /// session and half-finished login of the account.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &Password,
        again: &Password,
        actor: &Actor,
    ) -> Result<Account, AccountError> {
        let hash = token_hash(token);
        let id = self
            .store
            .email_link_account(&hash, LinkPurpose::PasswordReset, self.now())
            .await?
            .ok_or(AccountError::LinkInvalid)?;
        let account = self.store.account_by_id(&id).await?.ok_or(AccountError::LinkInvalid)?;
        let mut errors = FormErrors::default();
        let context = [account.username.as_str(), account.full_name.as_str(), email_local_part(account.email.as_str())];
        self.check_new_password(&mut errors, password, again, &context);
        errors.into_result()?;
        let new_hash = self.hasher.hash_new_password(password).await?;
        let now = self.now();
        let tx = self.store.begin().await?;
        if tx.consume_email_link(&hash, LinkPurpose::PasswordReset, now).await?.is_none() {
            tx.rollback().await?;
            return Err(AccountError::LinkInvalid);
        }
        tx.set_password_hash(&account.id, new_hash.as_str(), now).await?;
        tx.delete_sessions_of(&account.id, None).await?;
        tx.delete_pending_logins_of(&account.id).await?;
        // A reset proves control of the mailbox: forget the name's failures.
        tx.clear_throttle(&username_key("user", account.username.as_str())).await?;
        self.audit(&tx, AuditEvent::PasswordReset, Outcome::Success, Subject::account(&account), actor, None).await?;
        self.notify_account(&tx, &account, Notice::PasswordChanged).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// Checks the account's own password (for changes that need it), taking
    /// a login attempt first, so these forms cannot be used to guess. A
    /// right password's attempts come back with the change (`taken`).
    async fn check_current_password(
        &self,
        account: &Account,
        password: &Password,
        actor: &Actor,
    ) -> Result<(bool, Taken), AccountError> {
        let keys = AttemptKeys::password(&self.limits, account.username.as_str(), actor.client_addr.as_deref());
        match self.check_password_limited(&keys, Some(account), password).await? {
            PasswordCheck::Blocked { until } => Err(AccountError::Blocked { until }),
            PasswordCheck::Checked { right, taken, .. } => Ok((right, taken)),
        }
    }

    /// "Jelszóváltoztatás": current password, new one twice; every other
    /// session and half-finished login of the account ends, and this
    /// browser's session goes on under a new id (returned: its cookie token).
    pub async fn change_password(
        &self,
        account: &Account,
        session: &SessionRecord,
        current: &Password,
        password: &Password,
        again: &Password,
        actor: &Actor,
    ) -> Result<String, AccountError> {
        let mut errors = FormErrors::default();
        let (right, taken) = self.check_current_password(account, current, actor).await?;
        if !right {
            errors.add(Field::CurrentPassword, Problem::WrongPassword);
        }
        let context = [account.username.as_str(), account.full_name.as_str(), email_local_part(account.email.as_str())];
        self.check_new_password(&mut errors, password, again, &context);
        if !errors.is_empty() {
            if right {
                give_back(&self.store, &taken).await?;
            }
            return Err(AccountError::Form(errors));
        }
        let hash = self.hasher.hash_new_password(password).await?;
        let tx = self.store.begin().await?;
        give_back(&tx, &taken).await?;
        tx.set_password_hash(&account.id, hash.as_str(), self.now()).await?;
        tx.delete_sessions_of(&account.id, Some(&session.id_hash)).await?;
        tx.delete_pending_logins_of(&account.id).await?;
        let (token, _) = self.renew_session_id(&tx, session).await?;
        self.audit(&tx, AuditEvent::PasswordChanged, Outcome::Success, Subject::account(account), actor, None).await?;
        self.notify_account(&tx, account, Notice::PasswordChanged).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// "Regisztrációs adatok": a new name counts at once; a new email address
    /// only once the link sent to it is opened.
    pub async fn update_registration_data(
        &self,
        account: &Account,
        full_name: &str,
        email: &str,
        actor: &Actor,
    ) -> Result<RegistrationDataChange, AccountError> {
        let mut errors = FormErrors::default();
        let full_name = FullName::parse(full_name).map_err(|e| errors.add(Field::FullName, Problem::FullName(e))).ok();
        let email = EmailAddress::parse(email).map_err(|e| errors.add(Field::Email, Problem::Email(e))).ok();
        errors.clone().into_result()?;
        let (Some(full_name), Some(email)) = (full_name, email) else {
            return Err(AccountError::Form(errors));
        };
        let mut change = RegistrationDataChange::default();
        let new_email = email.as_str() != account.email.as_str();
        if new_email {
            self.rate_limit(Action::EmailChange, actor).await?;
        }
        let tx = self.store.begin().await?;
        if full_name != account.full_name {
            tx.set_full_name(&account.id, &full_name, self.now()).await?;
            self.audit(&tx, AuditEvent::NameChanged, Outcome::Success, Subject::account(account), actor, None).await?;
            change.name_changed = true;
        }
        if new_email {
            self.send_email_change_link(&tx, account, &email).await?;
            // The old address hears of it too, in case this was not the owner.
            let requested = Notice::EmailChangeRequested { new_email: email.as_str().to_owned() };
            self.notify_account(&tx, account, requested).await?;
            self.audit(&tx, AuditEvent::EmailChangeRequested, Outcome::Success, Subject::account(account), actor, None)
                .await?;
            change.email_pending = Some(email);
        }
        tx.commit().await?;
        Ok(change)
    }

    /// A new link to `email` (earlier ones stop working), on `db`.
    async fn send_email_change_link(
        &self,
        db: &impl Db,
        account: &Account,
        email: &EmailAddress,
    ) -> Result<(), StoreError> {
        let ttl = self.config.email_links.email_change_ttl_seconds;
        let (token, link) = self.new_link(LinkPurpose::EmailChange, &account.id, Some(email.as_str().to_owned()), ttl);
        self.replace_link(db, &link).await?;
        let notice = Notice::EmailChangeLink {
            username: account.username.as_str().to_owned(),
            url: self.link(&format!("/account/email/confirm/{token}")),
        };
        self.send_notice(db, email, None, account.language, notice).await.map(drop)
    }

    /// The address an email change waits to be confirmed at, if any.
    pub async fn pending_email_change(&self, account: &Account) -> Result<Option<EmailAddress>, StoreError> {
        let pending = self.store.pending_link_email(&account.id, LinkPurpose::EmailChange, self.now()).await?;
        Ok(pending.and_then(|e| EmailAddress::parse(&e).ok()))
    }

    /// "Nem kaptam meg a levelet" for a new address: the link again.
    pub async fn resend_email_change_link(&self, account: &Account, actor: &Actor) -> Result<(), AccountError> {
        let Some(email) = self.pending_email_change(account).await? else { return Ok(()) };
        self.rate_limit(Action::EmailChange, actor).await?;
        let tx = self.store.begin().await?;
        self.send_email_change_link(&tx, account, &email).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn email_change_link_is_valid(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.store.email_link_account(&token_hash(token), LinkPurpose::EmailChange, self.now()).await?.is_some())
    }

    /// Opens the link sent to a new address: it becomes the account's address.
    pub async fn confirm_email_change(&self, token: &str, actor: &Actor) -> Result<Account, AccountError> {
        let now = self.now();
        let tx = self.store.begin().await?;
        let consumed = tx.consume_email_link(&token_hash(token), LinkPurpose::EmailChange, now).await?;
        let Some((account_id, new_email)) = consumed.and_then(|l| Some((AccountId(l.account_id), l.new_email?))) else {
            tx.rollback().await?;
            return Err(AccountError::LinkInvalid);
        };
        tx.set_email(&account_id, &new_email, now).await?;
        let account = tx.account_by_id(&account_id).await?.ok_or(AccountError::LinkInvalid)?;
        self.audit(&tx, AuditEvent::EmailChanged, Outcome::Success, Subject::account(&account), actor, None).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// "Beállítások".
    pub async fn update_settings(
        &self,
        account: &Account,
        language: Language,
        notify_logins: bool,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        let tx = self.store.begin().await?;
        tx.set_settings(&account.id, language, notify_logins, self.now()).await?;
        self.audit(&tx, AuditEvent::SettingsChanged, Outcome::Success, Subject::account(account), actor, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remembers the language switch for a logged-in user.
    pub async fn set_language(&self, account: &Account, language: Language) -> Result<(), StoreError> {
        if account.language != language {
            self.store.set_settings(&account.id, language, account.notify_logins, self.now()).await?;
        }
        Ok(())
    }

    /// "Kijelentkezés": the session ends, and the log says so.
    pub async fn logout(&self, session_token: &str, account: &Account, actor: &Actor) -> Result<(), StoreError> {
        let tx = self.store.begin().await?;
        tx.delete_session(&token_hash(session_token)).await?;
        self.audit(&tx, AuditEvent::Logout, Outcome::Success, Subject::account(account), actor, None).await?;
        tx.commit().await?;
        // The services this session logged into are told at once.
        self.logout_wakeup.notify_one();
        Ok(())
    }

    /// "Ügyfélkapu törlése": password and an explicit confirmation. The audit
    /// log keeps that it happened, not who it was.
    pub async fn delete_account(
        &self,
        account: &Account,
        password: &Password,
        confirmed: bool,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        let mut errors = FormErrors::default();
        let (right, taken) = self.check_current_password(account, password, actor).await?;
        if !right {
            errors.add(Field::Password, Problem::WrongPassword);
        }
        if !confirmed {
            errors.add(Field::Confirm, Problem::MustConfirm);
        }
        if !errors.is_empty() {
            if right {
                give_back(&self.store, &taken).await?;
            }
            return Err(AccountError::Form(errors));
        }
        let tx = self.store.begin().await?;
        give_back(&tx, &taken).await?;
        self.end_delegations_of_deleted(&tx, account).await?;
        tx.anonymise_audit_of(&account.id).await?;
        tx.delete_account(&account.id).await?;
        let subject = Subject::account_id_only(&account.id);
        self.audit(&tx, AuditEvent::AccountDeleted, Outcome::Success, subject, &Actor::default(), None).await?;
        self.notify_account(&tx, account, Notice::AccountDeleted).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct RegistrationDataChange {
    pub name_changed: bool,
    /// The new address a confirmation link was sent to.
    pub email_pending: Option<EmailAddress>,
}
