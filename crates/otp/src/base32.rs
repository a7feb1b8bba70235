//! RFC 4648 base32 (the upper-case A–Z, 2–7 alphabet), the form in which
//! OTP secrets are shown to users, typed into authenticator apps and carried
//! in `otpauth://` URIs.
//!
//! The bit-level work is done by the `data-encoding` crate; this module only
//! normalises what people type and turns every mistake into an error that
//! says which character, where, and what to do about it.
//!
//! What [`decode`] accepts, and why:
//! * lower-case letters, because phones and people lower-case things;
//! * ASCII spaces and tabs anywhere, because secrets are displayed in groups
//!   of four and users copy the gaps. Nothing else is skipped: hyphens,
//!   newlines or non-breaking spaces are rejected so that a stray character
//!   is reported rather than silently dropped (a dropped character would
//!   usually still decode, to the wrong key);
//! * `=` padding either left out (as `otpauth://` URIs do) or exactly
//!   right, at the end only.
//!
//! It rejects lengths that cannot come from encoding whole bytes and a last
//! character whose unused low bits are not zero (RFC 4648 section 3.5): both
//! usually mean a character was mistyped, and accepting them would make
//! several different texts decode to the same key.

use data_encoding::{BASE32_NOPAD, DecodeKind};
use zeroize::Zeroizing;

/// Why a base32 text could not be decoded.
///
/// Positions count characters (not bytes) of the text exactly as it was
/// given, starting at 1, spaces included, so they match what a user sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Base32Error {
    /// A character outside the base32 alphabet, spaces, tabs and `=`.
    #[error(
        "invalid character {character:?} at position {position}: base32 uses only the letters A–Z and digits 2–7{}",
        lookalike_hint(*character)
    )]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its 1-based character position in the input.
        position: usize,
    },
    /// A letter or digit after the `=` padding, which may only end the text.
    #[error("character {character:?} at position {position} comes after '=' padding; '=' may only appear at the end")]
    CharacterAfterPadding {
        /// The offending character.
        character: char,
        /// Its 1-based character position in the input.
        position: usize,
    },
    /// The number of base32 characters (not counting spaces and padding)
    /// cannot encode a whole number of bytes.
    #[error("{symbols} base32 characters cannot be a complete key: a character is probably missing or extra")]
    InvalidLength {
        /// Number of alphabet characters found.
        symbols: usize,
    },
    /// Padding was present but of the wrong length.
    #[error("wrong padding: this text needs {expected} '=' characters at the end (or none), but has {found}")]
    WrongPadding {
        /// How many `=` the data length requires.
        expected: usize,
        /// How many were found.
        found: usize,
    },
    /// The last character carries bits that a correct encoding leaves at
    /// zero (RFC 4648 section 3.5), so the text was not produced by an
    /// encoder; it is probably mistyped.
    #[error(
        "character {character:?} at position {position} cannot end a base32 text of this length: it is probably mistyped"
    )]
    NonZeroTrailingBits {
        /// The offending character (as typed).
        character: char,
        /// Its 1-based character position in the input.
        position: usize,
    },
}

/// Characters people type instead of look-alike base32 letters.
fn lookalike_hint(c: char) -> &'static str {
    match c {
        '0' => " (the digit 0 is not used: did you mean the letter O?)",
        '1' => " (the digit 1 is not used: did you mean the letter I or L?)",
        '8' => " (the digit 8 is not used: did you mean the letter B?)",
        _ => "",
    }
}

