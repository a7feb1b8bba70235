//! The OpenID Connect provider: government services log their users in
//! through kapu (authorization code flow with PKCE, PAR, pairwise subjects,
//! the login level as `acr`/`amr`, single logout). docs/oidc.md is the
//! service developer's guide.

pub mod acting;
pub mod api;
pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod config;
pub mod consent;
pub mod discovery;
pub mod keys;
pub mod logout;
pub mod model;
pub mod pages;
pub mod repo;
pub mod service;
pub mod token;
