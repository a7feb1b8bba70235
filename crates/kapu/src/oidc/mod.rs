//! The OpenID Connect provider: government services log their users in
//! through kapu (authorization code flow with PKCE, pairwise subjects, the
//! login level as `acr`/`amr`).

pub mod keys;
pub mod model;
pub mod pages;
pub mod repo;
pub mod service;
