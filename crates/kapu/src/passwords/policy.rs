use std::collections::HashSet;
use std::sync::LazyLock;

use serde::Deserialize;

use super::Password;

/// NIST SP 800-63B: at least 8 characters when the password is one factor of
/// a multi-factor login, as here.
pub const NIST_MIN_LEN: usize = 8;
/// NIST SP 800-63B: verifiers should permit at least 64 characters.
pub const NIST_MIN_MAX_LEN: usize = 64;

static COMMON_PASSWORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("common-passwords.txt").lines().map(fold).filter(|entry| !entry.is_empty()).collect()
});

/// What a new password must satisfy (the `[password_policy]` config section).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    /// Minimum length in characters, ignoring leading and trailing
    /// whitespace. At least 8.
    pub min_len: usize,
    /// Maximum length in characters (Unicode scalar values, not bytes). At
    /// least 64.
    pub max_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_len: NIST_MIN_LEN, max_len: 128 }
    }
}

/// Why a new password was refused. Fine-grained on purpose: the page layer
/// turns each into its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRejection {
    /// Fewer than `min` characters (leading and trailing whitespace do not
    /// count).
    TooShort { min: usize },
    /// More than `max` characters.
    TooLong { max: usize },
    /// On the shipped list of common passwords (compared case-insensitively,
    /// trimmed, and with Hungarian accents folded).
    Common,
    /// Equals or contains the user's own username, name or e-mail local part.
    ContainsContext,
    /// Contains a control character (newline, tab, NUL, ...): almost always a
    /// paste accident, and hard to type again at the next login.
    ControlCharacters,
}

impl PasswordPolicy {
    /// Checks the configured limits; the message names the offending option.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_len < NIST_MIN_LEN {
            return Err(format!(
                "password_policy.min_len must be at least {NIST_MIN_LEN} (NIST SP 800-63B), got {}",
                self.min_len
            ));
        }
        if self.max_len < NIST_MIN_MAX_LEN {
            return Err(format!(
                "password_policy.max_len must be at least {NIST_MIN_MAX_LEN} (NIST SP 800-63B), got {}",
                self.max_len
            ));
        }
        if self.max_len < self.min_len {
            return Err(format!(
                "password_policy.max_len ({}) must not be below password_policy.min_len ({})",
                self.max_len, self.min_len
            ));
        }
        Ok(())
    }

    /// Checks a newly chosen password. `context` holds words the password
    /// must not be built from: the username, the person's name, the e-mail
    /// address (only its local part is used; names are also split into
    /// words). Context words shorter than 4 characters are ignored, since
    /// they would reject too many good passwords.
    ///
    /// The first failing rule is returned, in this order: too long, control
    /// characters, too short, common, contains context.
    pub fn check(&self, password: &Password, context: &[&str]) -> Result<(), PasswordRejection> {
        let raw = password.expose();
        // Counting stops at max + 1, so a megabyte paste costs no more than
        // a 129-character one.
        if raw.chars().nth(self.max_len).is_some() {
            return Err(PasswordRejection::TooLong { max: self.max_len });
        }
        if raw.chars().any(char::is_control) {
            return Err(PasswordRejection::ControlCharacters);
        }
        if raw.trim().chars().count() < self.min_len {
            return Err(PasswordRejection::TooShort { min: self.min_len });
        }
        let folded = zeroize::Zeroizing::new(fold(raw));
        if COMMON_PASSWORDS.contains(folded.as_str()) {
            return Err(PasswordRejection::Common);
        }
        if context_words(context).any(|word| folded.contains(word.as_str())) {
            return Err(PasswordRejection::ContainsContext);
        }
        Ok(())
    }
}

