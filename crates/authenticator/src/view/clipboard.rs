//! Copying a code to the clipboard with the OSC 52 terminal escape sequence.
//!
//! The terminal itself sets the clipboard, so it works over SSH and without
//! a desktop session, where GUI clipboard libraries have nothing to talk to,
//! and it needs no extra crates. Most terminals support it (xterm, kitty,
//! WezTerm, iTerm2, Windows Terminal, foot, Alacritty); tmux passes it on
//! with `set -g set-clipboard on`. A terminal without support ignores it,
//! so the view never claims more than "sent to the terminal's clipboard".

use std::io::{self, Write};

use data_encoding::BASE64;

/// The escape sequence that puts `text` on the clipboard (`c`).
#[must_use]
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", BASE64.encode(text.as_bytes()))
}

/// Writes the sequence to `out` and flushes it.
pub fn copy(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn sequence() {
        assert_eq!(osc52("123456"), "\x1b]52;c;MTIzNDU2\x07");
        let mut out = Vec::new();
        copy(&mut out, "00").unwrap();
        assert_eq!(out, b"\x1b]52;c;MDA=\x07");
    }
}
