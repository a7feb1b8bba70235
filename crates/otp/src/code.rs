//! [`Code`]: a one-time code as typed by a user, checked for shape before it
//! is compared with anything.
//!
//! Parsing is separate from verification so that a server can tell a citizen
//! "the code has 6 digits, you typed 5" (a typing mistake, worth a precise
//! message) apart from "the code is wrong" (where it must say nothing more).
//! The parsed value is a number, so verification compares integers and never
//! builds strings.

use std::fmt;

use crate::params::Digits;

/// A syntactically valid code: exactly [`Digits`] decimal digits.
///
/// `Debug` hides the value (it names only the length): a code typed at
/// login does not belong in logs. `Display` gives the zero-padded digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Code {
    value: u32,
    digits: Digits,
}

/// Why a typed code is not of the right shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Nothing but whitespace was entered.
    #[error("no code was entered")]
    Empty,
    /// Something other than a digit 0–9 or whitespace.
    #[error("invalid character {character:?} at position {position}: the code consists of the digits 0–9 only")]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its 1-based character position in the input, spaces included.
        position: usize,
    },
    /// The right kind of characters, but too few or too many.
    #[error("the code must have {expected} digits, but {found} were entered")]
    WrongLength {
        /// The number of digits the account uses.
        expected: u8,
        /// The number of digits entered.
        found: usize,
    },
}

impl Code {
    /// Parses a code as a user typed or pasted it.
    ///
    /// ASCII whitespace (space, tab, CR, LF) is ignored anywhere, because
    /// authenticator apps display codes as "123 456" and pasted text often
    /// ends in a newline. Only ASCII digits count: full-width or other
    /// scripts' digits are reported as invalid characters rather than
    /// converted, since the server cannot know what the user meant.
    pub fn parse(input: &str, digits: Digits) -> Result<Self, CodeError> {
        let mut value: u32 = 0;
        let mut found: usize = 0;
        for (index, character) in input.chars().enumerate() {
            if character.is_ascii_whitespace() {
                continue;
            }
            // `to_digit(10)` accepts the ASCII digits 0-9 only.
            let Some(d) = character.to_digit(10) else {
                return Err(CodeError::InvalidCharacter { character, position: index + 1 });
            };
            found += 1;
            // Accumulate only while the length can still be right, so that a
            // long input cannot overflow; its length is reported below.
            if found <= usize::from(digits.get()) {
                value = value * 10 + d;
            }
        }
        if found == 0 {
            return Err(CodeError::Empty);
        }
        if found != usize::from(digits.get()) {
            return Err(CodeError::WrongLength { expected: digits.get(), found });
        }
        Ok(Self { value, digits })
    }

    /// Builds a code from its numeric value, for generators and tests.
    /// `None` if `value` has more than `digits` digits.
    #[must_use]
    pub fn from_value(value: u32, digits: Digits) -> Option<Self> {
        (value < digits.modulus()).then_some(Self { value, digits })
    }

    /// For the generators, whose value is already reduced modulo
    /// `10^digits`.
    pub(crate) fn from_reduced(value: u32, digits: Digits) -> Self {
        debug_assert!(value < digits.modulus());
        Self { value, digits }
    }

    /// The numeric value (leading zeros dropped).
    #[must_use]
    pub const fn value(self) -> u32 {
        self.value
    }

    /// The number of digits.
    #[must_use]
    pub const fn digits(self) -> Digits {
        self.digits
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$}", self.value, width = usize::from(self.digits.get()))
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code(<redacted, {} digits>)", self.digits)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_digits_and_whitespace() {
        let c = Code::parse("123456", Digits::SIX).unwrap();
        assert_eq!(c.value(), 123_456);
        assert_eq!(c.digits(), Digits::SIX);
        assert_eq!(Code::parse(" 123 456\r\n", Digits::SIX).unwrap(), c);
        assert_eq!(Code::parse("\t1 2 3 4 5 6 ", Digits::SIX).unwrap(), c);
        let z = Code::parse("000042", Digits::SIX).unwrap();
        assert_eq!(z.value(), 42);
        assert_eq!(z.to_string(), "000042");
        assert_eq!(Code::parse("0000 0042", Digits::EIGHT).unwrap().to_string(), "00000042");
        assert_eq!(Code::parse("99999999", Digits::EIGHT).unwrap().value(), 99_999_999);
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(Code::parse("", Digits::SIX), Err(CodeError::Empty));
        assert_eq!(Code::parse(" \n", Digits::SIX), Err(CodeError::Empty));
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(Code::parse("12345", Digits::SIX), Err(CodeError::WrongLength { expected: 6, found: 5 }));
        assert_eq!(Code::parse("1234567", Digits::SIX), Err(CodeError::WrongLength { expected: 6, found: 7 }));
        let long = "9".repeat(1000);
        assert_eq!(Code::parse(&long, Digits::EIGHT), Err(CodeError::WrongLength { expected: 8, found: 1000 }));
        assert_eq!(
            Code::parse("1234567", Digits::EIGHT).unwrap_err().to_string(),
            "the code must have 8 digits, but 7 were entered"
        );
    }

    #[test]
    fn rejects_non_digits() {
        assert_eq!(
            Code::parse("12a456", Digits::SIX),
            Err(CodeError::InvalidCharacter { character: 'a', position: 3 })
        );
        assert_eq!(
            Code::parse("123-456", Digits::SIX),
            Err(CodeError::InvalidCharacter { character: '-', position: 4 })
        );
        assert_eq!(
            Code::parse("+123456", Digits::SIX),
            Err(CodeError::InvalidCharacter { character: '+', position: 1 })
        );
        // Full-width digits (from an East Asian input method) are not ASCII.
        assert_eq!(
            Code::parse("１２３４５６", Digits::SIX),
            Err(CodeError::InvalidCharacter { character: '１', position: 1 })
        );
        assert_eq!(
            Code::parse("12\u{a0}3456", Digits::SIX),
            Err(CodeError::InvalidCharacter { character: '\u{a0}', position: 3 })
        );
        assert_eq!(
            Code::parse("12x", Digits::SIX).unwrap_err().to_string(),
            "invalid character 'x' at position 3: the code consists of the digits 0–9 only"
        );
    }

    #[test]
    fn from_value_bounds() {
        assert!(Code::from_value(999_999, Digits::SIX).is_some());
        assert!(Code::from_value(1_000_000, Digits::SIX).is_none());
        assert!(Code::from_value(0, Digits::SIX).is_some());
    }

    #[test]
    fn debug_hides_value() {
        let c = Code::parse("123456", Digits::SIX).unwrap();
        assert_eq!(format!("{c:?}"), "Code(<redacted, 6 digits>)");
    }
}
