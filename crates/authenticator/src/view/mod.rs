//! What the user sees: plain-text lists for `list` and `code`, the live
//! full-screen view of `watch`, copying to the clipboard, and every text in
//! Hungarian and English ([`lang`]).

pub mod clipboard;
pub mod lang;
pub mod text;
pub mod watch;
