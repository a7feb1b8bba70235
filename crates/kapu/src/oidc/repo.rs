//! The provider's tables: `oidc_clients`, `oidc_signing_keys`,
//! `oidc_auth_requests`, `oidc_par_requests`, `oidc_codes`,
//! `oidc_access_tokens`, `oidc_assertion_jtis` and `oidc_session_clients`.
//! Only this module writes them; each method is one statement.
//!
//! A code is redeemed by one conditional UPDATE, in the same transaction as
//! the token it yields, so of two exchanges of the same code exactly one gets
//! tokens and the other finds the code used — and revokes those tokens,
//! which are committed by then (it waited on the row).

use async_trait::async_trait;

use super::model::{AccessToken, AuthCode, AuthMethod, Client, Level, SigningAlg, SigningKeyRecord};
use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};

#[derive(Debug, sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    auth_method: String,
    secret_hash: Option<String>,
    jwks: Option<String>,
    id_token_alg: String,
    required_level: String,
    backchannel_logout_uri: Option<String>,
    web_origins: String,
    par_required: bool,
    fapi2: bool,
    created_at: i64,
    allowed_claims: String,
    delegation_matters: String,
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Self {
        Client {
            client_id: r.client_id,
            name: r.name,
            redirect_uris: serde_json::from_str(&r.redirect_uris).unwrap_or_default(),
            post_logout_redirect_uris: serde_json::from_str(&r.post_logout_redirect_uris).unwrap_or_default(),
            // A stored method this build does not know can do nothing.
            auth_method: AuthMethod::parse(&r.auth_method).unwrap_or(AuthMethod::PrivateKeyJwt),
            secret_hash: r.secret_hash,
            jwks: r.jwks,
            id_token_alg: SigningAlg::parse(&r.id_token_alg).unwrap_or(SigningAlg::ES256),
            required_level: Level::parse(&r.required_level).unwrap_or(Level::TwoStep),
            backchannel_logout_uri: r.backchannel_logout_uri,
            web_origins: serde_json::from_str(&r.web_origins).unwrap_or_default(),
            par_required: r.par_required,
            fapi2: r.fapi2,
            created_at: r.created_at,
            allowed_claims: serde_json::from_str(&r.allowed_claims).unwrap_or_default(),
            delegation_matters: serde_json::from_str(&r.delegation_matters).unwrap_or_default(),
        }
    }
}

/// The columns of [`ClientRow`], as a literal for `concat!`.
macro_rules! client_columns {
    () => {
        "client_id, name, redirect_uris, post_logout_redirect_uris, auth_method, secret_hash, jwks, id_token_alg, \
         required_level, backchannel_logout_uri, web_origins, par_required, fapi2, created_at, allowed_claims, \
         delegation_matters"
    };
}

#[derive(Debug, sqlx::FromRow)]
struct ConsentClaimsRow {
    claims: String,
}

/// A consent as listed on "Szolgáltatások".
#[derive(Debug, sqlx::FromRow)]
pub struct ConsentRow {
    pub client_id: String,
    pub name: String,
    /// JSON list of claim names.
    pub claims: String,
    pub granted_at: i64,
    pub last_used_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    private_sealed: Vec<u8>,
    public_jwk: String,
    created_at: i64,
    active_from: i64,
    retired_at: Option<i64>,
}

impl From<KeyRow> for SigningKeyRecord {
    fn from(r: KeyRow) -> Self {
        SigningKeyRecord {
            kid: r.kid,
            alg: SigningAlg::parse(&r.alg).unwrap_or(SigningAlg::ES256),
            private_sealed: r.private_sealed,
            public_jwk: r.public_jwk,
            created_at: r.created_at,
            active_from: r.active_from,
            retired_at: r.retired_at,
        }
    }
}

macro_rules! key_columns {
    () => {
        "kid, alg, private_sealed, public_jwk, created_at, active_from, retired_at"
    };
}

