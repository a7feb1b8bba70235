//! What kapu mails people. A use case says which notice and its facts; this
//! module phrases it in the recipient's language (from the catalogue), and
//! [`Kapu::send_notice`] queues it in the use case's unit of work.
//!
//! Notices that someone other than the account's owner can cause — a
//! registration, a password reset, a new address — are *unsolicited*: they
//! carry no text anybody typed except a username (whose characters are
//! restricted), are sent without a display name, and at most a few reach one
//! address an hour. Otherwise kapu could be made to send official mail with
//! an attacker's words in it to anyone.

use super::{EmailAddress, OutgoingEmail};
use crate::Kapu;
use crate::accounts::model::{Account, Language};
use crate::i18n::{self, fill};
use crate::store::{Db, StoreError};

#[derive(Debug, Clone)]
pub enum Notice {
    /// Unsolicited: the link that activates a registration.
    RegistrationLink {
        username: String,
        url: String,
        hours: i64,
    },
    /// Unsolicited: a password-reset link.
    PasswordResetLink {
        username: String,
        url: String,
        minutes: i64,
    },
    /// Unsolicited: the link that makes an address the account's, sent to that address.
    EmailChangeLink {
        username: String,
        url: String,
    },
    /// To the old address: a new one was given.
    EmailChangeRequested {
        new_email: String,
    },
    PasswordChanged,
    TwoStepEnabled,
    TwoStepDeviceChanged,
    TwoStepRevoked,
    TwoStepReset,
    /// The code step locked after too many wrong codes: the unlock link.
    CodeLocked {
        url: String,
    },
    /// "Email me about every login".
    LoginNotice {
        address: String,
    },
    /// After the end of one-step login: a set-up finished with a password
    /// alone waits for this link (where it came from, how to refuse it).
    TwoStepActivationLink {
        url: String,
        address: String,
        hours: i64,
    },
    AccountDeleted,
    /// The letter of an office's verification: the binding code.
    IdentityBindingCode {
        code: String,
        office: String,
        until: String,
    },
    /// A verified identity now belongs to the account.
    IdentityBound {
        office: String,
    },
    /// To the agent: a principal delegated a matter to them.
    DelegationOffered {
        principal: String,
        matter: String,
        from: String,
        until: String,
    },
    /// To the principal: the agent accepted.
    DelegationAccepted {
        agent: String,
        matter: String,
    },
    /// To the other party: `by` ended (or refused) the delegation.
    DelegationEnded {
        by: String,
        matter: String,
    },
    /// To the other party: `other` deleted their account.
    DelegationEndedByDeletion {
        other: String,
        matter: String,
    },
}

impl Notice {
    /// Whether someone other than the owner can cause it (see the module doc).
    pub fn is_unsolicited(&self) -> bool {
        matches!(
            self,
            Notice::RegistrationLink { .. } | Notice::PasswordResetLink { .. } | Notice::EmailChangeLink { .. }
        )
    }

