//! The service's own SQLite database: browser sessions (a random token in a
//! cookie, only its hash stored), the draft waiting for a login (with the
//! login's state, nonce and PKCE verifier), and the accepted returns, kept
//! under the pairwise `sub` kapu gives this service.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD, HEXLOWER};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

/// A browser session lives this long (absolute); a demo needs no more.
pub const SESSION_TTL_SECONDS: i64 = 2 * 3600;
/// A draft waits this long for its login (kapu keeps a login request for 30 min).
pub const DRAFT_TTL_SECONDS: i64 = 30 * 60;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    csrf        TEXT NOT NULL,
    sub         TEXT,
    name        TEXT,
    id_token    TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS drafts (
    session_id     INTEGER PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    tax_year       INTEGER NOT NULL,
    amount         INTEGER NOT NULL,
    note           TEXT NOT NULL,
    state          TEXT,
    nonce          TEXT,
    pkce_verifier  TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tax_returns (
    id            INTEGER PRIMARY KEY,
    reference     TEXT NOT NULL UNIQUE,
    sub           TEXT NOT NULL,
    tax_year      INTEGER NOT NULL,
    amount        INTEGER NOT NULL,
    note          TEXT NOT NULL,
    submitted_at  INTEGER NOT NULL,
    auth_time     INTEGER NOT NULL,
    acr           TEXT NOT NULL,
    amr           TEXT NOT NULL,
    -- Who filed it for the taxpayer under a delegation (kapu's act claim):
    -- their verified name; NULL when the taxpayer filed it themselves.
    filed_by      TEXT
);
CREATE INDEX IF NOT EXISTS tax_returns_sub ON tax_returns (sub, submitted_at);
";

pub type StoreError = sqlx::Error;

/// What the user filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub tax_year: i32,
    /// Whole forints.
    pub amount: i64,
    pub note: String,
}

/// One login started for a draft: what the callback must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who this browser is at this service, after an accepted submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// kapu's pairwise subject for this service.
    pub sub: String,
    pub name: Option<String>,
    /// The last ID token, for `id_token_hint` at logout.
    pub id_token: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub csrf: String,
    pub identity: Option<Identity>,
}

/// An accepted tax return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxReturn {
    /// The filing number shown to the user ("érkeztetési szám").
    pub reference: String,
    pub sub: String,
    pub draft: Draft,
    pub submitted_at: i64,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    /// The agent who filed it on the taxpayer's behalf, if not themselves.
    pub filed_by: Option<String>,
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

/// A filing number such as `BEV-7Q2K-M4XD-PA`: 50 random bits, easy to read out.
pub fn new_reference() -> String {
    let mut bytes = [0u8; 7];
    OsRng.fill_bytes(&mut bytes);
    let text = BASE32_NOPAD.encode(&bytes);
    format!("BEV-{}-{}-{}", &text[0..4], &text[4..8], &text[8..10])
}