#[derive(Debug, sqlx::FromRow)]
struct CodeRow {
    code_hash: String,
    client_id: String,
    account_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: i64,
    level: String,
    acr: String,
    sid: String,
    claims: String,
    created_at: i64,
    expires_at: i64,
    on_behalf_of: Option<String>,
}

impl From<CodeRow> for AuthCode {
    fn from(r: CodeRow) -> Self {
        let level = Level::parse(&r.level).unwrap_or(Level::Password);
        AuthCode {
            code_hash: r.code_hash,
            client_id: r.client_id,
            account_id: AccountId(r.account_id),
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            auth_time: r.auth_time,
            level,
            // Codes issued before acr was stored name kapu's own level.
            acr: if r.acr.is_empty() { level.acr().to_owned() } else { r.acr },
            sid: r.sid,
            claims: serde_json::from_str(&r.claims).unwrap_or_default(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            on_behalf_of: r.on_behalf_of.map(AccountId),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct AccessTokenRow {
    token_hash: String,
    client_id: String,
    account_id: String,
    scope: String,
    code_hash: String,
    claims: String,
    expires_at: i64,
    on_behalf_of: Option<String>,
}

/// A back-channel logout due: a session that has ended, and a service it
/// logged into.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndedSessionLogin {
    pub sid: String,
    pub client_id: String,
    pub account_id: String,
    pub attempts: i64,
}

#[async_trait]
pub trait OidcRepo: Db {
    /// `StoreError::Conflict` when the client id exists.
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        let redirect_uris = serde_json::to_string(&c.redirect_uris).unwrap_or_default();
        let logout_uris = serde_json::to_string(&c.post_logout_redirect_uris).unwrap_or_default();
        let origins = serde_json::to_string(&c.web_origins).unwrap_or_default();
        let allowed = serde_json::to_string(&c.allowed_claims).unwrap_or_default();
        let matters = serde_json::to_string(&c.delegation_matters).unwrap_or_default();
        self.execute(
            query(
                "INSERT INTO oidc_clients (client_id, name, redirect_uris, post_logout_redirect_uris, confidential, \
                 secret_hash, jwks, id_token_alg, required_level, created_at, auth_method, backchannel_logout_uri, \
                 web_origins, par_required, fapi2, allowed_claims, delegation_matters) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(&c.client_id)
            .bind(&c.name)
            .bind(&redirect_uris)
            .bind(&logout_uris)
            .bind(c.confidential())
            .bind(c.secret_hash.as_deref())
            .bind(c.jwks.as_deref())
            .bind(c.id_token_alg.as_str())
            .bind(c.required_level.as_str())
            .bind(c.created_at)
            .bind(c.auth_method.as_str())
            .bind(c.backchannel_logout_uri.as_deref())
            .bind(&origins)
            .bind(c.par_required)
            .bind(c.fapi2)
            .bind(&allowed)
            .bind(&matters),
        )
        .await
        .map(drop)
    }

    /// Writes every field of `c` but its id and creation time. Whether it existed.
    async fn update_client(&self, c: &Client) -> Result<bool, StoreError> {
        let redirect_uris = serde_json::to_string(&c.redirect_uris).unwrap_or_default();
        let logout_uris = serde_json::to_string(&c.post_logout_redirect_uris).unwrap_or_default();
        let origins = serde_json::to_string(&c.web_origins).unwrap_or_default();
        let allowed = serde_json::to_string(&c.allowed_claims).unwrap_or_default();
        let matters = serde_json::to_string(&c.delegation_matters).unwrap_or_default();
        let rows = self
            .execute(
                query(
                    "UPDATE oidc_clients SET name = $2, redirect_uris = $3, post_logout_redirect_uris = $4, \
                     confidential = $5, secret_hash = $6, jwks = $7, id_token_alg = $8, required_level = $9, \
                     auth_method = $10, backchannel_logout_uri = $11, web_origins = $12, par_required = $13, \
                     fapi2 = $14, allowed_claims = $15, delegation_matters = $16 WHERE client_id = $1",
                )
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&redirect_uris)
                .bind(&logout_uris)
                .bind(c.confidential())
                .bind(c.secret_hash.as_deref())
                .bind(c.jwks.as_deref())
                .bind(c.id_token_alg.as_str())
                .bind(c.required_level.as_str())
                .bind(c.auth_method.as_str())
                .bind(c.backchannel_logout_uri.as_deref())
                .bind(&origins)
                .bind(c.par_required)
                .bind(c.fapi2)
                .bind(&allowed)
                .bind(&matters),
            )
            .await?;
        Ok(rows == 1)
    }

    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = self
            .fetch_optional(
                query(concat!("SELECT ", client_columns!(), " FROM oidc_clients WHERE client_id = $1")).bind(client_id),
            )
            .await?;
        Ok(row.map(Client::from))
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows: Vec<ClientRow> = self
            .fetch_all(query(concat!("SELECT ", client_columns!(), " FROM oidc_clients ORDER BY name, client_id")))
            .await?;
        Ok(rows.into_iter().map(Client::from).collect())
    }

    /// Every origin any service registered (CORS for discovery and the JWKS).
    async fn all_web_origins(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            self.fetch_all(query("SELECT web_origins FROM oidc_clients WHERE web_origins <> '[]'")).await?;
        let mut origins: Vec<String> =
            rows.iter().flat_map(|(json,)| serde_json::from_str::<Vec<String>>(json).unwrap_or_default()).collect();
        origins.sort();
        origins.dedup();
        Ok(origins)
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        Ok(self.execute(query("DELETE FROM oidc_clients WHERE client_id = $1").bind(client_id)).await? == 1)
    }

    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO oidc_signing_keys (kid, alg, private_sealed, public_jwk, created_at, active_from, \
                 retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&k.kid)
            .bind(k.alg.as_str())
            .bind(&k.private_sealed)
            .bind(&k.public_jwk)
            .bind(k.created_at)
            .bind(k.active_from)
            .bind(k.retired_at),
        )
        .await
        .map(drop)
    }

    /// The key of `alg` that signs at `now`: the newest whose time has come
    /// and that has not been retired.
    async fn active_signing_key(&self, alg: SigningAlg, now: UnixTime) -> Result<Option<SigningKeyRecord>, StoreError> {
        let row: Option<KeyRow> = self
            .fetch_optional(
                query(concat!(
                    "SELECT ",
                    key_columns!(),
                    " FROM oidc_signing_keys WHERE alg = $1 AND active_from <= $2 \
                     AND (retired_at IS NULL OR retired_at > $2) ORDER BY active_from DESC, kid LIMIT 1"
                ))
                .bind(alg.as_str())
                .bind(now),
            )
            .await?;
        Ok(row.map(SigningKeyRecord::from))
    }

    /// Keys to publish: those not retired, or retired after `retired_after`
    /// (their tokens may still be checked); a key waiting for its time to
    /// sign is published already.
    async fn published_signing_keys(&self, retired_after: UnixTime) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows: Vec<KeyRow> = self
            .fetch_all(
                query(concat!(
                    "SELECT ",
                    key_columns!(),
                    " FROM oidc_signing_keys WHERE retired_at IS NULL OR retired_at > $1 \
                     ORDER BY active_from DESC, kid"
                ))
                .bind(retired_after),
            )
            .await?;
        Ok(rows.into_iter().map(SigningKeyRecord::from).collect())
    }

    /// Every key of `alg` not yet retired stops signing at `at` (a rotation:
    /// the new key, inserted in the same transaction, signs from then).
    async fn retire_signing_keys(&self, alg: SigningAlg, at: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE oidc_signing_keys SET retired_at = $2 WHERE alg = $1 AND retired_at IS NULL")
                .bind(alg.as_str())
                .bind(at),
        )
        .await
        .map(drop)
    }

    async fn insert_auth_request(
        &self,
        id_hash: &str,
        request: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        self.execute(
            query("INSERT INTO oidc_auth_requests (id_hash, request, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(id_hash)
                .bind(request)
                .bind(now)
                .bind(expires_at),
        )
        .await
        .map(drop)
    }

    async fn auth_request(&self, id_hash: &str, now: UnixTime) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = self
            .fetch_optional(
                query("SELECT request FROM oidc_auth_requests WHERE id_hash = $1 AND expires_at > $2")
                    .bind(id_hash)
                    .bind(now),
            )
            .await?;
        Ok(row.map(|r| r.0))
    }

    async fn delete_auth_request(&self, id_hash: &str) -> Result<(), StoreError> {
        self.execute(query("DELETE FROM oidc_auth_requests WHERE id_hash = $1").bind(id_hash)).await.map(drop)
    }

    async fn insert_par_request(
        &self,
        id_hash: &str,
        client_id: &str,
        request: &str,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        self.execute(
            query("INSERT INTO oidc_par_requests (id_hash, client_id, request, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(id_hash)
                .bind(client_id)
                .bind(request)
                .bind(expires_at),
        )
        .await
        .map(drop)
    }

    /// A pushed request, used up by this read (RFC 9126 §4: once).
    async fn take_par_request(
        &self,
        id_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = self
            .fetch_optional(
                query(
                    "DELETE FROM oidc_par_requests WHERE id_hash = $1 AND client_id = $2 AND expires_at > $3 \
                     RETURNING request",
                )
                .bind(id_hash)
                .bind(client_id)
                .bind(now),
            )
            .await?;
        Ok(row.map(|r| r.0))
    }

    async fn delete_expired_par_requests(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM oidc_par_requests WHERE expires_at <= $1").bind(now)).await
    }

    /// Records a client assertion's `jti` until it expires: true if it is
    /// new, false if the same client used it before (a replay).
    async fn remember_assertion(&self, client_id: &str, jti: &str, expires_at: UnixTime) -> Result<bool, StoreError> {
        let rows = self
            .execute(
                query(
                    "INSERT INTO oidc_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (client_id, jti) DO NOTHING",
                )
                .bind(client_id)
                .bind(jti)
                .bind(expires_at),
            )
            .await?;
        Ok(rows == 1)
    }

    async fn delete_expired_assertions(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM oidc_assertion_jtis WHERE expires_at <= $1").bind(now)).await
    }

    async fn insert_code(&self, c: &AuthCode) -> Result<(), StoreError> {
        let claims = serde_json::to_string(&c.claims).unwrap_or_else(|_| "{}".into());
        self.execute(
            query(
                "INSERT INTO oidc_codes (code_hash, client_id, account_id, redirect_uri, scope, nonce, code_challenge, \
                 auth_time, level, created_at, expires_at, acr, sid, claims, on_behalf_of) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(&c.code_hash)
            .bind(&c.client_id)
            .bind(&c.account_id.0)
            .bind(&c.redirect_uri)
            .bind(&c.scope)
            .bind(c.nonce.as_deref())
            .bind(c.code_challenge.as_deref())
            .bind(c.auth_time)
            .bind(c.level.as_str())
            .bind(c.created_at)
            .bind(c.expires_at)
            .bind(&c.acr)
            .bind(&c.sid)
            .bind(&claims)
            .bind(c.on_behalf_of.as_ref().map(|a| a.0.as_str())),
        )
        .await
        .map(drop)
    }

    /// Marks the code used, once: the code, or `None` if it was used before
    /// or never issued (see [`OidcRepo::code_was_issued`]).
    async fn redeem_code(&self, code_hash: &str, now: UnixTime) -> Result<Option<AuthCode>, StoreError> {
        let row: Option<CodeRow> = self
            .fetch_optional(
                query(
                    "UPDATE oidc_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL \
                     RETURNING code_hash, client_id, account_id, redirect_uri, scope, nonce, code_challenge, \
                     auth_time, level, acr, sid, claims, created_at, expires_at, on_behalf_of",
                )
                .bind(code_hash)
                .bind(now),
            )
            .await?;
        Ok(row.map(AuthCode::from))
    }

    async fn code_was_issued(&self, code_hash: &str) -> Result<bool, StoreError> {
        let row: Option<(String,)> =
            self.fetch_optional(query("SELECT code_hash FROM oidc_codes WHERE code_hash = $1").bind(code_hash)).await?;
        Ok(row.is_some())
    }

    /// A code presented twice: every token issued from it stops working.
    async fn revoke_tokens_of_code(&self, code_hash: &str) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM oidc_access_tokens WHERE code_hash = $1").bind(code_hash)).await
    }

    /// Login requests of services that waited too long (the sweeper).
    async fn delete_expired_auth_requests(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM oidc_auth_requests WHERE expires_at <= $1").bind(now)).await
    }

    /// Codes that expired before `before` (the sweeper keeps them while
    /// their tokens may live, for reuse detection).
    async fn delete_expired_codes(&self, before: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM oidc_codes WHERE expires_at <= $1").bind(before)).await
    }

    async fn delete_expired_access_tokens(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.execute(query("DELETE FROM oidc_access_tokens WHERE expires_at <= $1").bind(now)).await
    }

    async fn insert_access_token(&self, t: &AccessToken) -> Result<(), StoreError> {
        let claims = serde_json::to_string(&t.userinfo_claims).unwrap_or_else(|_| "[]".into());
        self.execute(
            query(
                "INSERT INTO oidc_access_tokens (token_hash, client_id, account_id, scope, code_hash, expires_at, \
                 claims, on_behalf_of) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&t.token_hash)
            .bind(&t.client_id)
            .bind(&t.account_id.0)
            .bind(&t.scope)
            .bind(&t.code_hash)
            .bind(t.expires_at)
            .bind(&claims)
            .bind(t.on_behalf_of.as_ref().map(|a| a.0.as_str())),
        )
        .await
        .map(drop)
    }

    async fn access_token(&self, token_hash: &str, now: UnixTime) -> Result<Option<AccessToken>, StoreError> {
        let row: Option<AccessTokenRow> = self
            .fetch_optional(
                query(
                    "SELECT token_hash, client_id, account_id, scope, code_hash, claims, expires_at, on_behalf_of \
                     FROM oidc_access_tokens WHERE token_hash = $1 AND expires_at > $2",
                )
                .bind(token_hash)
                .bind(now),
            )
            .await?;
        Ok(row.map(|r| AccessToken {
            token_hash: r.token_hash,
            client_id: r.client_id,
            account_id: AccountId(r.account_id),
            scope: r.scope,
            code_hash: r.code_hash,
            userinfo_claims: serde_json::from_str(&r.claims).unwrap_or_default(),
            expires_at: r.expires_at,
            on_behalf_of: r.on_behalf_of.map(AccountId),
        }))
    }

    /// The session `sid` logged into the service (that wants back-channel
    /// logouts); once the session is gone, the service is told.
    async fn note_session_login(
        &self,
        sid: &str,
        client_id: &str,
        account_id: &AccountId,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO oidc_session_clients (sid, client_id, account_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (sid, client_id) DO NOTHING",
            )
            .bind(sid)
            .bind(client_id)
            .bind(&account_id.0)
            .bind(now),
        )
        .await
        .map(drop)
    }

    /// Claims up to `batch` logouts due (their session has ended, their
    /// time has come, nobody holds them) until `claim_until`; of two workers
    /// racing for one, one gets it.
    async fn claim_due_logouts(
        &self,
        now: UnixTime,
        claim_until: UnixTime,
        batch: i64,
    ) -> Result<Vec<EndedSessionLogin>, StoreError> {
        self.fetch_all(
            query(
                "UPDATE oidc_session_clients SET claimed_until = $2, attempts = attempts + 1 \
                 WHERE (sid, client_id) IN ( \
                     SELECT sc.sid, sc.client_id FROM oidc_session_clients sc \
                     WHERE sc.next_attempt_at <= $1 AND sc.claimed_until <= $1 \
                       AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.sid = sc.sid) \
                     ORDER BY sc.next_attempt_at LIMIT $3) \
                   AND next_attempt_at <= $1 AND claimed_until <= $1 \
                 RETURNING sid, client_id, account_id, attempts",
            )
            .bind(now)
            .bind(claim_until)
            .bind(batch),
        )
        .await
    }

    /// The service was told (or will never be): the row goes.
    async fn logout_done(&self, sid: &str, client_id: &str) -> Result<(), StoreError> {
        self.execute(
            query("DELETE FROM oidc_session_clients WHERE sid = $1 AND client_id = $2").bind(sid).bind(client_id),
        )
        .await
        .map(drop)
    }

    async fn logout_failed(
        &self,
        sid: &str,
        client_id: &str,
        retry_at: UnixTime,
        error: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            query(
                "UPDATE oidc_session_clients SET next_attempt_at = $3, claimed_until = 0, last_error = $4 \
                 WHERE sid = $1 AND client_id = $2",
            )
            .bind(sid)
            .bind(client_id)
            .bind(retry_at)
            .bind(error),
        )
        .await
        .map(drop)
    }

    /// Logouts waiting (sessions ended, services not yet told).
    async fn logouts_waiting(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = self
            .fetch_one(query(
                "SELECT COUNT(*) FROM oidc_session_clients sc \
                 WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.sid = sc.sid)",
            ))
            .await?;
        Ok(n)
    }

    /// The identity claims the citizen agreed `client_id` may receive.
    async fn consent(&self, account_id: &AccountId, client_id: &str) -> Result<Option<Vec<String>>, StoreError> {
        let row: Option<ConsentClaimsRow> = self
            .fetch_optional(
                query("SELECT claims FROM oidc_consents WHERE account_id = $1 AND client_id = $2")
                    .bind(&account_id.0)
                    .bind(client_id),
            )
            .await?;
        Ok(row.map(|r| serde_json::from_str(&r.claims).unwrap_or_default()))
    }

    /// The citizen agreed: these claims, from now (replaces an earlier yes).
    async fn upsert_consent(
        &self,
        account_id: &AccountId,
        client_id: &str,
        claims: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let claims = serde_json::to_string(claims).unwrap_or_default();
        self.execute(
            query(
                "INSERT INTO oidc_consents (account_id, client_id, claims, granted_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (account_id, client_id) \
                 DO UPDATE SET claims = excluded.claims, granted_at = excluded.granted_at",
            )
            .bind(&account_id.0)
            .bind(client_id)
            .bind(&claims)
            .bind(now),
        )
        .await
        .map(drop)
    }

    /// The service received the data again.
    async fn touch_consent(&self, account_id: &AccountId, client_id: &str, now: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE oidc_consents SET last_used_at = $3 WHERE account_id = $1 AND client_id = $2")
                .bind(&account_id.0)
                .bind(client_id)
                .bind(now),
        )
        .await
        .map(drop)
    }

    /// Every service the citizen agreed to, with its name, newest first.
    async fn consents_of(&self, account_id: &AccountId) -> Result<Vec<ConsentRow>, StoreError> {
        self.fetch_all(
            query(
                "SELECT c.client_id, k.name, c.claims, c.granted_at, c.last_used_at FROM oidc_consents c \
                 JOIN oidc_clients k ON k.client_id = c.client_id WHERE c.account_id = $1 \
                 ORDER BY c.granted_at DESC, k.name",
            )
            .bind(&account_id.0),
        )
        .await
    }

    /// Withdrawn. Whether there was one.
    async fn delete_consent(&self, account_id: &AccountId, client_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .execute(
                query("DELETE FROM oidc_consents WHERE account_id = $1 AND client_id = $2")
                    .bind(&account_id.0)
                    .bind(client_id),
            )
            .await?
            == 1)
    }
}

impl<T: Db> OidcRepo for T {}
