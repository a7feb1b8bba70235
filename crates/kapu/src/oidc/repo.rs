//! What the OpenID Connect provider needs from storage (both engines).
//!
//! A code is redeemed by one conditional UPDATE, so of two exchanges of the
//! same code exactly one gets tokens; the other learns the code was reused
//! and the tokens issued from it are revoked.

use async_trait::async_trait;

use super::model::{AccessToken, AuthCode, Client, SigningAlg, SigningKeyRecord};
use crate::clock::UnixTime;
use crate::store::StoreError;

/// What redeeming a code found.
#[derive(Debug)]
pub enum Redeemed {
    Fresh(AuthCode),
    /// Exchanged before: its tokens have just been revoked.
    Reused,
    Unknown,
}

#[async_trait]
pub trait OidcRepo {
    /// `StoreError::Conflict` when the client id exists.
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// The newest key of `alg` that still signs.
    async fn active_signing_key(&self, alg: SigningAlg) -> Result<Option<SigningKeyRecord>, StoreError>;
    /// Keys to publish: active ones, and retired ones retired after `retired_after`.
    async fn published_signing_keys(&self, retired_after: UnixTime) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// Adds `new` and retires the other active keys of its algorithm, together.
    async fn rotate_signing_key(&self, new: &SigningKeyRecord, now: UnixTime) -> Result<(), StoreError>;
    async fn insert_auth_request(
        &self,
        id_hash: &str,
        request: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), StoreError>;
    async fn auth_request(&self, id_hash: &str, now: UnixTime) -> Result<Option<String>, StoreError>;
    async fn delete_auth_request(&self, id_hash: &str) -> Result<(), StoreError>;
    async fn insert_code(&self, code: &AuthCode) -> Result<(), StoreError>;
    async fn redeem_code(&self, code_hash: &str, now: UnixTime) -> Result<Redeemed, StoreError>;
    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError>;
    async fn access_token(&self, token_hash: &str, now: UnixTime) -> Result<Option<AccessToken>, StoreError>;
}

pub(crate) type ClientRow = (String, String, String, String, bool, Option<String>, Option<String>, String, String, i64);
pub(crate) const CLIENT_COLUMNS: &str = "client_id, name, redirect_uris, post_logout_redirect_uris, confidential, \
     secret_hash, jwks, id_token_alg, required_level, created_at";

pub(crate) fn client_from_row(r: ClientRow) -> Client {
    use super::model::Level;
    Client {
        client_id: r.0,
        name: r.1,
        redirect_uris: serde_json::from_str(&r.2).unwrap_or_default(),
        post_logout_redirect_uris: serde_json::from_str(&r.3).unwrap_or_default(),
        confidential: r.4,
        secret_hash: r.5,
        jwks: r.6,
        id_token_alg: SigningAlg::parse(&r.7).unwrap_or(SigningAlg::ES256),
        required_level: Level::parse(&r.8).unwrap_or(Level::TwoStep),
        created_at: r.9,
    }
}

pub(crate) type KeyRow = (String, String, Vec<u8>, String, i64, Option<i64>);

pub(crate) fn key_from_row(r: KeyRow) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: r.0,
        alg: SigningAlg::parse(&r.1).unwrap_or(SigningAlg::ES256),
        private_sealed: r.2,
        public_jwk: r.3,
        created_at: r.4,
        retired_at: r.5,
    }
}

pub(crate) type CodeRow =
    (String, String, String, String, String, Option<String>, Option<String>, i64, String, i64, i64);

pub(crate) fn code_from_row(r: CodeRow) -> AuthCode {
    use super::model::Level;
    AuthCode {
        code_hash: r.0,
        client_id: r.1,
        account_id: crate::accounts::model::AccountId(r.2),
        redirect_uri: r.3,
        scope: r.4,
        nonce: r.5,
        code_challenge: r.6,
        auth_time: r.7,
        level: Level::parse(&r.8).unwrap_or(Level::Password),
        created_at: r.9,
        expires_at: r.10,
    }
}

