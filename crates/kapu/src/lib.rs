//! kapu: the citizen login server.
//!
//! One folder per capability; inside each, `model` (domain types and rules),
//! `repo` (the storage it needs, SQL in `store`), `service` (the use cases, free
//! of HTTP and SQL) and `pages` (thin HTTP handlers). `web` holds what every
//! page shares: the router, the error mapping, CSRF, headers and i18n.

pub mod accounts;
pub mod app;
pub mod audit;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delegations;
pub mod i18n;
pub mod identity;
pub mod mail;
pub mod metrics;
pub mod office;
pub mod oidc;
pub mod passwords;
pub mod retention;
pub mod sessions;
pub mod store;
pub mod throttle;
pub mod twostep;
pub mod web;

pub use app::Kapu;
pub use config::Config;
