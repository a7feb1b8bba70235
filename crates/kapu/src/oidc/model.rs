//! OpenID Connect domain types: registered services (clients), signing keys,
//! authorization requests, codes and access tokens, and the login levels.

use serde::{Deserialize, Serialize};

use crate::accounts::model::AccountId;
use crate::clock::UnixTime;

/// How the user logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Username and password only ("Ügyfélkapu"; ends on the cut-off date).
    Password,
    /// Username, password and a TOTP code ("Ügyfélkapu+").
    TwoStep,
}

impl Level {
    /// A registered service's lowest accepted level, as `kapu admin` takes it
    /// (or one of the `acr` values of kapu's own).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password" | Acr::PASSWORD => Some(Level::Password),
            "two_step" | Acr::TWO_STEP => Some(Level::TwoStep),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Password => "password",
            Level::TwoStep => "two_step",
        }
    }

    /// kapu's own `acr` value for this level.
    pub fn acr(self) -> &'static str {
        Acr::Kapu(self).as_str()
    }

    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Level::Password => &["pwd"],
            Level::TwoStep => &["pwd", "otp"],
        }
    }
}

/// What a login proved: how the user logged in, and whether an office has
/// verified who the account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assurance {
    pub level: Level,
    pub verified: bool,
}

/// eIDAS levels of assurance (Regulation 910/2014, Implementing Regulation 2015/1502).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Eidas {
    Low,
    Substantial,
    High,
}

/// An `acr` value kapu understands: its own, or an eIDAS level URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acr {
    Kapu(Level),
    Eidas(Eidas),
}

impl Acr {
    pub const PASSWORD: &'static str = "ugyfelkapu";
    pub const TWO_STEP: &'static str = "ugyfelkapu-plus";
    pub const EIDAS_LOW: &'static str = "http://eidas.europa.eu/LoA/low";
    pub const EIDAS_SUBSTANTIAL: &'static str = "http://eidas.europa.eu/LoA/substantial";
    pub const EIDAS_HIGH: &'static str = "http://eidas.europa.eu/LoA/high";
    /// Every value, for discovery's `acr_values_supported`.
    pub const ALL: [&'static str; 5] =
        [Self::TWO_STEP, Self::PASSWORD, Self::EIDAS_LOW, Self::EIDAS_SUBSTANTIAL, Self::EIDAS_HIGH];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            Self::PASSWORD => Some(Acr::Kapu(Level::Password)),
            Self::TWO_STEP => Some(Acr::Kapu(Level::TwoStep)),
            Self::EIDAS_LOW => Some(Acr::Eidas(Eidas::Low)),
            Self::EIDAS_SUBSTANTIAL => Some(Acr::Eidas(Eidas::Substantial)),
            Self::EIDAS_HIGH => Some(Acr::Eidas(Eidas::High)),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Acr::Kapu(Level::Password) => Self::PASSWORD,
            Acr::Kapu(Level::TwoStep) => Self::TWO_STEP,
            Acr::Eidas(Eidas::Low) => Self::EIDAS_LOW,
            Acr::Eidas(Eidas::Substantial) => Self::EIDAS_SUBSTANTIAL,
            Acr::Eidas(Eidas::High) => Self::EIDAS_HIGH,
        }
    }

    /// Which logins reach this value (docs/oidc.md, "Levels"): a password
    /// alone reaches only plain "ugyfelkapu"; a two-step login reaches
    /// "ugyfelkapu-plus" and eIDAS low; eIDAS substantial also needs an
    /// identity verified at an office; no kapu login reaches eIDAS high (it
    /// needs an electronic identity card).
    pub fn satisfied_by(self, a: Assurance) -> bool {
        match self {
            Acr::Kapu(Level::Password) => true,
            Acr::Kapu(Level::TwoStep) | Acr::Eidas(Eidas::Low) => a.level == Level::TwoStep,
            Acr::Eidas(Eidas::Substantial) => a.level == Level::TwoStep && a.verified,
            Acr::Eidas(Eidas::High) => false,
        }
    }

    /// The login level this value needs, or `None` when no kapu login
    /// reaches it.
    pub fn needs_level(self) -> Option<Level> {
        match self {
            Acr::Kapu(Level::Password) => Some(Level::Password),
            Acr::Kapu(Level::TwoStep) | Acr::Eidas(Eidas::Low | Eidas::Substantial) => Some(Level::TwoStep),
            Acr::Eidas(Eidas::High) => None,
        }
    }

    /// Whether the account must have a verified identity to reach it.
    pub fn needs_verified(self) -> bool {
        self == Acr::Eidas(Eidas::Substantial)
    }
}

