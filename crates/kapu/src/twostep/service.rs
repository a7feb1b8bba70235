//! Ügyfélkapu+ use cases: set-up, the code step of a login, wrong-code
//! limits and unlock, a lost phone (revocation code), a device change, the
//! office reset, and the end of one-step login.
//!
//! Guessing bound: a code attempt matches one of `2 × window + 1` codes out of
//! 10^6. After `code_lockout_after` (20) consecutive wrong codes the code step
//! locks until an emailed link is used together with a valid code, so someone
//! who knows the password but not the key succeeds with probability at most
//! 20 × 3 / 10^6 = 6e-5 per account (window 1), without the mailbox. The
//! bound holds under concurrency because each attempt is taken in the
//! database before its code is checked (`twostep::repo::CodeLimit`).

use otp::{Algorithm, Code, Digits, Kind, OtpAuthUri, Period, Secret, Totp};

use crate::Kapu;
use crate::accounts::model::{Account, AccountId, LinkPurpose, Username};
use crate::accounts::repo::AccountRepo;
use crate::accounts::service::{Field, FormErrors, NewSession, Problem};
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::clock::UnixTime;
use crate::crypto::secret_box::SecretBoxError;
use crate::crypto::{random_token, token_hash};
use crate::mail::notice::Notice;
use crate::passwords::{HashError, Password, PasswordHash, Verification};
use crate::sessions::model::{AuthMethods, SessionRecord};
use crate::sessions::repo::SessionRepo;
use crate::store::{Db, StoreError, Tx};
use crate::throttle::{AttemptKeys, CheckError, PasswordCheck, Taken, give_back};
use crate::twostep::model::{Enrolment, EnrolmentPurpose, PendingLogin, RevocationCode, StoredCredential};
use crate::twostep::repo::{FinishedEnrolment, TwoStepRepo};

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
    /// Too many wrong passwords for the name: nothing is checked before `until`.
    #[error("too many wrong passwords")]
    PasswordBlocked { until: UnixTime },
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

impl From<CheckError> for TwoStepError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Store(e) => e.into(),
            CheckError::Hash(e) => e.into(),
        }
    }
}

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

/// What "Befejezés" led to.
#[derive(Debug)]
pub enum Finished {
    /// The key is active; this browser's session continues under a new id.
    Active { purpose: EnrolmentPurpose, session_token: String },
    /// The key waits for the link mailed to the account's address.
    AwaitingMail,
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

/// What a code is, against the credential it was checked with.
enum CodeVerdict {
    /// Right, and its time step is newer than every step used before.
    Fresh(i64),
    /// Right, but its step was used already (a double click, a second tab,
    /// or someone who saw it): not a guess, and not a login.
    Replayed,
    Wrong,
}

impl Kapu {
    fn totp_from_sealed(&self, account_id: &AccountId, sealed: &[u8]) -> Result<Totp, TwoStepError> {
        let bytes = self.secret_box.open(sealed, account_id.0.as_bytes())?;
        let secret = Secret::from_slice(&bytes).map_err(|e| TwoStepError::Internal(e.to_string()))?;
        Ok(Totp::new(secret, Algorithm::Sha1, Digits::SIX, Period::DEFAULT))
    }

    fn judge_code(&self, totp: &Totp, code: &Code, last_used_step: i64) -> CodeVerdict {
        let now = unix_u64(self.now());
        let window = self.config.two_step.window;
        let last = u64::try_from(last_used_step).ok();
        if let Some(step) = totp.verify_code(code, now, window, last).and_then(|s| i64::try_from(s).ok()) {
            return CodeVerdict::Fresh(step);
        }
        if totp.verify_code(code, now, window, None).is_some() { CodeVerdict::Replayed } else { CodeVerdict::Wrong }
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
        self.new_enrolment(&self.store, account, purpose).await
    }

    async fn new_enrolment(
        &self,
        db: &impl Db,
        account: &Account,
        purpose: EnrolmentPurpose,
    ) -> Result<(), TwoStepError> {
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
            awaiting_since: None,
        };
        db.put_enrolment(&enrolment).await?;
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
        self.new_enrolment(&self.store, account, enrolment.purpose).await
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

