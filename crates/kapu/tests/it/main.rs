//! kapu's integration tests: one binary (linking is slow), every test against
//! a real server, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod abuse;
mod delegations;
mod faults;
mod identity;
mod infra;
mod limits;
mod office;
mod oidc;
mod portal;
mod seed;
mod services;
mod two_step;