    /// Subject and body in `language`. `name` greets the account's owner in
    /// notices to its own address; `time` is when it happened.
    pub fn compose(&self, language: Language, name: &str, time: &str) -> (String, String) {
        let t = i18n::texts(language);
        let (subject, body, values): (&str, &str, Vec<(&str, String)>) = match self {
            Notice::RegistrationLink { username, url, hours } => (
                t.mail_registration_subject,
                t.mail_registration_body,
                vec![("username", username.clone()), ("url", url.clone()), ("hours", hours.to_string())],
            ),
            Notice::PasswordResetLink { username, url, minutes } => (
                t.mail_reset_subject,
                t.mail_reset_body,
                vec![("username", username.clone()), ("url", url.clone()), ("minutes", minutes.to_string())],
            ),
            Notice::EmailChangeLink { username, url } => (
                t.mail_email_change_subject,
                t.mail_email_change_body,
                vec![("username", username.clone()), ("url", url.clone())],
            ),
            Notice::EmailChangeRequested { new_email } => {
                (t.mail_email_change_subject, t.mail_email_change_notice_body, vec![("email", new_email.clone())])
            }
            Notice::PasswordChanged => (t.mail_password_changed_subject, t.mail_password_changed_body, vec![]),
            Notice::TwoStepEnabled => (t.mail_two_step_enabled_subject, t.mail_two_step_enabled_body, vec![]),
            Notice::TwoStepDeviceChanged => (t.mail_two_step_device_subject, t.mail_two_step_device_body, vec![]),
            Notice::TwoStepRevoked => (t.mail_two_step_revoked_subject, t.mail_two_step_revoked_body, vec![]),
            Notice::TwoStepReset => (t.mail_two_step_reset_subject, t.mail_two_step_reset_body, vec![]),
            Notice::CodeLocked { url } => {
                (t.mail_code_locked_subject, t.mail_code_locked_body, vec![("url", url.clone())])
            }
            Notice::LoginNotice { address } => {
                (t.mail_login_notice_subject, t.mail_login_notice_body, vec![("address", address.clone())])
            }
            Notice::TwoStepActivationLink { url, address, hours } => (
                t.mail_two_step_activation_subject,
                t.mail_two_step_activation_body,
                vec![("url", url.clone()), ("address", address.clone()), ("hours", hours.to_string())],
            ),
            Notice::AccountDeleted => (t.mail_deleted_subject, t.mail_deleted_body, vec![]),
            Notice::IdentityBindingCode { code, office, until } => (
                t.mail_identity_code_subject,
                t.mail_identity_code_body,
                vec![("code", code.clone()), ("office", office.clone()), ("until", until.clone())],
            ),
            Notice::IdentityBound { office } => {
                (t.mail_identity_bound_subject, t.mail_identity_bound_body, vec![("office", office.clone())])
            }
            Notice::DelegationOffered { principal, matter, from, until } => (
                t.mail_delegation_offered_subject,
                t.mail_delegation_offered_body,
                vec![
                    ("principal", principal.clone()),
                    ("matter", matter.clone()),
                    ("from", from.clone()),
                    ("until", until.clone()),
                ],
            ),
            Notice::DelegationAccepted { agent, matter } => (
                t.mail_delegation_accepted_subject,
                t.mail_delegation_accepted_body,
                vec![("agent", agent.clone()), ("matter", matter.clone())],
            ),
            Notice::DelegationEnded { by, matter } => (
                t.mail_delegation_ended_subject,
                t.mail_delegation_ended_body,
                vec![("by", by.clone()), ("matter", matter.clone())],
            ),
            Notice::DelegationEndedByDeletion { other, matter } => (
                t.mail_delegation_ended_subject,
                t.mail_delegation_deleted_body,
                vec![("other", other.clone()), ("matter", matter.clone())],
            ),
        };
        let mut all: Vec<(&str, &str)> = vec![("name", name), ("time", time)];
        all.extend(values.iter().map(|(k, v)| (*k, v.as_str())));
        (subject.to_owned(), fill(body, &all))
    }
}

impl Kapu {
    /// Queues `notice` to `to` on `db` (the action's unit of work), in
    /// `language`. Unsolicited notices go without a display name and only
    /// within the recipient's hourly limit. Whether it was queued.
    pub async fn send_notice(
        &self,
        db: &impl Db,
        to: &EmailAddress,
        name: Option<&str>,
        language: Language,
        notice: Notice,
    ) -> Result<bool, StoreError> {
        let when = self.format_time(self.now());
        let unsolicited = notice.is_unsolicited();
        let (subject, text) = notice.compose(language, name.unwrap_or_default(), &when);
        let to_name = if unsolicited { None } else { name.map(str::to_owned) };
        let email = OutgoingEmail { to: to.clone(), to_name, subject, text };
        if unsolicited {
            self.enqueue_limited_mail(db, &email).await
        } else {
            self.enqueue_mail(db, &email).await.map(|()| true)
        }
    }

    /// Queues `notice` to the account's own address, greeting its owner.
    pub async fn notify_account(&self, db: &impl Db, account: &Account, notice: Notice) -> Result<(), StoreError> {
        self.send_notice(db, &account.email, Some(account.full_name.as_str()), account.language, notice).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsolicited_notices_carry_only_the_username() {
        let notice = Notice::RegistrationLink {
            username: "imre".into(),
            url: "https://kapu.example/register/confirm/x".into(),
            hours: 24,
        };
        let (_, body) = notice.compose(Language::Hu, "FIGYELEM lépjen be: https://evil.example", "ma");
        assert!(body.contains("imre") && body.contains("https://kapu.example/register/confirm/x"), "{body}");
        assert!(!body.contains("evil.example"), "a name is never in an unsolicited notice: {body}");
        assert!(notice.is_unsolicited());
        assert!(!Notice::PasswordChanged.is_unsolicited());
    }

    #[test]
    fn owner_notices_greet_by_name_in_their_language() {
        let (subject, body) = Notice::PasswordChanged.compose(Language::En, "Szücs Imre", "2026-12-03 10:00:00");
        assert!(subject.contains("password"), "{subject}");
        assert!(body.contains("Szücs Imre") && body.contains("2026-12-03 10:00:00"), "{body}");
    }
}
