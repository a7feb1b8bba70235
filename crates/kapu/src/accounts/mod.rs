//! Accounts: registration, login, password change and reset, registration
//! data, settings and deletion.

pub mod admin;
pub mod model;
pub mod pages;
pub mod repo;
pub mod service;
