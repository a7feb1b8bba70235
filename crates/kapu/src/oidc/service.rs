//! What the provider's use cases share: their error, and the level a
//! session proves. Each endpoint has its own module (`clients`, `discovery`,
//! `authorize`, `client_auth`, `token`, `logout`); HTTP lives in `pages`
//! (the browser's) and `api` (the services').

use crate::oidc::keys::KeyError;
use crate::oidc::model::Level;
use crate::sessions::model::ActiveSession;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The level a session proves.
pub fn session_level(session: &ActiveSession) -> Level {
    if session.record.auth_methods.has_code() { Level::TwoStep } else { Level::Password }
}