/// How a service authenticates at the token endpoint (and /par); one per
/// service, fixed at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    /// A public client (a browser or mobile app): no secret, PKCE instead.
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] =
        [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost, AuthMethod::PrivateKeyJwt, AuthMethod::None];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the service keeps a credential (a secret or a private key).
    pub fn confidential(self) -> bool {
        self != AuthMethod::None
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
    pub auth_method: AuthMethod,
    /// SHA-256 of the client secret (256 random bits, so a fast hash is enough).
    #[serde(skip)]
    pub secret_hash: Option<String>,
    /// The client's public keys (a JWK set) for `private_key_jwt`.
    pub jwks: Option<String>,
    pub id_token_alg: SigningAlg,
    /// The lowest level this service accepts.
    pub required_level: Level,
    /// Where logout tokens go (OpenID Connect Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// Origins of the service's browser application, allowed by CORS.
    pub web_origins: Vec<String>,
    /// Authorization requests only through /par.
    pub par_required: bool,
    /// The FAPI 2.0 Security Profile baseline: PAR, PKCE S256 and
    /// `private_key_jwt` required (docs/oidc.md).
    pub fapi2: bool,
    pub created_at: UnixTime,
    /// Identity claims the service may receive (with the citizen's consent,
    /// of a verified account): a subset of `discovery::IDENTITY_CLAIMS`.
    pub allowed_claims: Vec<String>,
    /// The delegation matters it takes logins on a principal's behalf for
    /// (`act`); empty: agents log in for themselves only.
    pub delegation_matters: Vec<String>,
}

impl Client {
    pub fn confidential(&self) -> bool {
        self.auth_method.confidential()
    }

    /// PAR is required by the registration or by FAPI 2.0.
    pub fn requires_par(&self) -> bool {
        self.par_required || self.fapi2
    }
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
    /// Published from `created_at`, signing from this time (pre-publication:
    /// services that cache the JWKS know the key before they see it).
    pub active_from: UnixTime,
    /// When it stopped signing (still published until its tokens expire).
    pub retired_at: Option<UnixTime>,
}

/// How the code goes back to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// In the redirect URI's query (the default).
    #[default]
    Query,
    /// An auto-submitted form POST to the redirect URI (OAuth 2.0 Form Post Response Mode).
    FormPost,
}

/// Claims a service asked for one by one (the `claims` parameter, OIDC Core §5.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedClaims {
    #[serde(default)]
    pub id_token: Vec<String>,
    #[serde(default)]
    pub userinfo: Vec<String>,
}

/// An authorization request waiting for the user to log in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// The granted scopes (those kapu knows, of those asked for).
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub max_age: Option<i64>,
    /// `prompt=login`: a fresh login even inside a live session.
    pub force_login: bool,
    /// The lowest login level that can satisfy the request (the service's
    /// registered floor and what it asked for): the login pages offer only
    /// the methods that reach it.
    pub required_level: Level,
    /// The `acr` values asked for (`acr_values`, or `claims` with `acr`),
    /// in the service's order of preference, as it wrote them.
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// Asked for as an essential claim: a login that cannot meet it is an
    /// error for the service, not a login at another level.
    #[serde(default)]
    pub acr_essential: bool,
    #[serde(default)]
    pub response_mode: ResponseMode,
    #[serde(default)]
    pub claims: RequestedClaims,
    /// `login_hint`, if it can be a username: the login form starts with it.
    #[serde(default)]
    pub login_hint: Option<String>,
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
    /// The ID token's `acr`, in the form the service asked for.
    pub acr: String,
    /// The session's public id (the ID token's `sid`).
    pub sid: String,
    pub claims: RequestedClaims,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// The principal the logged-in agent acts for (a delegation), if any.
    pub on_behalf_of: Option<AccountId>,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token_hash: String,
    pub client_id: String,
    pub account_id: AccountId,
    pub scope: String,
    pub code_hash: String,
    /// Claims asked for one by one for userinfo.
    pub userinfo_claims: Vec<String>,
    pub expires_at: UnixTime,
    /// As [`AuthCode::on_behalf_of`].
    pub on_behalf_of: Option<AccountId>,
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
    /// The kapu session the login belongs to (for back-channel logout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Identity claims released to this service (family_name, birthdate, ...).
    #[serde(flatten)]
    pub identity: serde_json::Map<String, serde_json::Value>,
    /// An agent acting on the principal's (`sub`) behalf (RFC 8693 §4.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<crate::oidc::acting::ActingParty>,
    /// The matters the agent may act in for the principal at this service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_matters: Option<Vec<String>>,
}
