//! Accounts: registration, login, password change and reset, registration
//! data, settings and deletion; seeding test accounts in bulk.

pub mod admin;
pub mod model;
pub mod pages;
pub mod repo;
pub mod seed;
pub mod service;