/// Decodes RFC 4648 base32, tolerating the things users do (see the module
/// documentation): lower case, spaces/tabs, missing padding.
///
/// `decode("")` is `Ok(vec![])` as RFC 4648 section 10 requires; callers that
/// need a non-empty result (such as [`crate::Secret::from_base32`]) check
/// that themselves.
pub fn decode(text: &str) -> Result<Vec<u8>, Base32Error> {
    // The input is usually a secret key, so the normalised copy is wiped.
    let mut symbols = Zeroizing::new(Vec::with_capacity(text.len()));
    // 1-based input position of each kept symbol, to report errors found
    // by data-encoding (which only sees the normalised text) in terms of
    // what the user typed.
    let mut positions = Vec::with_capacity(text.len());
    let mut padding = 0usize;

    for (index, character) in text.chars().enumerate() {
        let position = index + 1;
        match character {
            ' ' | '\t' => {}
            '=' => padding += 1,
            'A'..='Z' | 'a'..='z' | '2'..='7' => {
                if padding > 0 {
                    return Err(Base32Error::CharacterAfterPadding { character, position });
                }
                // The match arm guarantees ASCII, so `as u8` is exact.
                symbols.push((character as u8).to_ascii_uppercase());
                positions.push(position);
            }
            _ => {
                return Err(Base32Error::InvalidCharacter { character, position });
            }
        }
    }

    let len = symbols.len();
    // 8 symbols carry 5 bytes; the partial final block of a valid encoding
    // has 2, 4, 5 or 7 symbols (1, 2, 3 or 4 bytes).
    if matches!(len % 8, 1 | 3 | 6) {
        return Err(Base32Error::InvalidLength { symbols: len });
    }
    if padding > 0 {
        let expected = (8 - len % 8) % 8;
        if padding != expected {
            return Err(Base32Error::WrongPadding { expected, found: padding });
        }
    }

    let out_len = BASE32_NOPAD.decode_len(len).map_err(|_| Base32Error::InvalidLength { symbols: len })?;
    let mut out = Zeroizing::new(vec![0u8; out_len]);
    match BASE32_NOPAD.decode_mut(&symbols, &mut out) {
        Ok(written) => {
            out.truncate(written);
            Ok(std::mem::take(&mut *out))
        }
        Err(partial) => {
            let index = partial.error.position;
            let position = positions.get(index).copied().unwrap_or(0);
            let character = text.chars().nth(position.saturating_sub(1)).unwrap_or('?');
            Err(match partial.error.kind {
                DecodeKind::Trailing => Base32Error::NonZeroTrailingBits { character, position },
                // Not reachable after the checks above; mapped rather than
                // unwrapped so that a change in data-encoding cannot panic.
                DecodeKind::Symbol => Base32Error::InvalidCharacter { character, position },
                DecodeKind::Length | DecodeKind::Padding => Base32Error::InvalidLength { symbols: len },
            })
        }
    }
}

/// Encodes as upper-case RFC 4648 base32 without padding (the form used in
/// `otpauth://` URIs).
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    BASE32_NOPAD.encode(bytes)
}