/// Context words worth checking: each entry whole and split into words, an
/// e-mail reduced to its local part, all folded, at least 4 characters.
fn context_words<'a>(context: &'a [&'a str]) -> impl Iterator<Item = String> + 'a {
    context.iter().flat_map(|entry| {
        // The domain is shared by many users ("gmail") and says nothing
        // about this one.
        let local = entry.rsplit_once('@').map_or(*entry, |(local, _)| local);
        std::iter::once(local)
            .chain(local.split(|c: char| c.is_whitespace() || ".-_+".contains(c)))
            .map(fold)
            .filter(|word| word.chars().count() >= 4)
    })
}

/// Lower case, trimmed, with Hungarian accents removed, so that "Jelszó123",
/// "jelszo123" and "JELSZÓ123" compare equal. Combining marks are dropped
/// too: that is what a decomposed (NFD) "ó" leaves after its base letter.
fn fold(s: &str) -> String {
    s.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            // ô, õ, û: what Latin-1 keyboards and code pages make of ő and ű.
            'ó' | 'ö' | 'ő' | 'ô' | 'õ' => 'o',
            'ú' | 'ü' | 'ű' | 'û' => 'u',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::new(s.to_owned())
    }

    fn check(s: &str) -> Result<(), PasswordRejection> {
        PasswordPolicy::default().check(&pw(s), &[])
    }

    #[test]
    fn defaults_and_validation() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.min_len, 8);
        assert_eq!(policy.max_len, 128);
        assert_eq!(policy.validate(), Ok(()));

        let too_low = PasswordPolicy { min_len: 6, ..PasswordPolicy::default() };
        assert!(too_low.validate().is_err_and(|e| e.contains("min_len")));
        let short_max = PasswordPolicy { max_len: 32, ..PasswordPolicy::default() };
        assert!(short_max.validate().is_err_and(|e| e.contains("max_len")));
        let inverted = PasswordPolicy { min_len: 100, max_len: 64 };
        assert!(inverted.validate().is_err());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn deserializes_with_defaults_and_rejects_unknown_fields() {
        let p: PasswordPolicy = serde_json::from_str(r#"{"min_len": 10}"#).unwrap();
        assert_eq!(p, PasswordPolicy { min_len: 10, max_len: 128 });
        assert!(serde_json::from_str::<PasswordPolicy>(r#"{"min_length": 10}"#).is_err());
    }

    #[test]
    fn too_short() {
        assert_eq!(check("kX7#pQ2"), Err(PasswordRejection::TooShort { min: 8 }));
        // Padding with spaces does not make a password longer.
        assert_eq!(check("  kX7#p  "), Err(PasswordRejection::TooShort { min: 8 }));
        assert_eq!(check("kX7#pQ2z"), Ok(()));
    }

    #[test]
    fn max_length_counts_characters_not_bytes() {
        // 'é' is 2 bytes in UTF-8: 128 of them are 256 bytes but 128 characters.
        assert_eq!(check(&"é".repeat(128)), Ok(()));
        assert_eq!(check(&"é".repeat(129)), Err(PasswordRejection::TooLong { max: 128 }));
        assert_eq!(check(&"a".repeat(1_000_000)), Err(PasswordRejection::TooLong { max: 128 }));
    }

    #[test]
    fn control_characters() {
        for bad in [
            "correct horse\nbattery",
            "tab\there-and-there",
            "nul\0inside-it",
            "del\u{7f}character",
            "c1\u{85}next-line",
        ] {
            assert_eq!(check(bad), Err(PasswordRejection::ControlCharacters), "{bad:?}");
        }
    }

    #[test]
    fn common_passwords_are_rejected_case_insensitively_and_trimmed() {
        for bad in ["password", "PASSWORD", "  Password1 ", "12345678", "iloveyou"] {
            assert_eq!(check(bad), Err(PasswordRejection::Common), "{bad}");
        }
    }

    #[test]
    fn hungarian_common_passwords_are_rejected() {
        for bad in [
            "jelszó123",
            "Jelszo123",
            "JELSZÓ123",
            "ügyfélkapu",
            "Ugyfelkapu1",
            "magyarország",
            "Budapest1",
            "szeretlek",
            "kiskutya",
            // Decomposed accents (NFD), as some systems send them.
            "jelszo\u{301}123",
        ] {
            assert_eq!(check(bad), Err(PasswordRejection::Common), "{bad}");
        }
    }

    #[test]
    fn decent_passphrases_are_accepted() {
        for good in ["hét sárga bicikli a ködben", "correct horse battery staple", "Tx9!vR2#mQ"] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn context_words_are_rejected_case_and_accent_insensitively() {
        let policy = PasswordPolicy::default();
        let ctx = ["kovacs.janos", "Kovács János", "janos.kovacs@example.hu"];
        for bad in ["kovacs.janos", "KovacsJanos", "xx-janos-1987", "Kovács 1987 tavasz", "JÁNOS!2024nyar"] {
            assert_eq!(policy.check(&pw(bad), &ctx), Err(PasswordRejection::ContainsContext), "{bad}");
        }
        assert_eq!(policy.check(&pw("tavaszi szél vizet áraszt"), &ctx), Ok(()));
    }

    #[test]
    fn short_context_words_and_email_domains_are_ignored() {
        let policy = PasswordPolicy::default();
        // "kis" and "Ede" are under 4 characters; the domain is not the user's.
        let ctx = ["Kis Ede", "ede@gmail.com"];
        assert_eq!(policy.check(&pw("kiskert-ede-gmail-77"), &ctx), Ok(()));
        assert_eq!(policy.check(&pw("my-ede@gmail-pass"), &["ede@gmail.com"]), Ok(()));
        // The whole local part still counts when it is long enough.
        assert_eq!(policy.check(&pw("zz-kisede-zz"), &["kisede@gmail.com"]), Err(PasswordRejection::ContainsContext));
    }

    #[test]
    fn shipped_list_is_lower_case_deduplicated_and_long_enough() {
        let text = include_str!("common-passwords.txt");
        assert!(text.len() < 150 * 1024, "list is {} bytes", text.len());
        let mut seen = HashSet::new();
        for line in text.lines() {
            assert!(!line.is_empty());
            assert_eq!(line, line.trim(), "{line:?}");
            assert_eq!(line, line.to_lowercase(), "{line:?}");
            assert!(line.chars().count() >= NIST_MIN_LEN, "{line:?}");
            assert!(seen.insert(line), "duplicate {line:?}");
        }
        assert!(seen.len() > 10_000);
        assert!(COMMON_PASSWORDS.len() > 10_000);
    }
}
