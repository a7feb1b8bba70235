//! The one function that makes text from a file, a QR code or a user safe to
//! print in a terminal: [`terminal_safe`].
//!
//! A name in an import file can hold escape sequences (`ESC ] 52 ; ...`
//! sets the clipboard in many terminals, `ESC ] 0 ;` the window title,
//! others move the cursor or rewrite the screen) and bidirectional
//! formatting marks that disguise one name as another. Every name, issuer
//! and piece of file content that reaches a terminal or an error message
//! goes through this function, which replaces each such character by its
//! visible `\u{..}` form: no byte below 0x20, no DEL and no C1 control
//! (U+0080–U+009F) is ever written raw.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` must not reach a terminal as it is: C0 controls (including
/// newline and tab), DEL, C1 controls, and the bidirectional formatting
/// characters.
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character (see [`is_unsafe`]) written as
/// `\u{1b}`; unchanged (and not copied) when there is none.
#[must_use]
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Displays a string through [`terminal_safe`]: `format!("{}", Safe(name))`.
#[derive(Clone, Copy, Debug)]
pub struct Safe<'a>(pub &'a str);

impl fmt::Display for Safe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&terminal_safe(self.0))
    }
}

/// Each line of `text` through [`terminal_safe`], the line breaks kept: for
/// messages of several lines.
#[must_use]
pub fn lines_safe(text: &str) -> String {
    text.split('\n')
        .map(|l| terminal_safe(l.strip_suffix('\r').unwrap_or(l)).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible() {
        let osc52 = "x\u{1b}]52;c;cm0gLXJmIH4=\u{7}y";
        assert_eq!(terminal_safe(osc52), "x\\u{1b}]52;c;cm0gLXJmIH4=\\u{7}y");
        assert_eq!(terminal_safe("a\u{9b}2Jb\u{7f}\u{202e}c\n"), "a\\u{9b}2Jb\\u{7f}\\u{202e}c\\u{a}");
        assert!(matches!(terminal_safe("Ügyfélkapu: imre"), Cow::Borrowed(_)));
        assert_eq!(Safe("\u{1b}[2J").to_string(), "\\u{1b}[2J");
        assert_eq!(lines_safe("one\u{7}\ntwo\r\n"), "one\\u{7}\ntwo\n");
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let out = terminal_safe(&c.to_string()).into_owned();
            assert!(out.bytes().all(|b| (0x20..0x7f).contains(&b)), "{c:?} -> {out:?}");
        }
    }
}
