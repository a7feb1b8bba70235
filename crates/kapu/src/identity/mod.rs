//! Who the citizen is: an identity verified in person at an office (the
//! "4T" and the document checked), bound to one account with a single-use
//! code, shown read-only on "Regisztrációs adatok" and released to the
//! services the citizen allows (docs/identity.md).

pub mod model;
pub mod pages;
pub mod repo;
pub mod service;