fn token_hash(token: &str) -> String {
    HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (and creates) `<data_dir>/bevallas.db`.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let url = format!("sqlite://{}", data_dir.join("bevallas.db").display());
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        // A database from before delegations: add the column it lacks.
        let has_filed_by: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info('tax_returns') WHERE name = 'filed_by'")
                .fetch_one(&pool)
                .await?;
        if has_filed_by == 0 {
            sqlx::query("ALTER TABLE tax_returns ADD COLUMN filed_by TEXT").execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// A new anonymous session; returns the cookie token (only its hash is stored).
    pub async fn new_session(&self, now: i64) -> Result<(String, Session), StoreError> {
        // Expired sessions (and, by cascade, their drafts) go when new ones come.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?").bind(now).execute(&self.pool).await?;
        let token = random_token();
        let csrf = random_token();
        let id: i64 = sqlx::query(
            "INSERT INTO sessions (token_hash, csrf, created_at, expires_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(token_hash(&token))
        .bind(&csrf)
        .bind(now)
        .bind(now + SESSION_TTL_SECONDS)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok((token, Session { id, csrf, identity: None }))
    }

    pub async fn session(&self, token: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let row =
            sqlx::query("SELECT id, csrf, sub, name, id_token FROM sessions WHERE token_hash = ? AND expires_at > ?")
                .bind(token_hash(token))
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let sub: Option<String> = row.try_get("sub")?;
        let id_token: Option<String> = row.try_get("id_token")?;
        let identity = match (sub, id_token) {
            (Some(sub), Some(id_token)) => Some(Identity { sub, name: row.try_get("name")?, id_token }),
            _ => None,
        };
        Ok(Some(Session { id: row.try_get("id")?, csrf: row.try_get("csrf")?, identity }))
    }

    pub async fn end_session(&self, session_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = ?").bind(session_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Keeps `draft` for the session (replacing an earlier one) with the login just started for it.
    pub async fn save_draft(
        &self,
        session_id: i64,
        draft: &Draft,
        login: &PendingLogin,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO drafts (session_id, tax_year, amount, note, state, nonce, pkce_verifier, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (session_id) DO UPDATE SET tax_year = excluded.tax_year, amount = excluded.amount,
                 note = excluded.note, state = excluded.state, nonce = excluded.nonce,
                 pkce_verifier = excluded.pkce_verifier, created_at = excluded.created_at,
                 expires_at = excluded.expires_at",
        )
        .bind(session_id)
        .bind(draft.tax_year)
        .bind(draft.amount)
        .bind(&draft.note)
        .bind(&login.state)
        .bind(&login.nonce)
        .bind(&login.pkce_verifier)
        .bind(now)
        .bind(now + DRAFT_TTL_SECONDS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session's unexpired draft, to fill the form again.
    pub async fn draft(&self, session_id: i64, now: i64) -> Result<Option<Draft>, StoreError> {
        let row = sqlx::query("SELECT tax_year, amount, note FROM drafts WHERE session_id = ? AND expires_at > ?")
            .bind(session_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| draft_from_row(&r)).transpose()
    }

    /// The draft and its pending login, which is used up by this call: a
    /// callback (or a replayed one) can use a state, nonce and verifier once.
    pub async fn take_pending_login(
        &self,
        session_id: i64,
        now: i64,
    ) -> Result<Option<(Draft, Option<PendingLogin>)>, StoreError> {
        let row = sqlx::query(
            "SELECT tax_year, amount, note, state, nonce, pkce_verifier FROM drafts
             WHERE session_id = ? AND expires_at > ?",
        )
        .bind(session_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let draft = draft_from_row(&row)?;
        let state: Option<String> = row.try_get("state")?;
        let nonce: Option<String> = row.try_get("nonce")?;
        let pkce_verifier: Option<String> = row.try_get("pkce_verifier")?;
        let (Some(state), Some(nonce), Some(pkce_verifier)) = (state, nonce, pkce_verifier) else {
            return Ok(Some((draft, None)));
        };
        // Compare-and-clear: of two callbacks racing for the same login, only
        // the one whose UPDATE changes the row gets it.
        let cleared = sqlx::query(
            "UPDATE drafts SET state = NULL, nonce = NULL, pkce_verifier = NULL WHERE session_id = ? AND state = ?",
        )
        .bind(session_id)
        .bind(&state)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let login = (cleared == 1).then_some(PendingLogin { state, nonce, pkce_verifier });
        Ok(Some((draft, login)))
    }

    /// Files the return, drops the draft and marks the session as `identity`
    /// under a NEW cookie token (the old one stops working), all at once.
    /// Returns the new token.
    pub async fn accept(
        &self,
        session_id: i64,
        tax_return: &TaxReturn,
        identity: &Identity,
    ) -> Result<String, StoreError> {
        let token = random_token();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO tax_returns (reference, sub, tax_year, amount, note, submitted_at, auth_time, acr, amr,
             filed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&tax_return.reference)
        .bind(&tax_return.sub)
        .bind(tax_return.draft.tax_year)
        .bind(tax_return.draft.amount)
        .bind(&tax_return.draft.note)
        .bind(tax_return.submitted_at)
        .bind(tax_return.auth_time)
        .bind(&tax_return.acr)
        .bind(tax_return.amr.join(" "))
        .bind(&tax_return.filed_by)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM drafts WHERE session_id = ?").bind(session_id).execute(&mut *tx).await?;
        sqlx::query("UPDATE sessions SET token_hash = ?, sub = ?, name = ?, id_token = ? WHERE id = ?")
            .bind(token_hash(&token))
            .bind(&identity.sub)
            .bind(&identity.name)
            .bind(&identity.id_token)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The returns filed under `sub`, newest first.
    pub async fn returns_for(&self, sub: &str) -> Result<Vec<TaxReturn>, StoreError> {
        let rows = sqlx::query(
            "SELECT reference, sub, tax_year, amount, note, submitted_at, auth_time, acr, amr, filed_by
             FROM tax_returns WHERE sub = ? ORDER BY submitted_at DESC, id DESC",
        )
        .bind(sub)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let amr: String = r.try_get("amr")?;
                Ok(TaxReturn {
                    reference: r.try_get("reference")?,
                    sub: r.try_get("sub")?,
                    draft: draft_from_row(r)?,
                    submitted_at: r.try_get("submitted_at")?,
                    auth_time: r.try_get("auth_time")?,
                    acr: r.try_get("acr")?,
                    amr: amr.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                    filed_by: r.try_get("filed_by")?,
                })
            })
            .collect()
    }
}

fn draft_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Draft, StoreError> {
    Ok(Draft { tax_year: row.try_get("tax_year")?, amount: row.try_get("amount")?, note: row.try_get("note")? })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_760_000_000;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        (dir, store)
    }

    fn draft() -> Draft {
        Draft { tax_year: 2024, amount: 1_234_567, note: "Első bevallás".into() }
    }

    fn login(n: u8) -> PendingLogin {
        PendingLogin {
            state: format!("state-{n}"),
            nonce: format!("nonce-{n}"),
            pkce_verifier: format!("verifier-{n}"),
        }
    }

    #[tokio::test]
    async fn sessions_are_found_by_their_token_only_until_they_expire() {
        let (_dir, store) = store().await;
        let (token, session) = store.new_session(NOW).await.unwrap();
        let found = store.session(&token, NOW + 1).await.unwrap().unwrap();
        assert_eq!((found.id, found.csrf.as_str()), (session.id, session.csrf.as_str()));
        assert!(found.identity.is_none());
        assert!(store.session("not-a-token", NOW).await.unwrap().is_none());
        assert!(store.session(&token, NOW + SESSION_TTL_SECONDS).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_draft_and_its_login_are_taken_once() {
        let (_dir, store) = store().await;
        let (_, session) = store.new_session(NOW).await.unwrap();
        assert!(store.take_pending_login(session.id, NOW).await.unwrap().is_none(), "no draft yet");

        store.save_draft(session.id, &draft(), &login(1), NOW).await.unwrap();
        assert_eq!(store.draft(session.id, NOW).await.unwrap(), Some(draft()));
        let (taken, pending) = store.take_pending_login(session.id, NOW + 10).await.unwrap().unwrap();
        assert_eq!(taken, draft());
        assert_eq!(pending, Some(login(1)));

        // A replayed callback finds the draft (kept, e.g. after a cancel) but no login.
        let (again, pending) = store.take_pending_login(session.id, NOW + 11).await.unwrap().unwrap();
        assert_eq!(again, draft());
        assert_eq!(pending, None);
        assert_eq!(store.draft(session.id, NOW + 12).await.unwrap(), Some(draft()), "the draft stays");
    }

    #[tokio::test]
    async fn a_new_submission_replaces_the_draft_and_its_login() {
        let (_dir, store) = store().await;
        let (_, session) = store.new_session(NOW).await.unwrap();
        store.save_draft(session.id, &draft(), &login(1), NOW).await.unwrap();
        let second = Draft { tax_year: 2023, amount: 5, note: String::new() };
        store.save_draft(session.id, &second, &login(2), NOW + 1).await.unwrap();
        let (taken, pending) = store.take_pending_login(session.id, NOW + 2).await.unwrap().unwrap();
        assert_eq!((taken, pending), (second, Some(login(2))));
    }

    #[tokio::test]
    async fn drafts_expire_and_belong_to_one_session() {
        let (_dir, store) = store().await;
        let (_, mine) = store.new_session(NOW).await.unwrap();
        let (_, other) = store.new_session(NOW).await.unwrap();
        store.save_draft(mine.id, &draft(), &login(1), NOW).await.unwrap();
        assert!(store.take_pending_login(other.id, NOW).await.unwrap().is_none(), "another browser's draft");
        assert!(store.draft(mine.id, NOW + DRAFT_TTL_SECONDS).await.unwrap().is_none());
        assert!(store.take_pending_login(mine.id, NOW + DRAFT_TTL_SECONDS).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn accepting_files_the_return_drops_the_draft_and_renews_the_cookie() {
        let (_dir, store) = store().await;
        let (old_token, session) = store.new_session(NOW).await.unwrap();
        store.save_draft(session.id, &draft(), &login(1), NOW).await.unwrap();
        let identity =
            Identity { sub: "pairwise-a".into(), name: Some("Adózó Aladár".into()), id_token: "x.y.z".into() };
        let filed = TaxReturn {
            reference: new_reference(),
            sub: identity.sub.clone(),
            draft: draft(),
            submitted_at: NOW + 20,
            auth_time: NOW + 15,
            acr: "ugyfelkapu-plus".into(),
            amr: vec!["pwd".into(), "otp".into()],
            filed_by: Some("Kiss Béla".into()),
        };
        let new_token = store.accept(session.id, &filed, &identity).await.unwrap();

        assert!(store.session(&old_token, NOW + 21).await.unwrap().is_none(), "the old cookie is dead");
        let renewed = store.session(&new_token, NOW + 21).await.unwrap().unwrap();
        assert_eq!(renewed.identity, Some(identity));
        assert!(store.draft(session.id, NOW + 21).await.unwrap().is_none(), "the draft is gone");
        assert_eq!(store.returns_for("pairwise-a").await.unwrap(), vec![filed]);
        assert!(store.returns_for("pairwise-b").await.unwrap().is_empty(), "only the user's own returns");
    }

    #[test]
    fn references_are_readable_and_random() {
        let a = new_reference();
        assert_eq!(a.len(), "BEV-XXXX-XXXX-XX".len(), "{a}");
        assert!(a.starts_with("BEV-"));
        assert_ne!(a, new_reference());
    }
}
