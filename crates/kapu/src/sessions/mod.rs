//! Sessions: server-side, idle timeout plus absolute lifetime, a new id at
//! every login.

pub mod model;
pub mod repo;
pub mod service;
