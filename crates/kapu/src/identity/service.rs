//! Identity use cases: an office verifies a citizen (and hands over a
//! binding code, or binds an account at once); the citizen binds the
//! verification to their account with the code; pages and services read
//! the verified identity.

use super::model::{
    BindingCode, BirthDate, BirthDateError, Document, DocumentKind, DocumentNumber, NameError, PersonName,
    PersonalData, VerifiedIdentity,
};
use super::repo::{IdentityRepo, NewIdentity};
use crate::Kapu;
use crate::accounts::model::{Account, AccountId, Username};
use crate::accounts::repo::AccountRepo;
use crate::accounts::service::{Field, FormErrors, Problem};
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::{Actor, Subject};
use crate::clock::UnixTime;
use crate::mail::{EmailAddress, notice::Notice};
use crate::store::StoreError;
use crate::throttle::{AttemptKeys, give_back, take_attempts};

/// The office's input, as typed: parsed by [`VerificationInput::parse`].
#[derive(Debug, Clone, Default)]
pub struct VerificationInput {
    pub family_name: String,
    pub given_name: String,
    pub birth_family_name: String,
    pub birth_given_name: String,
    pub mother_birth_name: String,
    pub place_of_birth: String,
    pub birth_date: String,
    pub document_kind: String,
    pub document_number: String,
    pub clerk: String,
    pub office: String,
    /// Why (the clerk's words: the citizen asked in person, ...): audited.
    pub reason: String,
}

/// Which input of a verification is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputField {
    FamilyName,
    GivenName,
    BirthFamilyName,
    BirthGivenName,
    MotherBirthName,
    PlaceOfBirth,
    BirthDate,
    DocumentKind,
    DocumentNumber,
    Clerk,
    Office,
    Reason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputProblem {
    Name(NameError),
    BirthDate(BirthDateError),
    /// Not one of [`DocumentKind::ALL`].
    DocumentKind,
    /// Not 5–20 letters and digits.
    DocumentNumber,
    /// Empty, longer than 200 characters, or with control characters.
    Text,
}

/// A checked verification: who, on what document, by whom, why.
#[derive(Debug, Clone)]
pub struct Verification {
    pub data: PersonalData,
    pub document: Document,
    pub clerk: String,
    pub office: String,
    pub reason: String,
}

impl VerificationInput {
    /// Every problem at once, so the clerk fixes them in one go.
    pub fn parse(&self, today: jiff::civil::Date) -> Result<Verification, Vec<(InputField, InputProblem)>> {
        let mut problems = Vec::new();
        let mut name = |field: InputField, value: &str| match PersonName::parse(value) {
            Ok(n) => Some(n),
            Err(e) => {
                problems.push((field, InputProblem::Name(e)));
                None
            }
        };
        let family_name = name(InputField::FamilyName, &self.family_name);
        let given_name = name(InputField::GivenName, &self.given_name);
        let birth_family_name = name(InputField::BirthFamilyName, &self.birth_family_name);
        let birth_given_name = name(InputField::BirthGivenName, &self.birth_given_name);
        let mother_birth_name = name(InputField::MotherBirthName, &self.mother_birth_name);
        let place_of_birth = name(InputField::PlaceOfBirth, &self.place_of_birth);
        let birth_date = BirthDate::parse(&self.birth_date, today)
            .map_err(|e| problems.push((InputField::BirthDate, InputProblem::BirthDate(e))))
            .ok();
        let kind = DocumentKind::parse(&self.document_kind);
        if kind.is_none() {
            problems.push((InputField::DocumentKind, InputProblem::DocumentKind));
        }
        let number = DocumentNumber::parse(&self.document_number);
        if number.is_none() {
            problems.push((InputField::DocumentNumber, InputProblem::DocumentNumber));
        }
        let mut text = |field: InputField, value: &str| {
            let v = value.trim();
            if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
                problems.push((field, InputProblem::Text));
            }
            v.to_owned()
        };
        let clerk = text(InputField::Clerk, &self.clerk);
        let office = text(InputField::Office, &self.office);
        let reason = text(InputField::Reason, &self.reason);
        match (
            family_name,
            given_name,
            birth_family_name,
            birth_given_name,
            mother_birth_name,
            place_of_birth,
            birth_date,
            kind,
            number,
        ) {
            (Some(f), Some(g), Some(bf), Some(bg), Some(m), Some(p), Some(d), Some(kind), Some(number))
                if problems.is_empty() =>
            {
                Ok(Verification {
                    data: PersonalData {
                        family_name: f,
                        given_name: g,
                        birth_family_name: bf,
                        birth_given_name: bg,
                        mother_birth_name: m,
                        place_of_birth: p,
                        birth_date: d,
                    },
                    document: Document { kind, number },
                    clerk,
                    office,
                    reason,
                })
            }
            _ => Err(problems),
        }
    }
}

