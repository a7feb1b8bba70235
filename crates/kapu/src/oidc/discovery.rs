//! What services read before they talk to kapu: the issuer, discovery
//! (OpenID Connect Discovery 1.0), the signing keys and their JWKS, with
//! rotation and pre-publication.

use std::sync::{Mutex, PoisonError};

use data_encoding::BASE64URL_NOPAD;

use crate::Kapu;
use crate::accounts::model::AccountId;
use crate::clock::UnixTime;
use crate::oidc::keys;
use crate::oidc::model::{Acr, AuthMethod, SigningAlg, SigningKeyRecord};
use crate::oidc::repo::OidcRepo;
use crate::oidc::service::OidcError;

/// How long an instance signs with the key record it read (the token
/// endpoint would otherwise read it for every token). Another instance's
/// rotation reaches this one within this time; the key it still uses stays
/// published meanwhile.
const KEY_CACHE_SECONDS: i64 = 10;

/// The active signing key of each algorithm, as last read.
#[derive(Default)]
pub struct KeyCache(Mutex<Vec<(SigningKeyRecord, UnixTime)>>);

impl KeyCache {
    fn get(&self, alg: SigningAlg, now: UnixTime) -> Option<SigningKeyRecord> {
        let keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        keys.iter()
            .find(|(k, read_at)| k.alg == alg && now - read_at < KEY_CACHE_SECONDS && now >= *read_at)
            .map(|(k, _)| k.clone())
    }

    fn put(&self, key: &SigningKeyRecord, now: UnixTime) {
        let mut keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|(k, _)| k.alg != key.alg);
        keys.push((key.clone(), now));
    }

    fn clear(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// The scopes kapu grants; others asked for are left out of the grant.
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "identity"];

/// The claims kapu can release, and the scope that releases each.
pub const CLAIMS: [(&str, &str); 10] = [
    ("name", "profile"),
    ("email", "email"),
    ("email_verified", "email"),
    ("family_name", "profile"),
    ("given_name", "profile"),
    ("birthdate", "profile"),
    ("birth_family_name", "identity"),
    ("birth_given_name", "identity"),
    ("mother_birth_name", "identity"),
    ("place_of_birth", "identity"),
];

/// The claims of a verified identity: released only of a verified account,
/// to a service allowed them at registration, with the citizen's consent.
/// The `identity` scope asks for the four that are kapu's own; the standard
/// three come with `profile` (OpenID Connect Core §5.4).
pub const IDENTITY_CLAIMS: [&str; 7] = [
    "family_name",
    "given_name",
    "birthdate",
    "birth_family_name",
    "birth_given_name",
    "mother_birth_name",
    "place_of_birth",
];

impl Kapu {
    pub fn issuer(&self) -> String {
        self.config.public_url()
    }

    /// The subject a service sees: the same citizen gets a different,
    /// stable `sub` at each service, so services cannot link them.
    pub fn pairwise_sub(&self, client_id: &str, account_id: &AccountId) -> String {
        BASE64URL_NOPAD.encode(&self.pairwise_key.mac(format!("{client_id}\n{}", account_id.0).as_bytes()))
    }

    /// The session id a service sees (`sid` in ID and logout tokens): one per
    /// session and service, like `sub`, so that two services cannot join
    /// their users by comparing session ids.
    pub fn pairwise_sid(&self, client_id: &str, sid: &str) -> String {
        BASE64URL_NOPAD.encode(&self.pairwise_key.mac(format!("sid\n{client_id}\n{sid}").as_bytes())[..24])
    }

    /// The key that signs for `alg` now, made on first use.
    pub async fn signing_key(&self, alg: SigningAlg) -> Result<SigningKeyRecord, OidcError> {
        let now = self.now();
        if let Some(key) = self.signing_keys.get(alg, now) {
            return Ok(key);
        }
        let key = match self.store.active_signing_key(alg, now).await? {
            Some(key) => key,
            None => {
                let key = keys::generate(alg, &self.secret_box, now, now)?;
                self.store.insert_signing_key(&key).await?;
                // Two instances may have made one each at once: all agree on the newest.
                self.store.active_signing_key(alg, now).await?.unwrap_or(key)
            }
        };
        self.signing_keys.put(&key, now);
        Ok(key)
    }

    /// `kapu admin keys rotate`: a new key per algorithm in use, published
    /// at once and signing after `oidc.key_prepublish_seconds`, when the
    /// old one retires; the old one stays published until every ID token it
    /// signed has expired. Returns the new key ids and when they sign.
    pub async fn rotate_signing_keys(&self) -> Result<Vec<(String, UnixTime)>, OidcError> {
        let now = self.now();
        let active_from = now + self.config.oidc.key_prepublish_seconds;
        let mut rotated = Vec::new();
        for alg in [SigningAlg::ES256, SigningAlg::RS256] {
            let in_use = alg == SigningAlg::ES256 || self.store.active_signing_key(alg, now).await?.is_some();
            if in_use {
                let key = keys::generate(alg, &self.secret_box, now, active_from)?;
                let tx = self.store.begin().await?;
                tx.retire_signing_keys(alg, active_from).await?;
                tx.insert_signing_key(&key).await?;
                tx.commit().await?;
                rotated.push((key.kid, active_from));
            }
        }
        self.signing_keys.clear();
        Ok(rotated)
    }

    pub async fn jwks(&self) -> Result<serde_json::Value, OidcError> {
        self.signing_key(SigningAlg::ES256).await?;
        let retired_after = self.now() - self.config.oidc.id_token_ttl_seconds;
        Ok(keys::jwks(&self.store.published_signing_keys(retired_after).await?))
    }

    pub fn discovery(&self) -> serde_json::Value {
        let iss = self.issuer();
        let claims: Vec<&str> = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid"]
            .into_iter()
            .chain(CLAIMS.iter().map(|(c, _)| *c))
            // An agent's login on a principal's behalf (docs/oidc.md §7b).
            .chain(["act", "delegated_matters"])
            .collect();
        serde_json::json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/authorize"),
            "pushed_authorization_request_endpoint": format!("{iss}/par"),
            "require_pushed_authorization_requests": false,
            "token_endpoint": format!("{iss}/token"),
            "userinfo_endpoint": format!("{iss}/userinfo"),
            "jwks_uri": format!("{iss}/jwks"),
            "end_session_endpoint": format!("{iss}/logout/oidc"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256", "RS256"],
            "token_endpoint_auth_methods_supported": AuthMethod::ALL.map(AuthMethod::as_str),
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "PS256", "RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": SCOPES,
            "claims_supported": claims,
            "claim_types_supported": ["normal"],
            "claims_parameter_supported": true,
            "acr_values_supported": Acr::ALL,
            "prompt_values_supported": ["none", "login"],
            "ui_locales_supported": ["hu", "en"],
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "frontchannel_logout_supported": false,
        })
    }
}
