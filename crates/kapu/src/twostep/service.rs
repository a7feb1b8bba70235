//! Ügyfélkapu+ use cases: set-up, the code step of a login, wrong-code
//! limits and unlock, a lost phone (revocation code), a device change, the
//! office reset, and the end of one-step login.
//!
//! Guessing bound: a code attempt matches one of `2 × window + 1` codes out of
//! 10^6. After `code_lockout_after` (20) consecutive wrong codes the code step
//! locks until an emailed link is used together with a valid code, so someone
//! who knows the password but not the key succeeds with probability at most
//! 20 × 3 / 10^6 = 6e-5 per account (window 1), without the mailbox.

use otp::{Algorithm, Code, Digits, Kind, OtpAuthUri, Period, Secret, Totp};

use crate::Kapu;
use crate::accounts::model::{Account, AccountId, EmailLink, LinkPurpose, Username};
use crate::accounts::service::{Field, FormErrors, NewSession, Problem};
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::clock::UnixTime;
use crate::crypto::secret_box::SecretBoxError;
use crate::crypto::{random_token, token_hash};
use crate::i18n::{self, Texts, fill};
use crate::mail::{OutgoingEmail, send_in_background};
use crate::passwords::{HashError, Password, PasswordHash, Verification};
use crate::sessions::model::AuthMethods;
use crate::store::StoreError;
use crate::throttle::LoginKeys;
use crate::twostep::model::{Enrolment, EnrolmentPurpose, PendingLogin, RevocationCode, StoredCredential};

#[derive(Debug, thiserror::Error)]
pub enum TwoStepError {
    #[error("the form has errors")]
    Form(FormErrors),
    /// No set-up in progress (never started, finished or expired).
    #[error("no set-up in progress")]
    NoEnrolment,
    #[error("two-step login is already on")]
    AlreadyActive,
    #[error("two-step login is not on")]
    NotActive,
    /// Too many wrong codes: no code is checked before `until`.
    #[error("wait before the next code")]
    CodeBlocked { until: UnixTime },
    /// 20 wrong codes: only the emailed unlock link helps.
    #[error("the code step is locked")]
    CodeLocked,
    /// The half-finished login expired (or never existed).
    #[error("the login expired")]
    PendingExpired,
    #[error("the link is not valid")]
    LinkInvalid,
    /// Too many revocation-code tries.
    #[error("too many revocation attempts")]
    RevocationBlocked { until: UnixTime },
    #[error("the server is busy")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored secret: {0}")]
    Crypto(#[from] SecretBoxError),
    #[error("{0}")]
    Internal(String),
}

impl From<HashError> for TwoStepError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => TwoStepError::Busy,
            other => TwoStepError::Internal(other.to_string()),
        }
    }
}

/// Picks a notice's subject and body from the catalogue.
pub type MailTexts = fn(&Texts) -> (&'static str, &'static str);

fn form_error(field: Field, problem: Problem) -> TwoStepError {
    let mut errors = FormErrors::default();
    errors.add(field, problem);
    TwoStepError::Form(errors)
}

/// What the set-up page shows.
#[derive(Debug)]
pub struct EnrolmentView {
    pub purpose: EnrolmentPurpose,
    /// The key in groups of four, for manual entry.
    pub key_grouped: String,
    /// The otpauth URI the QR code carries.
    pub uri: String,
    pub confirmed: bool,
}

/// What a correct password leads to.
#[derive(Debug)]
pub enum LoginStep {
    /// No two-step login: the session is there.
    Done(Box<NewSession>),
    /// Two-step login: the code page comes next, for the holder of this token.
    CodeNeeded { pending_token: String },
}

/// Seconds since the epoch as the unsigned time TOTP uses (the clock is never
/// before 1970 here).
fn unix_u64(t: UnixTime) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

impl Kapu {
    fn totp_from_sealed(&self, account_id: &AccountId, sealed: &[u8]) -> Result<Totp, TwoStepError> {
        let bytes = self.secret_box.open(sealed, account_id.0.as_bytes())?;
        let secret = Secret::from_slice(&bytes).map_err(|e| TwoStepError::Internal(e.to_string()))?;
        Ok(Totp::new(secret, Algorithm::Sha1, Digits::SIX, Period::DEFAULT))
    }

