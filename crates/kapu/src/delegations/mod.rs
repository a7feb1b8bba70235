//! Delegations (meghatalmazás): a verified citizen (the principal) lets
//! another verified citizen (the agent) act for them in one matter,
//! optionally at one service, for a period. The agent accepts it in the
//! portal; either party ends it at any time; deleting either account ends it
//! and tells the other (docs/identity.md).

pub mod model;
pub mod pages;
pub mod repo;
pub mod service;
