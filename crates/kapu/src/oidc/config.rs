//! The `[oidc]` configuration section.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// Authorization codes live this long (single use).
    pub code_ttl_seconds: i64,
    pub access_token_ttl_seconds: i64,
    pub id_token_ttl_seconds: i64,
    /// How long a service's login request waits for the user.
    pub auth_request_ttl_seconds: i64,
    /// A pushed authorization request (RFC 9126) is usable this long.
    pub par_ttl_seconds: i64,
    /// A rotated key is published this long before it signs, so services
    /// that cache the JWKS know it before they meet it.
    pub key_prepublish_seconds: i64,
    /// The longest-lived `private_key_jwt` assertion accepted (its `jti` is
    /// remembered until it expires, so none is used twice).
    pub max_assertion_seconds: i64,
    /// A back-channel logout that fails is retried after this long, then
    /// twice as long each time...
    pub logout_retry_after_seconds: i64,
    /// ...until this many attempts; then it is given up, loudly.
    pub logout_attempts: i64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            code_ttl_seconds: 60,
            access_token_ttl_seconds: 600,
            id_token_ttl_seconds: 600,
            auth_request_ttl_seconds: 1800,
            par_ttl_seconds: 60,
            key_prepublish_seconds: 3600,
            max_assertion_seconds: 3600,
            logout_retry_after_seconds: 10,
            logout_attempts: 10,
        }
    }
}

impl OidcConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(10..=600).contains(&self.code_ttl_seconds) {
            return Err("oidc.code_ttl_seconds must be 10 to 600 (codes are short-lived)".into());
        }
        if self.access_token_ttl_seconds < 60 || self.id_token_ttl_seconds < 60 || self.auth_request_ttl_seconds < 60 {
            return Err("oidc.*_ttl_seconds must be at least 60".into());
        }
        if !(10..=600).contains(&self.par_ttl_seconds) {
            return Err("oidc.par_ttl_seconds must be 10 to 600".into());
        }
        if !(0..=30 * 24 * 3600).contains(&self.key_prepublish_seconds) {
            return Err("oidc.key_prepublish_seconds must be 0 to 2592000 (30 days)".into());
        }
        if !(60..=24 * 3600).contains(&self.max_assertion_seconds) {
            return Err("oidc.max_assertion_seconds must be 60 to 86400".into());
        }
        if !(1..=3600).contains(&self.logout_retry_after_seconds) || !(1..=100).contains(&self.logout_attempts) {
            return Err("oidc.logout_retry_after_seconds must be 1 to 3600 and oidc.logout_attempts 1 to 100".into());
        }
        Ok(())
    }
}