    /// Whether one-step (password only) login has ended.
    pub fn one_step_login_ended(&self) -> bool {
        self.config.two_step.one_step_ends_at(&self.time_zone).is_some_and(|end| self.now() >= end)
    }

    pub async fn two_step_credential(&self, account: &Account) -> Result<Option<StoredCredential>, StoreError> {
        self.store.credential(&account.id).await
    }

    /// "Tovább az Ügyfélkapu+ igényléséhez" (or a device change after its
    /// checks): resumes a set-up of the same purpose that has not expired,
    /// else starts one with a new key.
    pub async fn start_enrolment(&self, account: &Account, purpose: EnrolmentPurpose) -> Result<(), TwoStepError> {
        let now = self.now();
        let active = self.store.credential(&account.id).await?.is_some();
        match purpose {
            EnrolmentPurpose::Setup if active => return Err(TwoStepError::AlreadyActive),
            EnrolmentPurpose::DeviceChange if !active => return Err(TwoStepError::NotActive),
            _ => {}
        }
        if let Some(e) = self.store.enrolment(&account.id).await?
            && e.purpose == purpose
            && e.expires_at > now
        {
            return Ok(());
        }
        self.new_enrolment(account, purpose).await
    }

    async fn new_enrolment(&self, account: &Account, purpose: EnrolmentPurpose) -> Result<(), TwoStepError> {
        let now = self.now();
        let secret =
            Secret::generate(self.config.two_step.secret_bytes).map_err(|e| TwoStepError::Internal(e.to_string()))?;
        let enrolment = Enrolment {
            account_id: account.id.clone(),
            purpose,
            secret_sealed: self.secret_box.seal(secret.expose_bytes(), account.id.0.as_bytes())?,
            confirmed_step: None,
            revocation_sealed: None,
            revocation_hash: None,
            created_at: now,
            expires_at: now + self.config.two_step.enrolment_seconds,
        };
        self.store.put_enrolment(&enrolment).await?;
        Ok(())
    }

    /// The set-up in progress, if any and not expired.
    pub async fn current_enrolment(&self, account: &Account) -> Result<Option<Enrolment>, StoreError> {
        let now = self.now();
        Ok(self.store.enrolment(&account.id).await?.filter(|e| e.expires_at > now))
    }

    /// "Új kódot kérek": a new key for the set-up (until it is confirmed).
    pub async fn renew_enrolment_key(&self, account: &Account) -> Result<(), TwoStepError> {
        let enrolment = self.current_enrolment(account).await?.ok_or(TwoStepError::NoEnrolment)?;
        self.new_enrolment(account, enrolment.purpose).await
    }

    pub async fn enrolment_view(&self, account: &Account) -> Result<EnrolmentView, TwoStepError> {
        let e = self.current_enrolment(account).await?.ok_or(TwoStepError::NoEnrolment)?;
        let totp = self.totp_from_sealed(&account.id, &e.secret_sealed)?;
        let uri = OtpAuthUri {
            kind: Kind::Totp { period: Period::DEFAULT },
            issuer: Some(self.config.two_step.issuer.clone()),
            account: account.username.as_str().to_owned(),
            secret: totp.secret().clone(),
            algorithm: Algorithm::Sha1,
            digits: Digits::SIX,
        };
        Ok(EnrolmentView {
            purpose: e.purpose,
            key_grouped: totp.secret().to_base32_grouped().to_string(),
            uri: uri.to_uri().to_string(),
            confirmed: e.confirmed_step.is_some(),
        })
    }

    async fn password_is_right(
        &self,
        account: &Account,
        password: &Password,
        actor: &Actor,
    ) -> Result<bool, TwoStepError> {
        let stored = PasswordHash::from_stored(account.password_hash.clone())?;
        match self.hasher.verify(password, &stored).await? {
            Verification::Valid { .. } => Ok(true),
            Verification::Invalid => {
                self.record_login_failure(&LoginKeys::new(account.username.as_str(), actor.client_addr.as_deref()))
                    .await?;
                Ok(false)
            }
        }
    }

