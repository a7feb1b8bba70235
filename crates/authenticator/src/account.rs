//! [`Account`]: one entry of the authenticator (a service, an account name, a
//! key and its parameters), the codes it shows, and how a user names it on
//! the command line.
//!
//! Accounts are identified by their key, not their name: two accounts may
//! have the same name (the same service with two keys), and a restore renames
//! an account whose key it already has (see [`crate::merge`]).

use std::fmt;
use std::str::FromStr;

use otp::{Algorithm, Digits, Kind, OtpAuthUri, Secret, Totp};

/// Fewer seconds than this left of a period: the code may expire while it is
/// being typed, so the views warn and show the next one (the guide advises
/// waiting for the next code when 6-7 seconds are left).
pub const WARN_SECONDS: u64 = 7;

/// The longest issuer or account name accepted, in characters. Names are
/// shown in a terminal table; nothing real comes near this.
pub const MAX_NAME_CHARS: usize = 200;

/// The colour (category) a user gives an account, as in the browser page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Color {
    /// `red`
    Red,
    /// `orange`
    Orange,
    /// `yellow`
    Yellow,
    /// `green`
    Green,
    /// `blue`, the default.
    #[default]
    Blue,
    /// `purple`
    Purple,
    /// `grey`
    Grey,
}

impl Color {
    /// Every colour, in the order the browser page offers them.
    pub const ALL: [Self; 7] =
        [Self::Red, Self::Orange, Self::Yellow, Self::Green, Self::Blue, Self::Purple, Self::Grey];

    /// The name used in the JSON format.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Orange => "orange",
            Self::Yellow => "yellow",
            Self::Green => "green",
            Self::Blue => "blue",
            Self::Purple => "purple",
            Self::Grey => "grey",
        }
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The colour name is not one of [`Color::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown colour {0:?}: use red, orange, yellow, green, blue, purple or grey")]
pub struct ColorError(pub String);

impl FromStr for Color {
    type Err = ColorError;

    /// Any letter case; `gray` is taken for `grey`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "gray" {
            return Ok(Self::Grey);
        }
        Self::ALL.into_iter().find(|c| c.as_str() == lower).ok_or_else(|| ColorError(s.chars().take(32).collect()))
    }
}

/// Why an issuer or account name is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// A control or bidirectional-formatting character: these names are
    /// printed in a terminal, where an escape sequence from a hostile file
    /// could rewrite the screen and reordering marks could disguise one
    /// account as another (the same rule as `otpauth://` URIs).
    #[error("the {component} contains the forbidden character U+{:04X}", u32::from(*character))]
    ForbiddenCharacter {
        /// "issuer" or "account".
        component: &'static str,
        /// The character.
        character: char,
    },
    /// Longer than [`MAX_NAME_CHARS`].
    #[error("the {component} is longer than {MAX_NAME_CHARS} characters")]
    TooLong {
        /// "issuer" or "account".
        component: &'static str,
    },
}

fn is_forbidden(c: char) -> bool {
    crate::escape::is_unsafe(c)
}

fn check_name(text: &str, component: &'static str) -> Result<(), NameError> {
    if let Some(character) = text.chars().find(|&c| is_forbidden(c)) {
        return Err(NameError::ForbiddenCharacter { component, character });
    }
    if text.chars().nth(MAX_NAME_CHARS).is_some() {
        return Err(NameError::TooLong { component });
    }
    Ok(())
}

/// One account: what is needed to compute its codes, and how it is shown.
///
/// `Debug` never shows the key (see [`Secret`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The service, e.g. "kapu"; may be empty.
    pub issuer: String,
    /// The account name at the service, e.g. the user name; may be empty
    /// when the issuer is not.
    pub account: String,
    /// The shared key.
    pub secret: Secret,
    /// TOTP with its period, or HOTP with the counter of the next code.
    pub kind: Kind,
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// The code length.
    pub digits: Digits,
    /// The user's colour for it.
    pub color: Color,
}

