//! The plain-text views of `kapu otp list` and `kapu otp code`: one line per
//! account with its current code and the seconds left, and a warning line
//! with the next code when fewer than [`WARN_SECONDS`] are left.
//!
//! Codes are printed without a space in the middle, so that double-clicking
//! one in a terminal selects all of it.

use std::fmt::Write as _;

use otp::Kind;
use unicode_width::UnicodeWidthStr;

use crate::account::{Account, Color, CurrentCode, WARN_SECONDS};
use crate::escape::terminal_safe;
use crate::view::lang::Lang;

/// Names wider than this (in terminal cells) are cut with "…" in tables.
const MAX_NAME_WIDTH: usize = 40;

/// The ANSI foreground colour of an account's colour.
#[must_use]
pub fn ansi_color(color: Color) -> &'static str {
    match color {
        Color::Red => "\x1b[31m",
        Color::Orange => "\x1b[38;5;208m",
        Color::Yellow => "\x1b[33m",
        Color::Green => "\x1b[32m",
        Color::Blue => "\x1b[94m",
        Color::Purple => "\x1b[35m",
        Color::Grey => "\x1b[90m",
    }
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const YELLOW: &str = "\x1b[33m";

/// `text` made terminal-safe and cut to `max` terminal cells, ending in "…"
/// when cut.
#[must_use]
pub fn fit(text: &str, max: usize) -> String {
    let text = &*terminal_safe(text);
    if text.width() <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + c.to_string().width() + 1 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn pad(text: &str, width: usize) -> String {
    let mut s = text.to_owned();
    for _ in text.width()..width {
        s.push(' ');
    }
    s
}

/// The warning shown when a code is about to expire.
#[must_use]
pub fn warning(current: &CurrentCode, lang: Lang) -> Option<String> {
    current.next_code.as_ref().map(|next| lang.expiring(current.seconds_left, WARN_SECONDS, next))
}

/// The table of `kapu otp list`: number, name, code and seconds left (TOTP),
/// or a hint for HOTP accounts, whose codes are only made on request.
#[must_use]
pub fn list(accounts: &[Account], now: u64, ansi: bool, lang: Lang) -> String {
    if accounts.is_empty() {
        return format!("{}\n", lang.empty_vault());
    }
    let names: Vec<String> = accounts.iter().map(|a| fit(&a.label(), MAX_NAME_WIDTH)).collect();
    let name_width = names.iter().map(|n| n.width()).max().unwrap_or(0);
    let number_width = format!("#{}", accounts.len()).len();
    let mut out = String::new();
    for (i, (account, name)) in accounts.iter().zip(&names).enumerate() {
        let number = pad(&format!("#{}", i + 1), number_width);
        let name = pad(name, name_width);
        let (dot, reset) =
            if ansi { (format!("{}●{RESET} ", ansi_color(account.color)), RESET) } else { (String::new(), "") };
        let _ = write!(out, "{number}  {dot}{name}  ");
        match (account.code_at(now), account.kind) {
            (Some(current), _) => {
                let (style, warn_style) = if ansi { (BOLD, YELLOW) } else { ("", "") };
                let _ = writeln!(out, "{style}{}{reset}  {}", current.code, lang.seconds_left(current.seconds_left));
                if let Some(w) = warning(&current, lang) {
                    let _ = writeln!(out, "{:width$}  {warn_style}! {w}{reset}", "", width = number_width);
                }
            }
            (None, Kind::Hotp { .. }) => {
                let _ = writeln!(out, "{}", lang.hotp_hint(i + 1));
            }
            (None, Kind::Totp { .. }) => {
                let _ = writeln!(out);
            }
        }
    }
    out
}

/// `kapu otp code NAME` for a TOTP account: the code, the seconds left and,
/// when it is about to expire, the warning with the next code.
#[must_use]
pub fn code(account: &Account, current: &CurrentCode, ansi: bool, lang: Lang) -> String {
    let (bold, yellow, reset) = if ansi { (BOLD, YELLOW, RESET) } else { ("", "", "") };
    let mut out = format!(
        "{}  {bold}{}{reset}  {}\n",
        terminal_safe(&account.label()),
        current.code,
        lang.left_of(current.seconds_left, current.period)
    );
    if let Some(w) = warning(current, lang) {
        let _ = writeln!(out, "{yellow}! {w}{reset}");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::test_support::totp;

    #[test]
    fn list_shows_codes_seconds_and_warning() {
        let mut hotp = totp("bank", "x", "JBSWY3DPEHPK3PXP");
        hotp.kind = Kind::Hotp { counter: 0 };
        let accounts = vec![totp("rfc", "6238", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), hotp];
        let at_59 = list(&accounts, 59, false, Lang::En);
        assert_eq!(
            at_59,
            "#1  rfc:6238  287082   1 s left\n    ! only 1 s left (fewer than 7): the code may expire while you type it; wait for the next one: 359152\n\
             #2  bank:x    HOTP: `kapu otp code #2` shows the next code\n"
        );
        let at_60 = list(&accounts, 60, false, Lang::En);
        assert!(at_60.starts_with("#1  rfc:6238  359152  30 s left\n#2"), "{at_60}");
        assert!(list(&accounts, 60, true, Lang::En).contains("\x1b[94m●\x1b[0m"));
        assert!(list(&[], 0, false, Lang::En).contains("kapu otp add"));
        let hu = list(&accounts, 59, false, Lang::Hu);
        assert!(hu.starts_with("#1  rfc:6238  287082  még  1 mp\n    ! már csak 1 mp"), "{hu}");
    }

    #[test]
    fn names_are_cut_to_fit() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("abcdefghijkl", 5), "abcd…");
        assert_eq!(fit("日本語のなまえ", 7), "日本語…");
    }

    #[test]
    fn single_code() {
        let a = totp("rfc", "6238", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let text = code(&a, &a.code_at(59).unwrap(), false, Lang::En);
        assert!(text.starts_with("rfc:6238  287082  (1 s left of 30)\n! only 1 s left"), "{text}");
        assert!(text.contains("359152"));
        assert_eq!(code(&a, &a.code_at(60).unwrap(), false, Lang::En), "rfc:6238  359152  (30 s left of 30)\n");
    }
}