macro_rules! impl_oidc_repo {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::oidc::model::{AccessToken, AuthCode, Client, SigningAlg, SigningKeyRecord};
            use $crate::oidc::repo::{
                CLIENT_COLUMNS, ClientRow, CodeRow, KeyRow, Redeemed, client_from_row, code_from_row, key_from_row,
            };
            use $crate::store::StoreError;

            const KEY_COLUMNS: &str = "kid, alg, private_sealed, public_jwk, created_at, retired_at";
            const CODE_COLUMNS: &str = "code_hash, client_id, account_id, redirect_uri, scope, nonce, code_challenge, \
                 auth_time, level, created_at, expires_at";

            #[async_trait::async_trait]
            impl $crate::oidc::repo::OidcRepo for $store {
                async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO oidc_clients (client_id, name, redirect_uris, post_logout_redirect_uris, confidential, \
                         secret_hash, jwks, id_token_alg, required_level, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(&c.client_id)
                    .bind(&c.name)
                    .bind(serde_json::to_string(&c.redirect_uris).unwrap_or_default())
                    .bind(serde_json::to_string(&c.post_logout_redirect_uris).unwrap_or_default())
                    .bind(c.confidential)
                    .bind(c.secret_hash.as_deref())
                    .bind(c.jwks.as_deref())
                    .bind(c.id_token_alg.as_str())
                    .bind(c.required_level.as_str())
                    .bind(c.created_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
                    let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1");
                    let row: Option<ClientRow> = sqlx::query_as(&sql).bind(client_id).fetch_optional(&self.pool).await?;
                    Ok(row.map(client_from_row))
                }

                async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
                    let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY name, client_id");
                    let rows: Vec<ClientRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
                    Ok(rows.into_iter().map(client_from_row).collect())
                }

                async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
                    let done =
                        sqlx::query("DELETE FROM oidc_clients WHERE client_id = $1").bind(client_id).execute(&self.pool).await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO oidc_signing_keys (kid, alg, private_sealed, public_jwk, created_at, retired_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&k.kid)
                    .bind(k.alg.as_str())
                    .bind(&k.private_sealed)
                    .bind(&k.public_jwk)
                    .bind(k.created_at)
                    .bind(k.retired_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn active_signing_key(&self, alg: SigningAlg) -> Result<Option<SigningKeyRecord>, StoreError> {
                    let sql = format!(
                        "SELECT {KEY_COLUMNS} FROM oidc_signing_keys WHERE alg = $1 AND retired_at IS NULL \
                         ORDER BY created_at DESC, kid LIMIT 1"
                    );
                    let row: Option<KeyRow> = sqlx::query_as(&sql).bind(alg.as_str()).fetch_optional(&self.pool).await?;
                    Ok(row.map(key_from_row))
                }

                async fn published_signing_keys(&self, retired_after: i64) -> Result<Vec<SigningKeyRecord>, StoreError> {
                    let sql = format!(
                        "SELECT {KEY_COLUMNS} FROM oidc_signing_keys WHERE retired_at IS NULL OR retired_at > $1 \
                         ORDER BY created_at DESC, kid"
                    );
                    let rows: Vec<KeyRow> = sqlx::query_as(&sql).bind(retired_after).fetch_all(&self.pool).await?;
                    Ok(rows.into_iter().map(key_from_row).collect())
                }

                async fn rotate_signing_key(&self, new: &SigningKeyRecord, now: i64) -> Result<(), StoreError> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("UPDATE oidc_signing_keys SET retired_at = $2 WHERE alg = $1 AND retired_at IS NULL")
                        .bind(new.alg.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO oidc_signing_keys (kid, alg, private_sealed, public_jwk, created_at, retired_at) \
                         VALUES ($1, $2, $3, $4, $5, NULL)",
                    )
                    .bind(&new.kid)
                    .bind(new.alg.as_str())
                    .bind(&new.private_sealed)
                    .bind(&new.public_jwk)
                    .bind(new.created_at)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn insert_auth_request(&self, id_hash: &str, request: &str, now: i64, expires_at: i64) -> Result<(), StoreError> {
                    sqlx::query("INSERT INTO oidc_auth_requests (id_hash, request, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                        .bind(id_hash)
                        .bind(request)
                        .bind(now)
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn auth_request(&self, id_hash: &str, now: i64) -> Result<Option<String>, StoreError> {
                    let row: Option<(String,)> =
                        sqlx::query_as("SELECT request FROM oidc_auth_requests WHERE id_hash = $1 AND expires_at > $2")
                            .bind(id_hash)
                            .bind(now)
                            .fetch_optional(&self.pool)
                            .await?;
                    Ok(row.map(|r| r.0))
                }

                async fn delete_auth_request(&self, id_hash: &str) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM oidc_auth_requests WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
                    Ok(())
                }

                async fn insert_code(&self, c: &AuthCode) -> Result<(), StoreError> {
                    sqlx::query(
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
                    .bind(c.expires_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn redeem_code(&self, code_hash: &str, now: i64) -> Result<Redeemed, StoreError> {
                    let sql = format!(
                        "UPDATE oidc_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL RETURNING {CODE_COLUMNS}"
                    );
                    let row: Option<CodeRow> = sqlx::query_as(&sql).bind(code_hash).bind(now).fetch_optional(&self.pool).await?;
                    if let Some(row) = row {
                        return Ok(Redeemed::Fresh(code_from_row(row)));
                    }
                    let known: Option<(String,)> = sqlx::query_as("SELECT code_hash FROM oidc_codes WHERE code_hash = $1")
                        .bind(code_hash)
                        .fetch_optional(&self.pool)
                        .await?;
                    if known.is_none() {
                        return Ok(Redeemed::Unknown);
                    }
                    sqlx::query("DELETE FROM oidc_access_tokens WHERE code_hash = $1").bind(code_hash).execute(&self.pool).await?;
                    Ok(Redeemed::Reused)
                }

                async fn insert_access_token(&self, t: &AccessToken) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO oidc_access_tokens (token_hash, client_id, account_id, scope, code_hash, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&t.token_hash)
                    .bind(&t.client_id)
                    .bind(&t.account_id.0)
                    .bind(&t.scope)
                    .bind(&t.code_hash)
                    .bind(t.expires_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn access_token(&self, token_hash: &str, now: i64) -> Result<Option<AccessToken>, StoreError> {
                    let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
                        "SELECT client_id, account_id, scope, code_hash, expires_at FROM oidc_access_tokens \
                         WHERE token_hash = $1 AND expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(|(client_id, account_id, scope, code_hash, expires_at)| AccessToken {
                        token_hash: token_hash.to_owned(),
                        client_id,
                        account_id: $crate::accounts::model::AccountId(account_id),
                        scope,
                        code_hash,
                        expires_at,
                    }))
                }
            }
        };
    };
}
pub(crate) use impl_oidc_repo;
