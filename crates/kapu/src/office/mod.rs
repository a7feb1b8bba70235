//! The office console (ügyintézői felület): clerks of a government office
//! find a citizen, see their account without any secret, verify their
//! identity, reset two-step login and lift locks — each with the reason the
//! clerk types, audited with the clerk's name; a supervisor sees every
//! office action. Staff log in with their own two-step login; roles are set
//! with `kapu admin office` (docs/identity.md).

pub mod model;
pub mod pages;
pub mod repo;
pub mod service;
