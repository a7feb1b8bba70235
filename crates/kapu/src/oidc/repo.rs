//! The provider's tables: `oidc_clients`, `oidc_signing_keys`,
//! `oidc_auth_requests`, `oidc_codes`, `oidc_access_tokens`. Only this module
//! writes them; each method is one statement.
//!
//! A code is redeemed by one conditional UPDATE, in the same transaction as
//! the token it yields, so of two exchanges of the same code exactly one gets
//! tokens and the other finds the code used — and revokes those tokens,
//! which are committed by then (it waited on the row).

use async_trait::async_trait;

use super::model::{AccessToken, AuthCode, Client, Level, SigningAlg, SigningKeyRecord};
use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::store::{Db, StoreError, query};

#[derive(Debug, sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    confidential: bool,
    secret_hash: Option<String>,
    jwks: Option<String>,
    id_token_alg: String,
    required_level: String,
    created_at: i64,
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Self {
        Client {
            client_id: r.client_id,
            name: r.name,
            redirect_uris: serde_json::from_str(&r.redirect_uris).unwrap_or_default(),
            post_logout_redirect_uris: serde_json::from_str(&r.post_logout_redirect_uris).unwrap_or_default(),
            confidential: r.confidential,
            secret_hash: r.secret_hash,
            jwks: r.jwks,
            id_token_alg: SigningAlg::parse(&r.id_token_alg).unwrap_or(SigningAlg::ES256),
            required_level: Level::parse(&r.required_level).unwrap_or(Level::TwoStep),
            created_at: r.created_at,
        }
    }
}

/// The columns of [`ClientRow`], as a literal for `concat!`.
macro_rules! client_columns {
    () => {
        "client_id, name, redirect_uris, post_logout_redirect_uris, confidential, secret_hash, jwks, id_token_alg, \
         required_level, created_at"
    };
}

#[derive(Debug, sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    private_sealed: Vec<u8>,
    public_jwk: String,
    created_at: i64,
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
            retired_at: r.retired_at,
        }
    }
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
    created_at: i64,
    expires_at: i64,
}

impl From<CodeRow> for AuthCode {
    fn from(r: CodeRow) -> Self {
        AuthCode {
            code_hash: r.code_hash,
            client_id: r.client_id,
            account_id: AccountId(r.account_id),
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            auth_time: r.auth_time,
            level: Level::parse(&r.level).unwrap_or(Level::Password),
            created_at: r.created_at,
            expires_at: r.expires_at,
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
    expires_at: i64,
}

#[async_trait]
pub trait OidcRepo: Db {
    /// `StoreError::Conflict` when the client id exists.
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        let redirect_uris = serde_json::to_string(&c.redirect_uris).unwrap_or_default();
        let logout_uris = serde_json::to_string(&c.post_logout_redirect_uris).unwrap_or_default();
        self.execute(
            query(
                "INSERT INTO oidc_clients (client_id, name, redirect_uris, post_logout_redirect_uris, confidential, \
                 secret_hash, jwks, id_token_alg, required_level, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&c.client_id)
            .bind(&c.name)
            .bind(&redirect_uris)
            .bind(&logout_uris)
            .bind(c.confidential)
            .bind(c.secret_hash.as_deref())
            .bind(c.jwks.as_deref())
            .bind(c.id_token_alg.as_str())
            .bind(c.required_level.as_str())
            .bind(c.created_at),
        )
        .await
        .map(drop)
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

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        Ok(self.execute(query("DELETE FROM oidc_clients WHERE client_id = $1").bind(client_id)).await? == 1)
    }

    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO oidc_signing_keys (kid, alg, private_sealed, public_jwk, created_at, retired_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&k.kid)
            .bind(k.alg.as_str())
            .bind(&k.private_sealed)
            .bind(&k.public_jwk)
            .bind(k.created_at)
            .bind(k.retired_at),
        )
        .await
        .map(drop)
    }

    /// The newest key of `alg` that still signs.
    async fn active_signing_key(&self, alg: SigningAlg) -> Result<Option<SigningKeyRecord>, StoreError> {
        let row: Option<KeyRow> = self
            .fetch_optional(
                query(
                    "SELECT kid, alg, private_sealed, public_jwk, created_at, retired_at FROM oidc_signing_keys \
                     WHERE alg = $1 AND retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1",
                )
                .bind(alg.as_str()),
            )
            .await?;
        Ok(row.map(SigningKeyRecord::from))
    }

    /// Keys to publish: active ones, and retired ones retired after `retired_after`.
    async fn published_signing_keys(&self, retired_after: UnixTime) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows: Vec<KeyRow> = self
            .fetch_all(
                query(
                    "SELECT kid, alg, private_sealed, public_jwk, created_at, retired_at FROM oidc_signing_keys \
                     WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid",
                )
                .bind(retired_after),
            )
            .await?;
        Ok(rows.into_iter().map(SigningKeyRecord::from).collect())
    }

    /// Every active key of `alg` stops signing (a rotation, with the new key
    /// inserted in the same transaction).
    async fn retire_signing_keys(&self, alg: SigningAlg, now: UnixTime) -> Result<(), StoreError> {
        self.execute(
            query("UPDATE oidc_signing_keys SET retired_at = $2 WHERE alg = $1 AND retired_at IS NULL")
                .bind(alg.as_str())
                .bind(now),
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

    async fn insert_code(&self, c: &AuthCode) -> Result<(), StoreError> {
        self.execute(
            query(
                "INSERT INTO oidc_codes (code_hash, client_id, account_id, redirect_uri, scope, nonce, code_challenge, \
                 auth_time, level, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
            .bind(c.expires_at),
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
                     auth_time, level, created_at, expires_at",
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
        self.execute(
            query(
                "INSERT INTO oidc_access_tokens (token_hash, client_id, account_id, scope, code_hash, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&t.token_hash)
            .bind(&t.client_id)
            .bind(&t.account_id.0)
            .bind(&t.scope)
            .bind(&t.code_hash)
            .bind(t.expires_at),
        )
        .await
        .map(drop)
    }

    async fn access_token(&self, token_hash: &str, now: UnixTime) -> Result<Option<AccessToken>, StoreError> {
        let row: Option<AccessTokenRow> = self
            .fetch_optional(
                query(
                    "SELECT token_hash, client_id, account_id, scope, code_hash, expires_at FROM oidc_access_tokens \
                     WHERE token_hash = $1 AND expires_at > $2",
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
            expires_at: r.expires_at,
        }))
    }
}

impl<T: Db> OidcRepo for T {}
