//! Ügyfélkapu+: two-step login with a TOTP code, from set-up to a lost phone.

pub mod model;
pub mod pages;
pub mod qr;
pub mod repo;
pub mod service;