    /// "Tovább" on the set-up page: the password and a code from the new
    /// device. Says which one was wrong. Returns the revocation code, shown
    /// until the user finishes.
    pub async fn confirm_enrolment(
        &self,
        account: &Account,
        password: &Password,
        code: &str,
        actor: &Actor,
    ) -> Result<RevocationCode, TwoStepError> {
        let enrolment = self.current_enrolment(account).await?.ok_or(TwoStepError::NoEnrolment)?;
        if enrolment.confirmed_step.is_some() {
            return self.pending_revocation_code(account).await?.ok_or(TwoStepError::NoEnrolment);
        }
        let mut errors = FormErrors::default();
        if !self.password_is_right(account, password, actor).await? {
            errors.add(Field::Password, Problem::WrongPassword);
        }
        let totp = self.totp_from_sealed(&account.id, &enrolment.secret_sealed)?;
        let step = match Code::parse(code, Digits::SIX) {
            Err(e) => {
                errors.add(Field::Code, Problem::CodeFormat(e));
                None
            }
            Ok(code) => {
                let step = totp.verify_code(&code, unix_u64(self.now()), self.config.two_step.window, None);
                if step.is_none() {
                    errors.add(Field::Code, Problem::WrongCode);
                }
                step
            }
        };
        let Some(step) = step.filter(|_| errors.is_empty()) else { return Err(TwoStepError::Form(errors)) };
        let revocation = RevocationCode::generate();
        let hash = self.hasher.hash(&Password::new(revocation.as_str().to_owned())).await?;
        let sealed = self.secret_box.seal(revocation.as_str().as_bytes(), account.id.0.as_bytes())?;
        let step = i64::try_from(step).map_err(|_| TwoStepError::Internal("time step out of range".into()))?;
        if !self.store.confirm_enrolment(&account.id, step, &sealed, hash.as_str(), self.now()).await? {
            // Confirmed meanwhile (another tab): show what that one stored.
            return self.pending_revocation_code(account).await?.ok_or(TwoStepError::NoEnrolment);
        }
        Ok(revocation)
    }