/// What waits sealed behind a binding code.
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingVerification {
    data: PersonalData,
    document: Document,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("the form has errors")]
    Form(FormErrors),
    /// Too many wrong codes for this account: nothing is checked before `until`.
    #[error("too many binding codes")]
    Blocked { until: UnixTime },
    /// The account already has a verified identity.
    #[error("the account is already verified")]
    AlreadyVerified,
    /// The person's identity is bound to another account.
    #[error("this identity belongs to another account")]
    BoundElsewhere,
    #[error("no account {0:?}")]
    NoAccount(String),
    #[error("cannot seal or open the identity")]
    Sealing,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Kapu {
    /// The HMAC that makes the same person's verifications equal (see
    /// [`PersonalData::person_key_input`]) without storing a join key
    /// anyone could compute from the 4T alone.
    fn person_key(&self, data: &PersonalData) -> String {
        data_encoding::HEXLOWER
            .encode(&self.identity_key.mac(format!("person\n{}", data.person_key_input()).as_bytes()))
    }

    fn binding_code_hash(&self, code: &BindingCode) -> String {
        data_encoding::HEXLOWER.encode(&self.identity_key.mac(format!("binding\n{}", code.as_str()).as_bytes()))
    }

    /// Parses an office's input against today's date.
    pub fn parse_verification(
        &self,
        input: &VerificationInput,
    ) -> Result<Verification, Vec<(InputField, InputProblem)>> {
        input.parse(self.today())
    }

    /// A clerk verified a citizen in person who binds it later: the code to
    /// hand over (or, with `mail_to`, sent to that address — the letter).
    /// The code is shown once and stored only as a keyed hash.
    pub async fn office_issue_binding_code(
        &self,
        v: &Verification,
        mail_to: Option<&EmailAddress>,
    ) -> Result<(BindingCode, UnixTime), IdentityError> {
        let code = BindingCode::generate();
        let code_hash = self.binding_code_hash(&code);
        let pending = PendingVerification { data: v.data.clone(), document: v.document.clone() };
        let json = serde_json::to_vec(&pending).map_err(|_| IdentityError::Sealing)?;
        let sealed = self.secret_box.seal(&json, code_hash.as_bytes()).map_err(|_| IdentityError::Sealing)?;
        let now = self.now();
        let expires_at = now + self.config.identity.binding_code_days * 86_400;
        let tx = self.store.begin().await?;
        tx.insert_binding(&code_hash, &sealed, &v.clerk, &v.office, now, expires_at).await?;
        let detail = format!("binding code issued; clerk={}; office={}; reason={}", v.clerk, v.office, v.reason);
        let subject = Subject::default();
        self.audit(&tx, AuditEvent::IdentityVerified, Outcome::Success, subject, &Actor::default(), Some(detail))
            .await?;
        if let Some(to) = mail_to {
            let notice = Notice::IdentityBindingCode {
                code: code.grouped(),
                office: v.office.clone(),
                until: self.format_time(expires_at),
            };
            let name = format!("{} {}", v.data.family_name.as_str(), v.data.given_name.as_str());
            self.send_notice(&tx, to, Some(&name), crate::accounts::model::Language::Hu, notice).await?;
        }
        tx.commit().await?;
        Ok((code, expires_at))
    }

    /// A clerk verified the citizen in person and binds the identity to the
    /// account named at once (the citizen is at the counter).
    pub async fn office_verify_account(&self, username: &str, v: &Verification) -> Result<Account, IdentityError> {
        let no_account = || IdentityError::NoAccount(username.to_owned());
        let name = Username::parse(username).map_err(|_| no_account())?;
        let account = self.store.account_by_username(&name).await?.ok_or_else(no_account)?;
        let tx = self.store.begin().await?;
        self.insert_verified(&tx, &account.id, &v.data, &v.document, &v.clerk, &v.office).await?;
        let detail = format!("verified at the counter; clerk={}; office={}; reason={}", v.clerk, v.office, v.reason);
        let subject = Subject::account(&account);
        self.audit(&tx, AuditEvent::IdentityVerified, Outcome::Success, subject, &Actor::default(), Some(detail))
            .await?;
        self.notify_account(&tx, &account, Notice::IdentityBound { office: v.office.clone() }).await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn insert_verified(
        &self,
        tx: &crate::store::Tx,
        account_id: &AccountId,
        data: &PersonalData,
        document: &Document,
        clerk: &str,
        office: &str,
    ) -> Result<(), IdentityError> {
        let person_key = self.person_key(data);
        if let Some(holder) = tx.account_of_person(&person_key).await? {
            return Err(if &holder == account_id {
                IdentityError::AlreadyVerified
            } else {
                IdentityError::BoundElsewhere
            });
        }
        if tx.identity_of(account_id).await?.is_some() {
            return Err(IdentityError::AlreadyVerified);
        }
        let json = serde_json::to_vec(document).map_err(|_| IdentityError::Sealing)?;
        let sealed = self.secret_box.seal(&json, account_id.0.as_bytes()).map_err(|_| IdentityError::Sealing)?;
        let new = NewIdentity {
            account_id,
            person_key: &person_key,
            data,
            document_sealed: &sealed,
            clerk,
            office,
            verified_at: self.now(),
        };
        match tx.insert_identity(&new).await {
            // A racing binding of the same person or account won.
            Err(StoreError::Conflict) => Err(IdentityError::BoundElsewhere),
            other => Ok(other?),
        }
    }

    /// The citizen, logged in, enters the code the office gave them. The
    /// try is taken first (5 per 15 minutes per account, like the
    /// revocation code); the code is redeemed by one DELETE, so a code
    /// entered at once in many places binds once. A right code gives the
    /// try back; the identity, the audit event and the notice commit together.
    pub async fn bind_identity(
        &self,
        account: &Account,
        typed_code: &str,
        actor: &Actor,
    ) -> Result<VerifiedIdentity, IdentityError> {
        let form = |problem| {
            let mut e = FormErrors::default();
            e.add(Field::BindingCode, problem);
            IdentityError::Form(e)
        };
        // Not a code at all: said before a try is taken.
        let Some(code) = BindingCode::parse(typed_code) else {
            return Err(form(if typed_code.trim().is_empty() {
                Problem::BindingCodeEmpty
            } else {
                Problem::BindingCodeFormat
            }));
        };
        if self.store.identity_of(&account.id).await?.is_some() {
            return Err(IdentityError::AlreadyVerified);
        }
        let keys = AttemptKeys::identity_binding(&self.limits, &account.id.0);
        let taken = match take_attempts(&self.store, &keys, self.now()).await? {
            Ok(taken) => taken,
            Err(until) => return Err(IdentityError::Blocked { until }),
        };
        let code_hash = self.binding_code_hash(&code);
        let tx = self.store.begin().await?;
        let Some(redeemed) = tx.redeem_binding(&code_hash, self.now()).await? else {
            let subject = Subject::account(account);
            self.audit(&tx, AuditEvent::IdentityBound, Outcome::Failure, subject, actor, None).await?;
            tx.commit().await?;
            return Err(form(Problem::BindingCodeWrong));
        };
        let json = self
            .secret_box
            .open(&redeemed.identity_sealed, code_hash.as_bytes())
            .map_err(|_| IdentityError::Sealing)?;
        let pending: PendingVerification = serde_json::from_slice(&json).map_err(|_| IdentityError::Sealing)?;
        // A refusal below rolls back: the code stays usable (at an office).
        self.insert_verified(&tx, &account.id, &pending.data, &pending.document, &redeemed.clerk, &redeemed.office)
            .await?;
        give_back(&tx, &taken).await?;
        let detail = format!("clerk={}; office={}", redeemed.clerk, redeemed.office);
        self.audit(&tx, AuditEvent::IdentityBound, Outcome::Success, Subject::account(account), actor, Some(detail))
            .await?;
        self.notify_account(&tx, account, Notice::IdentityBound { office: redeemed.office.clone() }).await?;
        tx.commit().await?;
        Ok(VerifiedIdentity {
            data: pending.data,
            document_kind: pending.document.kind,
            clerk: redeemed.clerk,
            office: redeemed.office,
            verified_at: self.now(),
        })
    }

    /// The account's verified identity, if an office verified it.
    pub async fn verified_identity(&self, account_id: &AccountId) -> Result<Option<VerifiedIdentity>, IdentityError> {
        let Some(stored) = self.store.identity_of(account_id).await? else { return Ok(None) };
        let json = self
            .secret_box
            .open(&stored.document_sealed, account_id.0.as_bytes())
            .map_err(|_| IdentityError::Sealing)?;
        let document: Document = serde_json::from_slice(&json).map_err(|_| IdentityError::Sealing)?;
        Ok(Some(stored.identity.with_document(document.kind)))
    }
}