    /// The account's own password, checked with its attempt taken first.
    async fn check_own_password(
        &self,
        account: &Account,
        password: &Password,
        actor: &Actor,
    ) -> Result<(bool, Taken), TwoStepError> {
        let keys = AttemptKeys::password(&self.limits, account.username.as_str(), actor.client_addr.as_deref());
        match self.check_password_limited(&keys, Some(account), password).await? {
            PasswordCheck::Blocked { until } => Err(TwoStepError::PasswordBlocked { until }),
            PasswordCheck::Checked { right, taken, .. } => Ok((right, taken)),
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
        let (password_right, taken) = self.check_own_password(account, password, actor).await?;
        if !password_right {
            errors.add(Field::Password, Problem::WrongPassword);
        }
        let totp = self.totp_from_sealed(&account.id, &enrolment.secret_sealed)?;
        let step = match typed_code(code) {
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
        let Some(step) = step.filter(|_| errors.is_empty()) else {
            if password_right {
                give_back(&self.store, &taken).await?;
            }
            return Err(TwoStepError::Form(errors));
        };
        let revocation = RevocationCode::generate();
        let hash = self.hasher.hash(&Password::new(revocation.as_str().to_owned())).await?;
        let sealed = self.secret_box.seal(revocation.as_str().as_bytes(), account.id.0.as_bytes())?;
        let step = i64::try_from(step).map_err(|_| TwoStepError::Internal("time step out of range".into()))?;
        let tx = self.store.begin().await?;
        give_back(&tx, &taken).await?;
        let confirmed = tx.confirm_enrolment(&account.id, step, &sealed, hash.as_str(), self.now()).await?;
        tx.commit().await?;
        if !confirmed {
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
    /// ticked. The new key becomes the only one, in one transaction; every
    /// other session and half-finished login of the account ends, and this
    /// browser's session gets a new id.
    ///
    /// After the end of one-step login, a set-up finished in a session that
    /// only a password opened does not become active here: a password alone
    /// would then give anyone who has it the account's second factor. It
    /// waits for the link mailed to the account's address (or the office).
    pub async fn finish_enrolment(
        &self,
        account: &Account,
        session: &SessionRecord,
        saved: bool,
        actor: &Actor,
    ) -> Result<Finished, TwoStepError> {
        let Some(enrolment) = self.current_enrolment(account).await? else { return Err(TwoStepError::NoEnrolment) };
        if enrolment.awaiting_since.is_some() {
            return Ok(Finished::AwaitingMail);
        }
        if self.pending_revocation_code(account).await?.is_none() {
            return Err(TwoStepError::NoEnrolment);
        }
        if !saved {
            return Err(form_error(Field::Confirm, Problem::MustConfirmSaved));
        }
        let now = self.now();
        let tx = self.store.begin().await?;
        if enrolment.purpose == EnrolmentPurpose::Setup
            && self.one_step_login_ended()
            && !session.auth_methods.has_code()
        {
            let ttl = self.config.two_step.activation_link_ttl_seconds;
            if !tx.mark_enrolment_awaiting(&account.id, now, now + ttl).await? {
                tx.rollback().await?;
                return Err(TwoStepError::NoEnrolment);
            }
            self.mail_activation_link(&tx, account, actor).await?;
            let subject = Subject::account(account);
            self.audit(&tx, AuditEvent::TwoStepActivationRequested, Outcome::Success, subject, actor, None).await?;
            tx.commit().await?;
            return Ok(Finished::AwaitingMail);
        }
        let Some(finished) = tx.take_confirmed_enrolment(&account.id, false, now).await? else {
            tx.rollback().await?;
            return Err(TwoStepError::NoEnrolment);
        };
        let purpose = self.activate(&tx, account, &finished, actor, None).await?;
        tx.delete_sessions_of(&account.id, Some(&session.id_hash)).await?;
        let (token, _) = self.renew_session_id(&tx, session).await?;
        tx.commit().await?;
        Ok(Finished::Active { purpose, session_token: token })
    }

    /// The new key becomes the account's only one, on `tx`: audited and
    /// told to the owner; half-finished logins (of the old key) end.
    async fn activate(
        &self,
        tx: &Tx,
        account: &Account,
        finished: &FinishedEnrolment,
        actor: &Actor,
        detail: Option<String>,
    ) -> Result<EnrolmentPurpose, TwoStepError> {
        tx.delete_credential(&account.id).await?;
        tx.insert_credential(&account.id, finished, self.now()).await?;
        tx.delete_pending_logins_of(&account.id).await?;
        let purpose = EnrolmentPurpose::parse(&finished.purpose);
        let (event, notice) = match purpose {
            EnrolmentPurpose::Setup => (AuditEvent::TwoStepEnabled, Notice::TwoStepEnabled),
            EnrolmentPurpose::DeviceChange => (AuditEvent::TwoStepDeviceChanged, Notice::TwoStepDeviceChanged),
        };
        self.audit(tx, event, Outcome::Success, Subject::account(account), actor, detail).await?;
        self.notify_account(tx, account, notice).await?;
        Ok(purpose)
    }

    /// The link that makes a waiting set-up active, mailed to the account's
    /// address with where the set-up came from and how to refuse it.
    async fn mail_activation_link(&self, tx: &Tx, account: &Account, actor: &Actor) -> Result<(), StoreError> {
        let ttl = self.config.two_step.activation_link_ttl_seconds;
        let (token, link) = self.new_link(LinkPurpose::TwoStepActivation, &account.id, None, ttl);
        self.replace_link(tx, &link).await?;
        let notice = Notice::TwoStepActivationLink {
            url: self.link(&format!("/plus/activate/{token}")),
            address: actor.client_addr.clone().unwrap_or_else(|| "?".to_owned()),
            hours: (ttl + 3599) / 3600,
        };
        self.notify_account(tx, account, notice).await
    }

    /// "Nem kaptam meg a levelet" for a waiting set-up: the link again.
    pub async fn resend_activation_link(&self, account: &Account, actor: &Actor) -> Result<(), TwoStepError> {
        let waiting = self.current_enrolment(account).await?.is_some_and(|e| e.awaiting_since.is_some());
        if !waiting {
            return Err(TwoStepError::NoEnrolment);
        }
        let tx = self.store.begin().await?;
        self.mail_activation_link(&tx, account, actor).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The waiting set-up a still-usable activation link is for (its page).
    pub async fn activation_link_account(&self, token: &str) -> Result<Option<Account>, StoreError> {
        let now = self.now();
        let Some(id) = self.store.email_link_account(&token_hash(token), LinkPurpose::TwoStepActivation, now).await?
        else {
            return Ok(None);
        };
        self.store.account_by_id(&id).await
    }

    /// The mailed link's "Bekapcsolom" (`accept`) or "Nem én voltam". Either
    /// way the link is used up; accepted, the key becomes active and every
    /// session ends (the next login asks for a code).
    pub async fn answer_activation_link(
        &self,
        token: &str,
        accept: bool,
        actor: &Actor,
    ) -> Result<Account, TwoStepError> {
        let now = self.now();
        let tx = self.store.begin().await?;
        let Some(link) = tx.consume_email_link(&token_hash(token), LinkPurpose::TwoStepActivation, now).await? else {
            tx.rollback().await?;
            return Err(TwoStepError::LinkInvalid);
        };
        let account = tx.account_by_id(&AccountId(link.account_id)).await?.ok_or(TwoStepError::LinkInvalid)?;
        if !accept {
            tx.delete_enrolment(&account.id).await?;
            let subject = Subject::account(&account);
            self.audit(&tx, AuditEvent::TwoStepActivationRefused, Outcome::Success, subject, actor, None).await?;
            tx.commit().await?;
            return Ok(account);
        }
        let Some(finished) = tx.take_confirmed_enrolment(&account.id, true, now).await? else {
            tx.rollback().await?;
            return Err(TwoStepError::NoEnrolment);
        };
        self.activate(&tx, &account, &finished, actor, Some("confirmed from the mailed link".into())).await?;
        tx.delete_sessions_of(&account.id, None).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// `kapu admin confirm-2fa`: a clerk checked the citizen's ID and makes
    /// the waiting set-up active (for a citizen whose mailbox is lost too).
    pub async fn office_confirm_two_step(&self, username: &str, reason: &str) -> Result<Account, TwoStepError> {
        let (account, reason) = self.office_account(username, reason).await?;
        let tx = self.store.begin().await?;
        let Some(finished) = tx.take_confirmed_enrolment(&account.id, true, self.now()).await? else {
            tx.rollback().await?;
            return Err(TwoStepError::NoEnrolment);
        };
        let detail: String = format!("at the office: {reason}").chars().take(500).collect();
        self.activate(&tx, &account, &finished, &Actor::default(), Some(detail)).await?;
        tx.delete_email_links(&account.id, LinkPurpose::TwoStepActivation).await?;
        tx.delete_sessions_of(&account.id, None).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// An office action's account and its reason (required: the audit log
    /// keeps it, e.g. the ID document checked).
    async fn office_account<'r>(&self, username: &str, reason: &'r str) -> Result<(Account, &'r str), TwoStepError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(TwoStepError::Internal("a reason is required (e.g. the ID document checked)".into()));
        }
        let no_account = || TwoStepError::Internal(format!("no account {username:?}"));
        let name = Username::parse(username).map_err(|_| no_account())?;
        let account = self.store.account_by_username(&name).await?.ok_or_else(no_account)?;
        Ok((account, reason))
    }

    /// Leaves a set-up half way ("Mégsem"): nothing about the account changes.
    pub async fn cancel_enrolment(&self, account: &Account) -> Result<(), StoreError> {
        self.store.delete_enrolment(&account.id).await
    }

    /// After a correct password, on the login's unit of work: either the
    /// session, or (two-step login on) a half-finished login waiting for the code.
    pub(crate) async fn after_password(
        &self,
        tx: &Tx,
        account: &Account,
        actor: &Actor,
    ) -> Result<LoginStep, StoreError> {
        if tx.credential(&account.id).await?.is_none() {
            let (token, record) = self.start_session(tx, account, AuthMethods::Password, actor).await?;
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
        tx.insert_pending_login(&pending).await?;
        Ok(LoginStep::CodeNeeded { pending_token: token })
    }

    /// Whether the half-finished login still waits for its code (the code page).
    pub async fn pending_login_is_open(&self, pending_token: &str) -> Result<bool, StoreError> {
        Ok(self.store.pending_login(&token_hash(pending_token), self.now()).await?.is_some())
    }

    /// The username of a half-finished login, for "Elveszett a telefonom"
    /// opened from the code page: the citizen has just typed it.
    pub async fn pending_login_username(&self, pending_token: &str) -> Result<Option<String>, StoreError> {
        let Some(pending) = self.store.pending_login(&token_hash(pending_token), self.now()).await? else {
            return Ok(None);
        };
        Ok(self.store.account_by_id(&pending.account_id).await?.map(|a| a.username.as_str().to_owned()))
    }

    /// The code page. The attempt is taken first (one conditional statement
    /// that refuses while the code step waits or is locked), then the code
    /// is checked, and everything the answer changes — the used step, the
    /// half-finished login, the session, the audit events, an unlock link —
    /// commits in that one transaction. The answer never says whether a
    /// code would have matched another time step.
    pub async fn verify_login_code(
        &self,
        pending_token: &str,
        code: &str,
        actor: &Actor,
    ) -> Result<NewSession, TwoStepError> {
        // A malformed entry (letters, 5 digits) is a typing slip, not a guess.
        let code = typed_code(code).map_err(|e| form_error(Field::Code, Problem::CodeFormat(e)))?;
        let now = self.now();
        let pending_hash = token_hash(pending_token);
        let tx = self.store.begin().await?;
        let Some(attempt) = tx.take_code_attempt_for_login(&self.limits.codes, &pending_hash, now).await? else {
            return Err(self.code_attempt_refused(tx, &pending_hash, actor).await?);
        };
        let account_id = AccountId(attempt.account_id.clone());
        let account = tx.account_by_id(&account_id).await?.ok_or(TwoStepError::PendingExpired)?;
        let totp = self.totp_from_sealed(&account_id, &attempt.secret_sealed)?;
        match self.judge_code(&totp, &code, attempt.last_used_step) {
            CodeVerdict::Fresh(step) => {
                // The row is ours until commit: the step cannot have moved.
                if !tx.accept_step(&account_id, step).await? || !tx.delete_pending_login(&pending_hash).await? {
                    tx.rollback().await?;
                    return Err(TwoStepError::PendingExpired);
                }
                let (token, record) = self.start_session(&tx, &account, AuthMethods::PasswordAndCode, actor).await?;
                let detail = Some("pwd+otp".to_owned());
                self.audit(
                    &tx,
                    AuditEvent::LoginSucceeded,
                    Outcome::Success,
                    Subject::account(&account),
                    actor,
                    detail,
                )
                .await?;
                self.notify_login(&tx, &account, actor).await?;
                tx.commit().await?;
                self.metrics.login("success");
                Ok(NewSession { token, record, account })
            }
            CodeVerdict::Replayed => {
                // Not a guess: the attempt is given back by not committing it.
                tx.rollback().await?;
                self.metrics.login("code_reused");
                Err(form_error(Field::Code, Problem::CodeAlreadyUsed))
            }
            CodeVerdict::Wrong => {
                let error = self.wrong_code(&tx, &account, attempt.failed_codes, actor).await?;
                tx.commit().await?;
                Err(error)
            }
        }
    }

    /// No code attempt was taken: the half-finished login is gone, or the
    /// code step waits or is locked. A locked one answers the try by mailing
    /// a fresh unlock link (at most once per `unlock_mail_every_seconds`).
    async fn code_attempt_refused(
        &self,
        tx: Tx,
        pending_hash: &str,
        actor: &Actor,
    ) -> Result<TwoStepError, TwoStepError> {
        let now = self.now();
        let Some(standing) = tx.code_standing_for_login(pending_hash, now).await? else {
            tx.rollback().await?;
            return Ok(TwoStepError::PendingExpired);
        };
        if !standing.code_locked {
            tx.rollback().await?;
            self.metrics.login("code_blocked");
            return Ok(TwoStepError::CodeBlocked { until: standing.code_blocked_until.max(now + 1) });
        }
        self.metrics.login("code_locked");
        let account_id = AccountId(standing.account_id);
        let account = tx.account_by_id(&account_id).await?.ok_or(TwoStepError::PendingExpired)?;
        if self.mail_unlock_link(&tx, &account).await? {
            let detail = Some("unlock link mailed again".to_owned());
            self.audit(&tx, AuditEvent::CodeLocked, Outcome::Failure, Subject::account(&account), actor, detail)
                .await?;
        }
        tx.commit().await?;
        Ok(TwoStepError::CodeLocked)
    }

    /// A wrong code, on the unit of work that took its attempt: the failure
    /// is recorded; at the lock, so is the lock, and the unlock link is mailed.
    async fn wrong_code(
        &self,
        tx: &Tx,
        account: &Account,
        attempt: i64,
        actor: &Actor,
    ) -> Result<TwoStepError, TwoStepError> {
        self.metrics.login("wrong_code");
        self.audit(tx, AuditEvent::CodeFailed, Outcome::Failure, Subject::account(account), actor, None).await?;
        let limit = &self.limits.codes.limit;
        if attempt >= limit.lockout_after {
            self.metrics.lockout();
            let mailed = self.mail_unlock_link(tx, account).await?;
            let detail = mailed.then(|| "unlock link mailed".to_owned());
            self.audit(tx, AuditEvent::CodeLocked, Outcome::Failure, Subject::account(account), actor, detail).await?;
            return Ok(TwoStepError::CodeLocked);
        }
        let wait = limit.wait_after(attempt);
        if wait > 0 {
            return Ok(TwoStepError::CodeBlocked { until: self.now() + wait });
        }
        Ok(form_error(Field::Code, Problem::WrongCode))
    }

    /// Mails a fresh unlock link for a locked code step, if one may go now
    /// (one per `unlock_mail_every_seconds`, however many ask at once).
    async fn mail_unlock_link(&self, tx: &Tx, account: &Account) -> Result<bool, StoreError> {
        let cfg = &self.config.two_step;
        if !tx.claim_unlock_mail(&account.id, self.now(), cfg.unlock_mail_every_seconds).await? {
            return Ok(false);
        }
        let (token, link) = self.new_link(LinkPurpose::OtpUnlock, &account.id, None, cfg.unlock_link_ttl_seconds);
        self.replace_link(tx, &link).await?;
        let url = self.link(&format!("/login/unlock/{token}"));
        self.notify_account(tx, account, Notice::CodeLocked { url }).await?;
        Ok(true)
    }

    pub async fn unlock_link_is_valid(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.store.email_link_account(&token_hash(token), LinkPurpose::OtpUnlock, self.now()).await?.is_some())
    }

    /// The unlock link's page: a valid code (and the link) lift the lock.
    /// Each try uses one of the link's `unlock_link_attempts`, taken first.
    pub async fn unlock_codes(&self, token: &str, code: &str, actor: &Actor) -> Result<Account, TwoStepError> {
        let code = typed_code(code).map_err(|e| form_error(Field::Code, Problem::CodeFormat(e)))?;
        let now = self.now();
        let hash = token_hash(token);
        let max = self.config.two_step.unlock_link_attempts;
        let tx = self.store.begin().await?;
        let Some(account_id) = tx.take_link_attempt(&hash, LinkPurpose::OtpUnlock, max, now).await? else {
            tx.rollback().await?;
            return Err(TwoStepError::LinkInvalid);
        };
        let account = tx.account_by_id(&account_id).await?.ok_or(TwoStepError::LinkInvalid)?;
        let credential = tx.credential(&account_id).await?.ok_or(TwoStepError::LinkInvalid)?;
        let totp = self.totp_from_sealed(&account_id, &credential.secret_sealed)?;
        match self.judge_code(&totp, &code, credential.last_used_step) {
            CodeVerdict::Fresh(step) => {
                tx.accept_step(&account_id, step).await?;
                tx.consume_email_link(&hash, LinkPurpose::OtpUnlock, now).await?;
                self.audit(&tx, AuditEvent::CodeUnlocked, Outcome::Success, Subject::account(&account), actor, None)
                    .await?;
                tx.commit().await?;
                Ok(account)
            }
            CodeVerdict::Replayed => {
                tx.rollback().await?;
                Err(form_error(Field::Code, Problem::CodeAlreadyUsed))
            }
            CodeVerdict::Wrong => {
                self.audit(&tx, AuditEvent::CodeFailed, Outcome::Failure, Subject::account(&account), actor, None)
                    .await?;
                tx.commit().await?;
                Err(form_error(Field::Code, Problem::WrongCode))
            }
        }
    }

    /// "Ügyfélkapu+ beállítás másik eszközre": password and a code from the
    /// current device, then the set-up steps with a new key. The old key works
    /// until the new one is finished. Both attempts are taken before either
    /// is checked; the one that was right is given back.
    pub async fn begin_device_change(
        &self,
        account: &Account,
        password: &Password,
        code: &str,
        actor: &Actor,
    ) -> Result<(), TwoStepError> {
        let mut errors = FormErrors::default();
        let code = typed_code(code).map_err(|e| errors.add(Field::Code, Problem::CodeFormat(e))).ok();
        let now = self.now();
        let attempt = match &code {
            Some(_) => match self.store.take_code_attempt(&self.limits.codes, &account.id, now).await? {
                Some(attempt) => Some(attempt),
                None => {
                    let credential = self.store.credential(&account.id).await?.ok_or(TwoStepError::NotActive)?;
                    if credential.code_locked {
                        return Err(TwoStepError::CodeLocked);
                    }
                    return Err(TwoStepError::CodeBlocked { until: credential.code_blocked_until.max(now + 1) });
                }
            },
            None => None,
        };
        let (password_right, taken) = match self.check_own_password(account, password, actor).await {
            Ok(checked) => checked,
            Err(e) => {
                if attempt.is_some() {
                    self.store.give_back_code_attempt(&account.id).await?;
                }
                return Err(e);
            }
        };
        if !password_right {
            errors.add(Field::Password, Problem::WrongPassword);
        }
        let verdict = match (&code, &attempt) {
            (Some(code), Some(a)) => Some((
                self.judge_code(&self.totp_from_sealed(&account.id, &a.secret_sealed)?, code, a.last_used_step),
                a.failed_codes,
            )),
            _ => None,
        };
        let tx = self.store.begin().await?;
        if password_right {
            give_back(&tx, &taken).await?;
        }
        match verdict {
            Some((CodeVerdict::Fresh(step), _)) if password_right => {
                if !tx.accept_step(&account.id, step).await? {
                    tx.rollback().await?;
                    return Err(form_error(Field::Code, Problem::CodeAlreadyUsed));
                }
                self.new_enrolment(&tx, account, EnrolmentPurpose::DeviceChange).await?;
                tx.commit().await?;
                return Ok(());
            }
            // A right code with a wrong password is not spent, and not a guess.
            Some((CodeVerdict::Fresh(_), _)) => tx.give_back_code_attempt(&account.id).await?,
            Some((CodeVerdict::Replayed, _)) => {
                tx.give_back_code_attempt(&account.id).await?;
                errors.add(Field::Code, Problem::CodeAlreadyUsed);
            }
            Some((CodeVerdict::Wrong, number)) => match self.wrong_code(&tx, account, number, actor).await? {
                TwoStepError::Form(e) => errors.0.extend(e.0),
                other => {
                    tx.commit().await?;
                    return Err(other);
                }
            },
            None => {}
        }
        tx.commit().await?;
        Err(TwoStepError::Form(errors))
    }

    /// "Elveszett a telefonom": username, password and revocation code turn
    /// two-step login off. Every name gets the same answer after the same
    /// work (two hashes); the revocation code has its own limit, keyed by the
    /// typed name like the password's, so it tells nothing about which names
    /// exist and locks the same for all.
    pub async fn revoke_two_step(
        &self,
        typed_username: &str,
        password: &Password,
        revocation_code: &str,
        actor: &Actor,
    ) -> Result<Account, TwoStepError> {
        let wrong = || form_error(Field::RevocationCode, Problem::RevocationDataWrong);
        // Not a code at all: said at once, before any try is taken (the same
        // answer for every name, and it tells nothing about the account).
        if RevocationCode::parse(revocation_code).is_none() {
            return Err(form_error(Field::RevocationCode, Problem::RevocationCodeFormat));
        }
        let account = match Username::parse(typed_username) {
            Ok(name) => self.store.account_by_username(&name).await?,
            Err(_) => None,
        };
        let credential = match &account {
            Some(a) => self.store.credential(&a.id).await?,
            None => None,
        };
        let keys = AttemptKeys::lost_phone(&self.limits, typed_username, actor.client_addr.as_deref());
        let holder = account.as_ref().filter(|_| credential.is_some());
        let (password_right, taken) = match self.check_password_limited(&keys, holder, password).await? {
            PasswordCheck::Blocked { until } => return Err(TwoStepError::RevocationBlocked { until }),
            PasswordCheck::Checked { right, taken, .. } => (right, taken),
        };
        let code_right = match (RevocationCode::parse(revocation_code), &credential) {
            (Some(code), Some(c)) => matches!(
                self.hasher
                    .verify(
                        &Password::new(code.as_str().to_owned()),
                        &PasswordHash::from_stored(c.revocation_hash.clone())?
                    )
                    .await?,
                Verification::Valid { .. }
            ),
            _ => {
                self.hasher.verify_dummy(password).await?;
                false
            }
        };
        let subject = account.as_ref().map_or_else(|| Subject::typed_username(typed_username), Subject::account);
        let tx = self.store.begin().await?;
        let (Some(account), true, true) = (account.filter(|_| credential.is_some()), password_right, code_right) else {
            if password_right {
                give_back(&tx, &taken.without("revoke:")).await?;
            }
            self.audit(&tx, AuditEvent::TwoStepRevoked, Outcome::Failure, subject, actor, None).await?;
            tx.commit().await?;
            return Err(wrong());
        };
        give_back(&tx, &taken).await?;
        self.turn_two_step_off(&tx, &account).await?;
        self.audit(&tx, AuditEvent::TwoStepRevoked, Outcome::Success, subject, actor, None).await?;
        self.notify_account(&tx, &account, Notice::TwoStepRevoked).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// Two-step login off, on the caller's unit of work: the key, a set-up
    /// in progress, every session and half-finished login, and unlock links
    /// go. Whether it was on.
    async fn turn_two_step_off(&self, tx: &Tx, account: &Account) -> Result<bool, StoreError> {
        let was_on = tx.delete_credential(&account.id).await?;
        tx.delete_enrolment(&account.id).await?;
        tx.delete_pending_logins_of(&account.id).await?;
        tx.delete_sessions_of(&account.id, None).await?;
        tx.delete_email_links(&account.id, LinkPurpose::OtpUnlock).await?;
        Ok(was_on)
    }

    /// `kapu admin reset-2fa`: a clerk checked the citizen's ID in person.
    pub async fn office_reset_two_step(&self, username: &str, reason: &str) -> Result<Account, TwoStepError> {
        let (account, reason) = self.office_account(username, reason).await?;
        let tx = self.store.begin().await?;
        if !self.turn_two_step_off(&tx, &account).await? {
            tx.rollback().await?;
            return Err(TwoStepError::NotActive);
        }
        let detail: String = reason.chars().take(500).collect();
        self.audit(
            &tx,
            AuditEvent::TwoStepReset,
            Outcome::Success,
            Subject::account(&account),
            &Actor::default(),
            Some(detail),
        )
        .await?;
        self.notify_account(&tx, &account, Notice::TwoStepReset).await?;
        tx.commit().await?;
        Ok(account)
    }
}

/// A 6-digit code as the citizen typed or pasted it: spaces, line breaks and
/// dashes (some apps show "123-456") are ignored.
fn typed_code(code: &str) -> Result<Code, otp::CodeError> {
    Code::parse(&code.replace('-', ""), Digits::SIX)
}
