//! Session use cases: start (at login), look up and extend (each request),
//! end (logout), and clean up.

use crate::Kapu;
use crate::accounts::model::Account;
use crate::audit::Actor;
use crate::audit::Subject;
use crate::audit::model::{AuditEvent, Outcome};
use crate::clock::UnixTime;
use crate::crypto::{random_token, token_hash};
use crate::sessions::model::{ActiveSession, AuthMethods, SessionRecord};
use crate::sessions::repo::SessionRepo;
use crate::store::{Db, StoreError, Tx};

/// Which sessions "Aktív munkamenetek" ends.
#[derive(Debug, Clone, Copy)]
pub enum EndSessions<'a> {
    /// The session with this id hash.
    One(&'a str),
    /// Every one but this (the current browser's).
    AllBut(&'a str),
}

impl Kapu {
    /// A new session with a new random id, stored on `db` (the login's unit
    /// of work): a login never reuses an id a browser had before (no session
    /// fixation). Returns the cookie token and the record.
    pub async fn start_session(
        &self,
        db: &impl Db,
        account: &Account,
        methods: AuthMethods,
        actor: &Actor,
    ) -> Result<(String, SessionRecord), StoreError> {
        let token = random_token();
        let now = self.now();
        let s = &self.config.session;
        let absolute = now + s.absolute_lifetime_seconds;
        let record = SessionRecord {
            id_hash: token_hash(&token),
            sid: crate::crypto::random_id(),
            account_id: account.id.clone(),
            auth_methods: methods,
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            idle_expires_at: (now + s.idle_timeout_seconds).min(absolute),
            absolute_expires_at: absolute,
            client_addr: actor.client_addr.clone(),
            user_agent: actor.user_agent.clone(),
        };
        db.insert_session(&record).await?;
        Ok((token, record))
    }

    /// The same session under a new id, on `tx`: after a credential change the
    /// browser keeps its login, and whatever knew the old id does not.
    pub async fn renew_session_id(&self, tx: &Tx, old: &SessionRecord) -> Result<(String, SessionRecord), StoreError> {
        let token = random_token();
        let record = SessionRecord { id_hash: token_hash(&token), ..old.clone() };
        tx.delete_session(&old.id_hash).await?;
        tx.insert_session(&record).await?;
        Ok((token, record))
    }

    /// "Aktív munkamenetek": the account's live sessions.
    pub async fn sessions_of(&self, account: &Account) -> Result<Vec<SessionRecord>, StoreError> {
        self.store.sessions_of(&account.id, self.now()).await
    }

    /// Ends one session of the account ("Kijelentkeztetés"), or all but the
    /// current one; audited.
    pub async fn end_sessions(
        &self,
        account: &Account,
        which: EndSessions<'_>,
        actor: &Actor,
    ) -> Result<u64, StoreError> {
        let tx = self.store.begin().await?;
        let ended = match which {
            EndSessions::One(id_hash) => u64::from(tx.delete_session_of(&account.id, id_hash).await?),
            EndSessions::AllBut(current) => tx.delete_sessions_of(&account.id, Some(current)).await?,
        };
        let detail = Some(format!("{ended} session(s) ended"));
        self.audit(&tx, AuditEvent::SessionsEnded, Outcome::Success, Subject::account(account), actor, detail).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// The live session for a cookie token, extended by this activity.
    pub async fn resume_session(&self, token: &str) -> Result<Option<ActiveSession>, StoreError> {
        let now = self.now();
        let Some(mut session) = self.store.active_session(&token_hash(token), now).await? else {
            return Ok(None);
        };
        let expires = session.record.extended_expiry(now, self.config.session.idle_timeout_seconds);
        // Several requests in one second (a login landing on the portal, a
        // page and its assets) would write the same values again.
        if session.record.last_seen_at != now || session.record.idle_expires_at != expires {
            self.store.touch_session(&session.record.id_hash, now, expires).await?;
        }
        session.record.last_seen_at = now;
        session.record.idle_expires_at = expires;
        Ok(Some(session))
    }

    pub async fn end_session(&self, token: &str) -> Result<(), StoreError> {
        self.store.delete_session(&token_hash(token)).await
    }

    pub async fn delete_expired_sessions(&self) -> Result<u64, StoreError> {
        self.store.delete_expired_sessions(self.now()).await
    }

    pub fn session_seconds_left(&self, session: &ActiveSession) -> UnixTime {
        session.seconds_left(self.now())
    }
}