    /// The revocation code of a confirmed, unfinished set-up ("Törlőkód" page and its download).
    pub async fn pending_revocation_code(&self, account: &Account) -> Result<Option<RevocationCode>, TwoStepError> {
        let Some(e) = self.current_enrolment(account).await? else { return Ok(None) };
        let Some(sealed) = e.revocation_sealed else { return Ok(None) };
        let bytes = self.secret_box.open(&sealed, account.id.0.as_bytes())?;
        Ok(RevocationCode::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// "Befejezés": only with "A fenti törlőkód mentéséről gondoskodtam"
    /// ticked. The new key becomes the only one, in one transaction.
    pub async fn finish_enrolment(
        &self,
        account: &Account,
        saved: bool,
        actor: &Actor,
    ) -> Result<EnrolmentPurpose, TwoStepError> {
        if self.pending_revocation_code(account).await?.is_none() {
            return Err(TwoStepError::NoEnrolment);
        }
        if !saved {
            return Err(form_error(Field::Confirm, Problem::MustConfirmSaved));
        }
        let purpose = self.store.finish_enrolment(&account.id, self.now()).await?.ok_or(TwoStepError::NoEnrolment)?;
        let (event, texts): (AuditEvent, MailTexts) = match purpose {
            EnrolmentPurpose::Setup => {
                (AuditEvent::TwoStepEnabled, |t| (t.mail_two_step_enabled_subject, t.mail_two_step_enabled_body))
            }
            EnrolmentPurpose::DeviceChange => {
                (AuditEvent::TwoStepDeviceChanged, |t| (t.mail_two_step_device_subject, t.mail_two_step_device_body))
            }
        };
        self.audit(event, Outcome::Success, Subject::account(account), actor, None).await;
        self.notify(account, texts, &[]);
        Ok(purpose)
    }

    /// Leaves a set-up half way ("Mégsem"): nothing about the account changes.
    pub async fn cancel_enrolment(&self, account: &Account) -> Result<(), StoreError> {
        self.store.delete_enrolment(&account.id).await
    }

    /// Sends a notice (subject and body from the catalogue) in the account's
    /// language; `{name}` and `{time}` are filled in, and `extra`.
    pub(crate) fn notify(&self, account: &Account, texts: MailTexts, extra: &[(&str, &str)]) {
        let (subject, body) = texts(i18n::texts(account.language));
        let when = self.format_time(self.now());
        let mut values = vec![("name", account.full_name.as_str()), ("time", when.as_str())];
        values.extend_from_slice(extra);
        let email = OutgoingEmail {
            to: account.email.clone(),
            to_name: Some(account.full_name.as_str().to_owned()),
            subject: subject.to_owned(),
            text: fill(body, &values),
        };
        send_in_background(std::sync::Arc::clone(&self.mailer), email);
    }

    /// After a correct password: either the session, or (two-step login on)
    /// a half-finished login waiting for the code.
    pub(crate) async fn after_password(&self, account: &Account, actor: &Actor) -> Result<LoginStep, StoreError> {
        if self.store.credential(&account.id).await?.is_none() {
            let (token, record) = self.start_session(account, AuthMethods::Password, actor).await?;
            return Ok(LoginStep::Done(Box::new(NewSession { token, record, account: account.clone() })));
        }
        let token = random_token();
        let now = self.now();
        let pending = PendingLogin {
            id_hash: token_hash(&token),
            account_id: account.id.clone(),
            created_at: now,
            expires_at: now + self.config.two_step.pending_login_seconds,
            client_addr: actor.client_addr.clone(),
        };
        self.store.insert_pending_login(&pending).await?;
        Ok(LoginStep::CodeNeeded { pending_token: token })
    }

    /// The account a half-finished login belongs to (for the code page).
    pub async fn pending_login_account(&self, pending_token: &str) -> Result<Option<Account>, StoreError> {
        match self.store.pending_login(&token_hash(pending_token), self.now()).await? {
            Some(p) => self.store.account_by_id(&p.account_id).await,
            None => Ok(None),
        }
    }

    /// The code page: a correct, unused code finishes the login. Wrong codes
    /// count per account in the database; the answer never says whether a
    /// code would have matched another time step.
    pub async fn verify_login_code(
        &self,
        pending_token: &str,
        code: &str,
        actor: &Actor,
    ) -> Result<NewSession, TwoStepError> {
        let now = self.now();
        let pending =
            self.store.pending_login(&token_hash(pending_token), now).await?.ok_or(TwoStepError::PendingExpired)?;
        let account = self.store.account_by_id(&pending.account_id).await?.ok_or(TwoStepError::PendingExpired)?;
        let credential = self.store.credential(&account.id).await?.ok_or(TwoStepError::PendingExpired)?;
        if credential.code_locked {
            return Err(TwoStepError::CodeLocked);
        }
        if credential.code_blocked_until > now {
            return Err(TwoStepError::CodeBlocked { until: credential.code_blocked_until });
        }
        // A malformed entry (letters, 5 digits) is a typing slip, not a guess.
        let code = Code::parse(code, Digits::SIX).map_err(|e| form_error(Field::Code, Problem::CodeFormat(e)))?;
        let totp = self.totp_from_sealed(&account.id, &credential.secret_sealed)?;
        let last = u64::try_from(credential.last_used_step).ok();
        let matched = totp.verify_code(&code, unix_u64(now), self.config.two_step.window, last);
        let accepted = match matched.and_then(|s| i64::try_from(s).ok()) {
            // The database decides: of two racing requests only one moves the step.
            Some(step) => self.store.accept_step(&account.id, step).await?,
            None => false,
        };
        if !accepted {
            return Err(self.wrong_login_code(&account, actor).await?);
        }
        self.store.delete_pending_login(&pending.id_hash).await?;
        let (token, record) = self.start_session(&account, AuthMethods::PasswordAndCode, actor).await?;
        self.metrics.login("success");
        self.audit(
            AuditEvent::LoginSucceeded,
            Outcome::Success,
            Subject::account(&account),
            actor,
            Some("pwd+otp".into()),
        )
        .await;
        self.notify_login(&account, actor);
        Ok(NewSession { token, record, account })
    }

    async fn wrong_login_code(&self, account: &Account, actor: &Actor) -> Result<TwoStepError, TwoStepError> {
        let failures = self.store.record_wrong_code(&account.id).await?;
        self.metrics.login("wrong_code");
        self.audit(AuditEvent::CodeFailed, Outcome::Failure, Subject::account(account), actor, None).await;
        let cfg = &self.config.two_step;
        if failures >= cfg.code_lockout_after {
            self.store.block_codes(&account.id, 0, true).await?;
            if failures == cfg.code_lockout_after {
                self.metrics.lockout();
                self.audit(AuditEvent::CodeLocked, Outcome::Failure, Subject::account(account), actor, None).await;
                self.send_unlock_link(account).await?;
            }
            return Ok(TwoStepError::CodeLocked);
        }
        if let Some(wait) = cfg.code_wait_after(failures) {
            let until = self.now() + wait;
            self.store.block_codes(&account.id, until, false).await?;
            return Ok(TwoStepError::CodeBlocked { until });
        }
        Ok(form_error(Field::Code, Problem::WrongCode))
    }

    async fn send_unlock_link(&self, account: &Account) -> Result<(), StoreError> {
        let token = random_token();
        let now = self.now();
        let link = EmailLink {
            token_hash: token_hash(&token),
            purpose: LinkPurpose::OtpUnlock,
            account_id: account.id.clone(),
            new_email: None,
            created_at: now,
            expires_at: now + self.config.two_step.unlock_link_ttl_seconds,
        };
        self.store.insert_email_link(&link).await?;
        let url = self.link(&format!("/login/unlock/{token}"));
        self.notify(account, |t| (t.mail_code_locked_subject, t.mail_code_locked_body), &[("url", &url)]);
        Ok(())
    }

    pub async fn unlock_link_is_valid(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.store.email_link_account(&token_hash(token), LinkPurpose::OtpUnlock, self.now()).await?.is_some())
    }

    /// The unlock link's page: a valid code (and the link) lift the lock.
    pub async fn unlock_codes(&self, token: &str, code: &str, actor: &Actor) -> Result<Account, TwoStepError> {
        let now = self.now();
        let hash = token_hash(token);
        let account_id = self
            .store
            .email_link_account(&hash, LinkPurpose::OtpUnlock, now)
            .await?
            .ok_or(TwoStepError::LinkInvalid)?;
        let account = self.store.account_by_id(&account_id).await?.ok_or(TwoStepError::LinkInvalid)?;
        let credential = self.store.credential(&account_id).await?.ok_or(TwoStepError::LinkInvalid)?;
        let code = Code::parse(code, Digits::SIX).map_err(|e| form_error(Field::Code, Problem::CodeFormat(e)))?;
        let totp = self.totp_from_sealed(&account_id, &credential.secret_sealed)?;
        let last = u64::try_from(credential.last_used_step).ok();
        let step = totp
            .verify_code(&code, unix_u64(now), self.config.two_step.window, last)
            .and_then(|s| i64::try_from(s).ok())
            .ok_or_else(|| form_error(Field::Code, Problem::WrongCode))?;
        self.store
            .unlock_codes_with_link(&hash, step, now)
            .await?
            .ok_or_else(|| form_error(Field::Code, Problem::WrongCode))?;
        self.audit(AuditEvent::CodeUnlocked, Outcome::Success, Subject::account(&account), actor, None).await;
        Ok(account)
    }

    /// "Ügyfélkapu+ beállítás másik eszközre": password and a code from the
    /// current device, then the set-up steps with a new key. The old key works
    /// until the new one is finished.
    pub async fn begin_device_change(
        &self,
        account: &Account,
        password: &Password,
        code: &str,
        actor: &Actor,
    ) -> Result<(), TwoStepError> {
        let credential = self.store.credential(&account.id).await?.ok_or(TwoStepError::NotActive)?;
        if credential.code_locked {
            return Err(TwoStepError::CodeLocked);
        }
        if credential.code_blocked_until > self.now() {
            return Err(TwoStepError::CodeBlocked { until: credential.code_blocked_until });
        }
        let mut errors = FormErrors::default();
        if !self.password_is_right(account, password, actor).await? {
            errors.add(Field::Password, Problem::WrongPassword);
        }
        let totp = self.totp_from_sealed(&account.id, &credential.secret_sealed)?;
        let last = u64::try_from(credential.last_used_step).ok();
        let matched = match Code::parse(code, Digits::SIX) {
            Err(e) => {
                errors.add(Field::Code, Problem::CodeFormat(e));
                None
            }
            Ok(c) => totp.verify_code(&c, unix_u64(self.now()), self.config.two_step.window, last),
        };
        if !errors.is_empty() {
            return Err(TwoStepError::Form(errors));
        }
        let accepted = match matched.and_then(|s| i64::try_from(s).ok()) {
            Some(step) => self.store.accept_step(&account.id, step).await?,
            None => false,
        };
        if !accepted {
            return Err(self.wrong_login_code(account, actor).await?);
        }
        self.new_enrolment(account, EnrolmentPurpose::DeviceChange).await
    }

    /// "Elveszett a telefonom": username, password and revocation code turn
    /// two-step login off. Unknown names get the same answer after the same
    /// work; the revocation code has its own limit per account.
    pub async fn revoke_two_step(
        &self,
        typed_username: &str,
        password: &Password,
        revocation_code: &str,
        actor: &Actor,
    ) -> Result<Account, TwoStepError> {
        let wrong = || form_error(Field::RevocationCode, Problem::RevocationDataWrong);
        let keys = LoginKeys::new(typed_username, actor.client_addr.as_deref());
        if let Some(until) = self.login_standing(&keys).await?.blocked_until {
            return Err(TwoStepError::RevocationBlocked { until });
        }
        let account = match Username::parse(typed_username) {
            Ok(name) => self.store.account_by_username(&name).await?,
            Err(_) => None,
        };
        let credential = match &account {
            Some(a) => self.store.credential(&a.id).await?,
            None => None,
        };
        let (Some(account), Some(credential)) = (account, credential) else {
            self.hasher.verify_dummy(password).await?;
            self.hasher.verify_dummy(password).await?;
            self.record_login_failure(&keys).await?;
            return Err(wrong());
        };
        let revoke_key = format!("revoke:{}", account.id);
        let now = self.now();
        if self.store.blocked_until(&revoke_key).await? > now {
            return Err(TwoStepError::RevocationBlocked { until: self.store.blocked_until(&revoke_key).await? });
        }
        let password_ok = matches!(
            self.hasher.verify(password, &PasswordHash::from_stored(account.password_hash.clone())?).await?,
            Verification::Valid { .. }
        );
        let code = RevocationCode::parse(revocation_code);
        let code_ok = match &code {
            Some(code) => matches!(
                self.hasher
                    .verify(
                        &Password::new(code.as_str().to_owned()),
                        &PasswordHash::from_stored(credential.revocation_hash.clone())?
                    )
                    .await?,
                Verification::Valid { .. }
            ),
            None => {
                self.hasher.verify_dummy(password).await?;
                false
            }
        };
        if !(password_ok && code_ok) {
            if !password_ok {
                self.record_login_failure(&keys).await?;
            }
            let cfg = &self.config.two_step;
            let failures = self.store.record_failure(&revoke_key, now, now - cfg.revocation_window_seconds).await?;
            if failures >= cfg.revocation_attempts {
                self.store.block_until(&revoke_key, now + cfg.revocation_window_seconds).await?;
            }
            self.audit(AuditEvent::TwoStepRevoked, Outcome::Failure, Subject::account(&account), actor, None).await;
            return Err(wrong());
        }
        self.store.disable_two_step(&account.id).await?;
        self.store.clear_throttle(&revoke_key).await?;
        self.audit(AuditEvent::TwoStepRevoked, Outcome::Success, Subject::account(&account), actor, None).await;
        self.notify(&account, |t| (t.mail_two_step_revoked_subject, t.mail_two_step_revoked_body), &[]);
        Ok(account)
    }

    /// `kapu admin reset-2fa`: a clerk checked the citizen's ID in person.
    pub async fn office_reset_two_step(&self, username: &str, reason: &str) -> Result<Account, TwoStepError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(TwoStepError::Internal("a reason is required (e.g. the ID document checked)".into()));
        }
        let name = Username::parse(username).map_err(|_| TwoStepError::Internal(format!("no account {username:?}")))?;
        let account = self
            .store
            .account_by_username(&name)
            .await?
            .ok_or_else(|| TwoStepError::Internal(format!("no account {username:?}")))?;
        if !self.store.disable_two_step(&account.id).await? {
            return Err(TwoStepError::NotActive);
        }
        let detail: String = reason.chars().take(500).collect();
        self.audit(
            AuditEvent::TwoStepReset,
            Outcome::Success,
            Subject::account(&account),
            &Actor::default(),
            Some(detail),
        )
        .await;
        self.notify(&account, |t| (t.mail_two_step_reset_subject, t.mail_two_step_reset_body), &[]);
        Ok(account)
    }
}