/// The code a TOTP account shows at a moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentCode {
    /// The code, zero-padded.
    pub code: String,
    /// Seconds until it is replaced (1 to `period`).
    pub seconds_left: u64,
    /// The period in seconds.
    pub period: u64,
    /// The next code, when fewer than [`WARN_SECONDS`] are left.
    pub next_code: Option<String>,
}

impl Account {
    /// Checks the names and builds an account. Both names may be empty
    /// (backups from the browser page can hold such an account); `kapu otp
    /// add` asks for one.
    pub fn new(
        issuer: String,
        account: String,
        secret: Secret,
        kind: Kind,
        algorithm: Algorithm,
        digits: Digits,
        color: Color,
    ) -> Result<Self, NameError> {
        check_name(&issuer, "issuer")?;
        check_name(&account, "account")?;
        Ok(Self { issuer, account, secret, kind, algorithm, digits, color })
    }

    /// An account from a parsed `otpauth://` URI (whose names the otp crate
    /// has already checked).
    pub fn from_uri(uri: OtpAuthUri, color: Color) -> Result<Self, NameError> {
        Self::new(uri.issuer.unwrap_or_default(), uri.account, uri.secret, uri.kind, uri.algorithm, uri.digits, color)
    }

    /// The account as an `otpauth://` URI value (for a QR code).
    #[must_use]
    pub fn to_uri(&self) -> OtpAuthUri {
        let issuer = Some(self.issuer.clone()).filter(|i| !i.is_empty());
        // The URI needs an account name; an issuer-only account uses the
        // issuer for both, which is what apps show for it anyway.
        let account = if self.account.is_empty() { self.label() } else { self.account.clone() };
        OtpAuthUri {
            kind: self.kind,
            issuer,
            account,
            secret: self.secret.clone(),
            algorithm: self.algorithm,
            digits: self.digits,
        }
    }

    /// "issuer:account", or whichever of the two is not empty ("(no name)"
    /// if neither): the name used in messages and in `--json` output.
    #[must_use]
    pub fn label(&self) -> String {
        match (self.issuer.is_empty(), self.account.is_empty()) {
            (false, false) => format!("{}:{}", self.issuer, self.account),
            (false, true) => self.issuer.clone(),
            (true, false) => self.account.clone(),
            (true, true) => "(no name)".to_owned(),
        }
    }

    /// "TOTP, SHA1, 6 digits, 30 s" / "HOTP, SHA1, 6 digits, counter 3".
    #[must_use]
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Totp { period } => {
                format!("TOTP, {}, {} digits, {} s", self.algorithm, self.digits, period.seconds())
            }
            Kind::Hotp { counter } => {
                format!("HOTP, {}, {} digits, counter {counter}", self.algorithm, self.digits)
            }
        }
    }

    /// Whether `other` makes the same codes: the same key, type, algorithm,
    /// digits and (TOTP) period. HOTP counters may differ. The key is
    /// compared in constant time.
    #[must_use]
    pub fn same_codes_as(&self, other: &Self) -> bool {
        let same_kind = match (self.kind, other.kind) {
            (Kind::Totp { period: a }, Kind::Totp { period: b }) => a == b,
            (Kind::Hotp { .. }, Kind::Hotp { .. }) => true,
            _ => false,
        };
        // Evaluate the key comparison whatever the rest says.
        let same_key = self.secret == other.secret;
        same_key && same_kind && self.algorithm == other.algorithm && self.digits == other.digits
    }

    /// Whether this is a time-based account.
    #[must_use]
    pub fn is_totp(&self) -> bool {
        matches!(self.kind, Kind::Totp { .. })
    }

    fn totp(&self) -> Option<Totp> {
        match self.kind {
            Kind::Totp { period } => Some(Totp::new(self.secret.clone(), self.algorithm, self.digits, period)),
            Kind::Hotp { .. } => None,
        }
    }

    /// The code at `now` (Unix seconds), with the next one when it is about
    /// to expire. `None` for HOTP accounts, whose code depends on a counter
    /// rather than the time (see [`Account::next_hotp_code`]).
    #[must_use]
    pub fn code_at(&self, now: u64) -> Option<CurrentCode> {
        let totp = self.totp()?;
        let step = totp.step_at(now);
        let seconds_left = totp.seconds_remaining(now);
        let next_code = (seconds_left < WARN_SECONDS).then(|| totp.code_at_step(step.saturating_add(1)));
        Some(CurrentCode { code: totp.code_at_step(step), seconds_left, period: totp.period().seconds(), next_code })
    }

    /// For an HOTP account: the code of the current counter, and the counter
    /// moves on (the caller saves the vault, so that a code is never shown
    /// twice). `None` for TOTP accounts, and when the counter is exhausted.
    pub fn next_hotp_code(&mut self) -> Option<String> {
        let Kind::Hotp { counter } = self.kind else { return None };
        let next = counter.checked_add(1)?;
        let code = otp::Hotp::new(self.secret.clone(), self.algorithm, self.digits).code_at(counter);
        self.kind = Kind::Hotp { counter: next };
        Some(code)
    }
}

