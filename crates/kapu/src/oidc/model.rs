//! OpenID Connect domain types: registered services (clients), signing keys,
//! authorization requests, codes and access tokens, and the login levels.

use serde::{Deserialize, Serialize};

use crate::accounts::model::AccountId;
use crate::clock::UnixTime;

/// How strongly the user logged in, as the `acr` claim names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Username and password only ("Ügyfélkapu"; ends on the cut-off date).
    Password,
    /// Username, password and a TOTP code ("Ügyfélkapu+", eIDAS substantial).
    TwoStep,
}

impl Level {
    pub const ACR_PASSWORD: &'static str = "ugyfelkapu";
    pub const ACR_TWO_STEP: &'static str = "ugyfelkapu-plus";
    /// eIDAS level of assurance that `ugyfelkapu-plus` maps to.
    pub const EIDAS_SUBSTANTIAL: &'static str = "http://eidas.europa.eu/LoA/substantial";

    pub fn acr(self) -> &'static str {
        match self {
            Level::Password => Self::ACR_PASSWORD,
            Level::TwoStep => Self::ACR_TWO_STEP,
        }
    }

    /// An `acr_values` entry, or a registered level.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            Self::ACR_PASSWORD | "password" => Some(Level::Password),
            Self::ACR_TWO_STEP | Self::EIDAS_SUBSTANTIAL | "two_step" => Some(Level::TwoStep),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Password => "password",
            Level::TwoStep => "two_step",
        }
    }

    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Level::Password => &["pwd"],
            Level::TwoStep => &["pwd", "otp"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlg {
    ES256,
    RS256,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(SigningAlg::ES256),
            "RS256" => Some(SigningAlg::RS256),
            _ => None,
        }
    }
}

/// A registered service.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// Matched exactly, character for character.
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Confidential clients authenticate at the token endpoint; public ones
    /// must use PKCE S256.
    pub confidential: bool,
    /// SHA-256 of the client secret (256 random bits, so a fast hash is enough).
    #[serde(skip)]
    pub secret_hash: Option<String>,
    /// The client's public keys (a JWK set) for `private_key_jwt`.
    pub jwks: Option<String>,
    pub id_token_alg: SigningAlg,
    /// The lowest level this service accepts.
    pub required_level: Level,
    pub created_at: UnixTime,
}

/// One of kapu's ID-token signing keys.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: SigningAlg,
    /// PKCS#8 (EC) or PKCS#1 (RSA) DER, sealed at rest.
    pub private_sealed: Vec<u8>,
    pub public_jwk: String,
    pub created_at: UnixTime,
    /// When it stopped signing (still published until its tokens expire).
    pub retired_at: Option<UnixTime>,
}

/// An authorization request waiting for the user to log in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub max_age: Option<i64>,
    /// `prompt=login`: a fresh login even inside a live session.
    pub force_login: bool,
    pub required_level: Level,
    /// When the request was saved: a login made after it is fresh for it.
    #[serde(default)]
    pub created_at: UnixTime,
}

/// An issued authorization code, as stored (the code itself only hashed).
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub code_hash: String,
    pub client_id: String,
    pub account_id: AccountId,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: UnixTime,
    pub level: Level,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token_hash: String,
    pub client_id: String,
    pub account_id: AccountId,
    pub scope: String,
    pub code_hash: String,
    pub expires_at: UnixTime,
}

/// The claims of an ID token as kapu issues them.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub acr: String,
    pub amr: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}
