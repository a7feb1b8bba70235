//! Retention: nothing grows without end. The sweeper deletes every row that
//! can no longer be used — sessions, half-finished logins and set-ups,
//! emailed links, registrations never confirmed, a service's waiting and
//! pushed requests, codes, tokens and used assertion ids, identity binding codes nobody entered,
//! quiet limit counters — and audit events past
//! `retention.audit_days`, counting each table's rows in
//! `kapu_swept_rows_total`. It also sums up the tries refused while a name
//! or address waited into one audit event per wait.
//!
//! Several instances may sweep at once: every step is a conditional DELETE
//! (or UPDATE) that deletes a row once.

use std::sync::Arc;
use std::time::Duration;

use crate::Kapu;
use crate::accounts::model::Username;
use crate::accounts::repo::AccountRepo;
use crate::audit::model::{AuditEvent, Outcome};
use crate::audit::repo::AuditRepo;
use crate::audit::{Actor, Subject};
use crate::config::Config;
use crate::identity::repo::IdentityRepo;
use crate::oidc::repo::OidcRepo;
use crate::sessions::repo::SessionRepo;
use crate::store::StoreError;
use crate::throttle::ThrottleRepo;
use crate::twostep::repo::TwoStepRepo;

/// A limit counter is deleted once it has been quiet this long: past every
/// window that counts it (and at least an hour).
pub fn counters_quiet_for(config: &Config) -> i64 {
    3600.max(config.login_limits.window_seconds).max(config.two_step.revocation_window_seconds)
}

impl Kapu {
    /// One sweep. Returns the rows deleted per table.
    pub async fn sweep(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let now = self.now();
        let store = &self.store;
        self.sum_up_refused_tries().await?;
        // Codes stay while tokens issued from them live: a code presented
        // again must still find its row to revoke them.
        let codes_before = now - self.config.oidc.access_token_ttl_seconds;
        let counters_quiet_for = counters_quiet_for(&self.config);
        let mut swept = vec![
            ("sessions", store.delete_expired_sessions(now).await?),
            ("pending_logins", store.delete_expired_pending_logins(now).await?),
            ("totp_enrolments", store.delete_expired_enrolments(now).await?),
            ("email_links", store.delete_expired_links(now).await?),
            ("accounts", store.delete_expired_registrations(now).await?),
            ("oidc_auth_requests", store.delete_expired_auth_requests(now).await?),
            ("oidc_access_tokens", store.delete_expired_access_tokens(now).await?),
            ("oidc_codes", store.delete_expired_codes(codes_before).await?),
            ("oidc_par_requests", store.delete_expired_par_requests(now).await?),
            ("oidc_assertion_jtis", store.delete_expired_assertions(now).await?),
            ("identity_bindings", store.sweep_bindings(now).await?),
            ("login_throttle", store.sweep_throttle(now, counters_quiet_for).await?),
        ];
        if self.config.retention.audit_days > 0 {
            let before = now - self.config.retention.audit_days * 24 * 3600;
            swept.push(("audit_events", store.delete_audit_before(before).await?));
        }
        for (table, rows) in &swept {
            if *rows > 0 {
                self.metrics.swept(table, *rows);
            }
        }
        Ok(swept)
    }

    /// One audit event per wait that refused tries, with their number, once
    /// the wait is over (a flood writes one row, not one per request).
    async fn sum_up_refused_tries(&self) -> Result<(), StoreError> {
        let tx = self.store.begin().await?;
        for r in &tx.refused_counts(self.now()).await? {
            if !tx.settle_refused(r).await? {
                continue;
            }
            let (kind, what) = r.throttle_key.split_once(':').unwrap_or(("", r.throttle_key.as_str()));
            let mut subject = Subject::default();
            let mut actor = Actor::default();
            match kind {
                "user" | "revoke" => {
                    subject = Subject::typed_username(what);
                    if let Ok(name) = Username::parse(what)
                        && let Some(account) = tx.account_by_username(&name).await?
                    {
                        subject = Subject::account(&account);
                    }
                }
                "addr" => actor.client_addr = Some(what.to_owned()),
                _ => {}
            }
            let detail = Some(format!(
                "{} tries refused while {} waited, until {}",
                r.refused,
                r.throttle_key,
                self.format_time(r.blocked_until)
            ));
            self.audit(&tx, AuditEvent::LoginBlocked, Outcome::Failure, subject, &actor, detail).await?;
        }
        tx.commit().await
    }
}

/// Sweeps every `retention.sweep_interval_seconds`.
pub async fn run_sweeper(kapu: Arc<Kapu>) {
    let mut every = tokio::time::interval(Duration::from_secs(kapu.config.retention.sweep_interval_seconds));
    loop {
        every.tick().await;
        match kapu.sweep().await {
            Ok(swept) => {
                let total: u64 = swept.iter().map(|(_, n)| n).sum();
                if total > 0 {
                    tracing::debug!(?swept, "expired rows removed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot remove expired rows"),
        }
    }
}