/// Encodes like [`encode`] but in groups of four characters separated by
/// single spaces ("JBSW Y3DP EHPK 3PXP"), for a person to read and type:
/// a 160-bit secret becomes 8 groups of 4. The last group may be shorter.
/// [`decode`] accepts this form.
#[must_use]
pub fn encode_grouped(bytes: &[u8]) -> String {
    let plain = Zeroizing::new(encode(bytes));
    let mut out = String::with_capacity(plain.len() + plain.len() / 4);
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// RFC 4648 section 10.
    const RFC_VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "MY======"),
        ("fo", "MZXQ===="),
        ("foo", "MZXW6==="),
        ("foob", "MZXW6YQ="),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI======"),
    ];

    #[test]
    fn rfc4648_vectors_padded() {
        for (plain, coded) in RFC_VECTORS {
            assert_eq!(decode(coded).unwrap(), plain.as_bytes(), "{coded}");
        }
    }

    #[test]
    fn rfc4648_vectors_unpadded_and_encode() {
        for (plain, coded) in RFC_VECTORS {
            let unpadded = coded.trim_end_matches('=');
            assert_eq!(decode(unpadded).unwrap(), plain.as_bytes(), "{coded}");
            assert_eq!(encode(plain.as_bytes()), unpadded);
        }
    }

    #[test]
    fn lower_case_and_mixed_case() {
        for (plain, coded) in RFC_VECTORS {
            assert_eq!(decode(&coded.to_lowercase()).unwrap(), plain.as_bytes());
        }
        assert_eq!(decode("mZxW6yTbOi").unwrap(), b"foobar");
    }

    #[test]
    fn spaces_and_tabs_ignored_anywhere() {
        assert_eq!(decode("MZXW 6YTB OI").unwrap(), b"foobar");
        assert_eq!(decode("  MZ\tXW6Y TBOI  ").unwrap(), b"foobar");
        assert_eq!(decode("MZXW6YTBOI ====== ").unwrap(), b"foobar");
        assert_eq!(decode("MZXW6YTBOI= = = = = =").unwrap(), b"foobar");
        assert_eq!(decode(" \t ").unwrap(), b"");
    }

    #[test]
    fn grouped_encoding() {
        assert_eq!(encode_grouped(b""), "");
        assert_eq!(encode_grouped(b"f"), "MY");
        assert_eq!(encode_grouped(b"foobar"), "MZXW 6YTB OI");
        assert_eq!(encode_grouped(b"fooba"), "MZXW 6YTB");
        let key = b"12345678901234567890";
        let grouped = encode_grouped(key);
        assert_eq!(grouped, "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        assert_eq!(decode(&grouped).unwrap(), key);
    }

    #[test]
    fn invalid_characters_are_named_with_position() {
        let err = decode("JBSW1Y3DP").unwrap_err();
        assert_eq!(err, Base32Error::InvalidCharacter { character: '1', position: 5 });
        assert_eq!(
            err.to_string(),
            "invalid character '1' at position 5: base32 uses only the letters A–Z and digits 2–7 \
             (the digit 1 is not used: did you mean the letter I or L?)"
        );
        assert_eq!(decode("ab-cd").unwrap_err(), Base32Error::InvalidCharacter { character: '-', position: 3 });
        assert_eq!(decode("MZXW\n6YTB").unwrap_err(), Base32Error::InvalidCharacter { character: '\n', position: 5 });
        // Positions count characters, not UTF-8 bytes.
        assert_eq!(decode("éé9").unwrap_err(), Base32Error::InvalidCharacter { character: 'é', position: 1 });
        assert_eq!(
            decode("AB\u{a0}CD").unwrap_err(),
            Base32Error::InvalidCharacter { character: '\u{a0}', position: 3 }
        );
        let err = decode("MZXW6YTB9").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid character '9' at position 9: base32 uses only the letters A–Z and digits 2–7"
        );
        assert!(decode("0").unwrap_err().to_string().contains("letter O"), "hint for 0");
        assert!(decode("8").unwrap_err().to_string().contains("letter B"), "hint for 8");
        // Control characters are escaped in the message, not printed raw.
        assert!(decode("\u{1b}[2J").unwrap_err().to_string().starts_with("invalid character '\\u{1b}' at position 1"));
    }

    #[test]
    fn character_after_padding() {
        assert_eq!(decode("MY==ZZ==").unwrap_err(), Base32Error::CharacterAfterPadding { character: 'Z', position: 5 });
        assert_eq!(decode("=MY").unwrap_err(), Base32Error::CharacterAfterPadding { character: 'M', position: 2 });
    }

    #[test]
    fn impossible_lengths() {
        for (text, symbols) in [("M", 1), ("MZX", 3), ("MZXW6Y", 6), ("MZXW6YTBM", 9)] {
            assert_eq!(decode(text).unwrap_err(), Base32Error::InvalidLength { symbols }, "{text}");
        }
        assert_eq!(decode("M=======").unwrap_err(), Base32Error::InvalidLength { symbols: 1 });
    }

    #[test]
    fn wrong_padding() {
        assert_eq!(decode("MY=====").unwrap_err(), Base32Error::WrongPadding { expected: 6, found: 5 });
        assert_eq!(decode("MY=======").unwrap_err(), Base32Error::WrongPadding { expected: 6, found: 7 });
        assert_eq!(decode("MZXW6YTB=").unwrap_err(), Base32Error::WrongPadding { expected: 0, found: 1 });
        assert_eq!(decode("=").unwrap_err(), Base32Error::WrongPadding { expected: 0, found: 1 });
    }

    #[test]
    fn non_zero_trailing_bits() {
        // "MY" is 'f'; in "MZ" the last symbol sets bits beyond the 8 used.
        assert_eq!(decode("MZ").unwrap_err(), Base32Error::NonZeroTrailingBits { character: 'Z', position: 2 });
        // Reported at the position the user typed, lower case preserved.
        assert_eq!(decode("mzxw 6yr").unwrap_err(), Base32Error::NonZeroTrailingBits { character: 'r', position: 8 });
        assert_eq!(decode("mzxw 6yr=").unwrap_err(), Base32Error::NonZeroTrailingBits { character: 'r', position: 8 });
    }
}
