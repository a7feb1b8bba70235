//! Security events: what happened, to which account, from where, with what outcome.

use serde::Serialize;

use crate::accounts::model::AccountId;
use crate::clock::UnixTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    Registered,
    RegistrationConfirmed,
    AccountCreatedByOffice,
    /// `kapu admin seed` created test accounts (no account; detail: how many, which names).
    AccountsSeeded,
    LoginSucceeded,
    LoginFailed,
    LoginBlocked,
    LockedOut,
    Unlocked,
    Logout,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    EmailChangeRequested,
    EmailChanged,
    NameChanged,
    SettingsChanged,
    AccountDeleted,
    TwoStepEnabled,
    TwoStepDeviceChanged,
    TwoStepRevoked,
    TwoStepReset,
    CodeFailed,
    CodeLocked,
    CodeUnlocked,
    /// A service received this login (detail: which service, at what level).
    ServiceLogin,
    /// The citizen ended sessions on "Aktív munkamenetek" (detail: how many).
    SessionsEnded,
    /// After the end of one-step login, a set-up waits for the mailed confirmation.
    TwoStepActivationRequested,
    /// The owner refused such a set-up from the mailed link ("Nem én voltam").
    TwoStepActivationRefused,
    /// A service could not be told that a session ended (back-channel
    /// logout given up; detail: which service, the last error).
    ServiceLogoutFailed,
    /// A clerk verified a citizen's identity in person (detail: clerk,
    /// office, the reason typed; whether bound at once or a code issued).
    IdentityVerified,
    /// The citizen bound a verified identity with its code (or failed to).
    IdentityBound,
    /// The citizen agreed that a service receives identity data (detail: which, what).
    ConsentGranted,
    /// The citizen refused it (the login went back to the service).
    ConsentRefused,
    /// The citizen withdrew an earlier consent on "Szolgáltatások".
    ConsentWithdrawn,
    /// A citizen gave a delegation (pending until the agent accepts).
    DelegationGranted,
    /// The agent accepted a delegation.
    DelegationAccepted,
    /// A party ended or refused a delegation, or the other party's account was deleted.
    DelegationEnded,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 38] = [
        AuditEvent::Registered,
        AuditEvent::RegistrationConfirmed,
        AuditEvent::AccountCreatedByOffice,
        AuditEvent::AccountsSeeded,
        AuditEvent::LoginSucceeded,
        AuditEvent::LoginFailed,
        AuditEvent::LoginBlocked,
        AuditEvent::LockedOut,
        AuditEvent::Unlocked,
        AuditEvent::Logout,
        AuditEvent::PasswordChanged,
        AuditEvent::PasswordResetRequested,
        AuditEvent::PasswordReset,
        AuditEvent::EmailChangeRequested,
        AuditEvent::EmailChanged,
        AuditEvent::NameChanged,
        AuditEvent::SettingsChanged,
        AuditEvent::AccountDeleted,
        AuditEvent::TwoStepEnabled,
        AuditEvent::TwoStepDeviceChanged,
        AuditEvent::TwoStepRevoked,
        AuditEvent::TwoStepReset,
        AuditEvent::CodeFailed,
        AuditEvent::CodeLocked,
        AuditEvent::CodeUnlocked,
        AuditEvent::ServiceLogin,
        AuditEvent::SessionsEnded,
        AuditEvent::TwoStepActivationRequested,
        AuditEvent::TwoStepActivationRefused,
        AuditEvent::ServiceLogoutFailed,
        AuditEvent::IdentityVerified,
        AuditEvent::IdentityBound,
        AuditEvent::ConsentGranted,
        AuditEvent::ConsentRefused,
        AuditEvent::ConsentWithdrawn,
        AuditEvent::DelegationGranted,
        AuditEvent::DelegationAccepted,
        AuditEvent::DelegationEnded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::Registered => "registered",
            AuditEvent::RegistrationConfirmed => "registration_confirmed",
            AuditEvent::AccountCreatedByOffice => "account_created_by_office",
            AuditEvent::AccountsSeeded => "accounts_seeded",
            AuditEvent::LoginSucceeded => "login_succeeded",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::LoginBlocked => "login_blocked",
            AuditEvent::LockedOut => "locked_out",
            AuditEvent::Unlocked => "unlocked",
            AuditEvent::Logout => "logout",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::PasswordResetRequested => "password_reset_requested",
            AuditEvent::PasswordReset => "password_reset",
            AuditEvent::EmailChangeRequested => "email_change_requested",
            AuditEvent::EmailChanged => "email_changed",
            AuditEvent::NameChanged => "name_changed",
            AuditEvent::SettingsChanged => "settings_changed",
            AuditEvent::AccountDeleted => "account_deleted",
            AuditEvent::TwoStepEnabled => "two_step_enabled",
            AuditEvent::TwoStepDeviceChanged => "two_step_device_changed",
            AuditEvent::TwoStepRevoked => "two_step_revoked",
            AuditEvent::TwoStepReset => "two_step_reset",
            AuditEvent::CodeFailed => "code_failed",
            AuditEvent::CodeLocked => "code_locked",
            AuditEvent::CodeUnlocked => "code_unlocked",
            AuditEvent::ServiceLogin => "service_login",
            AuditEvent::SessionsEnded => "sessions_ended",
            AuditEvent::TwoStepActivationRequested => "two_step_activation_requested",
            AuditEvent::TwoStepActivationRefused => "two_step_activation_refused",
            AuditEvent::ServiceLogoutFailed => "service_logout_failed",
            AuditEvent::IdentityVerified => "identity_verified",
            AuditEvent::IdentityBound => "identity_bound",
            AuditEvent::ConsentGranted => "consent_granted",
            AuditEvent::ConsentRefused => "consent_refused",
            AuditEvent::ConsentWithdrawn => "consent_withdrawn",
            AuditEvent::DelegationGranted => "delegation_granted",
            AuditEvent::DelegationAccepted => "delegation_accepted",
            AuditEvent::DelegationEnded => "delegation_ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub at: UnixTime,
    pub account_id: Option<AccountId>,
    pub username: Option<String>,
    pub event: AuditEvent,
    pub outcome: Outcome,
    pub client_addr: Option<String>,
    /// Free text for operators, never a secret (no password, code or token).
    pub detail: Option<String>,
}

/// An event as read back.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: UnixTime,
    pub account_id: Option<String>,
    pub username: Option<String>,
    pub event: String,
    pub outcome: String,
    pub client_addr: Option<String>,
    pub detail: Option<String>,
}