/// Why a name given on the command line does not pick one account.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// Nothing matches.
    #[error("no account matches \"{}\"{}", crate::escape::Safe(.query), hint(.count))]
    NotFound {
        /// What the user typed.
        query: String,
        /// How many accounts there are.
        count: usize,
    },
    /// Several match and none exactly.
    #[error("\"{}\" matches {} accounts: {}; give more of the name, or its number (e.g. {})",
        crate::escape::Safe(.query), .matches.len(), .matches.join(", "), .matches.first().and_then(|m| m.split(' ').next()).unwrap_or("#1"))]
    Ambiguous {
        /// What the user typed.
        query: String,
        /// "#n label" of each match.
        matches: Vec<String>,
    },
}

fn hint(count: &usize) -> String {
    if *count == 0 {
        " (the vault is empty: add one with `kapu otp add`)".to_owned()
    } else {
        " (see `kapu otp list`)".to_owned()
    }
}

/// Finds the one account a user means by `query`:
///
/// * `#N` is the N-th account as `kapu otp list` numbers them;
/// * otherwise a case-insensitive substring of the issuer, the account name
///   or "issuer:account";
/// * when that matches several, one whose issuer, account name or label
///   equals the query (ignoring case) wins, so "kapu" picks "kapu:imre" over
///   "kapu-teszt:imre"; if that is not a single one, the error lists them.
///
/// Returns the index into `accounts`.
pub fn find(accounts: &[Account], query: &str) -> Result<usize, LookupError> {
    let not_found = || LookupError::NotFound { query: query.to_owned(), count: accounts.len() };
    if let Some(number) = query.strip_prefix('#') {
        return number
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|&i| i < accounts.len())
            .ok_or_else(not_found);
    }
    let needle = query.trim().to_lowercase();
    let names = |a: &Account| [a.issuer.to_lowercase(), a.account.to_lowercase(), a.label().to_lowercase()];
    let matching: Vec<usize> =
        (0..accounts.len()).filter(|&i| names(&accounts[i]).iter().any(|n| n.contains(&needle))).collect();
    match matching.as_slice() {
        [] => Err(not_found()),
        [one] => Ok(*one),
        several => {
            let exact: Vec<usize> =
                several.iter().copied().filter(|&i| names(&accounts[i]).contains(&needle)).collect();
            if let [one] = exact.as_slice() {
                return Ok(*one);
            }
            Err(LookupError::Ambiguous {
                query: query.to_owned(),
                matches: several.iter().map(|&i| format!("#{} {}", i + 1, accounts[i].label())).collect(),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use otp::Period;

    use super::*;
    use crate::test_support::totp;

    #[test]
    fn colours_parse_in_any_case_and_gray() {
        for c in Color::ALL {
            assert_eq!(c.as_str().parse::<Color>().unwrap(), c);
            assert_eq!(c.as_str().to_uppercase().parse::<Color>().unwrap(), c);
        }
        assert_eq!("Gray".parse::<Color>().unwrap(), Color::Grey);
        assert!("pink".parse::<Color>().unwrap_err().to_string().contains("red, orange"));
        assert_eq!(Color::default(), Color::Blue);
    }

    #[test]
    fn names_are_checked() {
        let s = || Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let k = Kind::Totp { period: Period::DEFAULT };
        let new = |i: &str, a: &str| Account::new(i.into(), a.into(), s(), k, Algorithm::Sha1, Digits::SIX, Color::Red);
        assert_eq!(new("", "").unwrap().label(), "(no name)");
        assert!(matches!(
            new("x\u{1b}[2J", "a").unwrap_err(),
            NameError::ForbiddenCharacter { component: "issuer", .. }
        ));
        assert!(matches!(
            new("x", "\u{202e}a").unwrap_err(),
            NameError::ForbiddenCharacter { component: "account", .. }
        ));
        assert_eq!(new("x", &"a".repeat(201)).unwrap_err(), NameError::TooLong { component: "account" });
        assert_eq!(new("", "only").unwrap().label(), "only");
        assert_eq!(new("only", "").unwrap().label(), "only");
        assert_eq!(new("kapu", "imre").unwrap().label(), "kapu:imre");
    }

    #[test]
    fn totp_code_and_warning() {
        // RFC 6238 key; 59 is 1 s before the end of step 1.
        let a = totp("rfc", "6238", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let c = a.code_at(59).unwrap();
        assert_eq!(c.code, "287082");
        assert_eq!(c.seconds_left, 1);
        assert_eq!(c.period, 30);
        assert_eq!(c.next_code.as_deref(), Some(a.code_at(60).unwrap().code.as_str()));
        let c = a.code_at(60).unwrap();
        assert_eq!(c.seconds_left, 30);
        assert_eq!(c.next_code, None);
        // Exactly 7 s left: no warning yet; 6 s: warning.
        assert_eq!(a.code_at(83).unwrap().seconds_left, 7);
        assert!(a.code_at(83).unwrap().next_code.is_none());
        assert!(a.code_at(84).unwrap().next_code.is_some());
    }

    #[test]
    fn hotp_advances() {
        let mut a = totp("rfc", "4226", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(a.next_hotp_code().is_none());
        a.kind = Kind::Hotp { counter: 0 };
        assert!(a.code_at(0).is_none());
        assert_eq!(a.next_hotp_code().as_deref(), Some("755224"));
        assert_eq!(a.next_hotp_code().as_deref(), Some("287082"));
        assert_eq!(a.kind, Kind::Hotp { counter: 2 });
        a.kind = Kind::Hotp { counter: u64::MAX };
        assert!(a.next_hotp_code().is_none());
    }

    #[test]
    fn find_by_substring_exact_and_number() {
        let list = vec![
            totp("kapu", "imre", "JBSWY3DPEHPK3PXP"),
            totp("kapu-teszt", "imre", "GEZDGNBVGY3TQOJQ"),
            totp("Ügyfélkapu", "Kovács", "MFRGGZDFMZTWQ2LK"),
        ];
        assert_eq!(find(&list, "teszt"), Ok(1));
        assert_eq!(find(&list, "KAPU"), Ok(0), "exact issuer wins");
        assert_eq!(find(&list, "ügyfél"), Ok(2), "Unicode case folding");
        assert_eq!(find(&list, "kapu-teszt:IMRE"), Ok(1));
        assert_eq!(find(&list, "#3"), Ok(2));
        let e = find(&list, "imre").unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"imre\" matches 2 accounts: #1 kapu:imre, #2 kapu-teszt:imre; give more of the name, or its number (e.g. #1)"
        );
        assert!(matches!(find(&list, "#4"), Err(LookupError::NotFound { .. })));
        assert!(matches!(find(&list, "#0"), Err(LookupError::NotFound { .. })));
        assert!(find(&list, "google").unwrap_err().to_string().contains("kapu otp list"));
        assert!(find(&[], "x").unwrap_err().to_string().contains("vault is empty"));
    }
}
