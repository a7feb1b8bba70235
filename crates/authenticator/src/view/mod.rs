//! What the user sees: plain-text lists for `list` and `code`, the live
//! full-screen view of `watch`, and copying to the clipboard.

pub mod clipboard;
pub mod text;
pub mod watch;
