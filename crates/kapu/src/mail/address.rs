//! Email addresses as kapu accepts them from people and from configuration.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::MailError;

/// Longest address SMTP can carry in a path (RFC 5321 §4.5.3.1.3: 256 octets
/// including the angle brackets).
const MAX_ADDRESS_LEN: usize = 254;
/// RFC 5321 §4.5.3.1.1.
const MAX_LOCAL_PART_LEN: usize = 64;

/// A syntactically valid, deliverable-looking email address.
///
/// Beyond lettre's RFC 5322 syntax check (the authority on syntax) this is
/// deliberately narrower than the RFCs, because the address identifies an
/// account and receives single-use links:
///
/// * ASCII only. Unicode addresses need SMTPUTF8 on every hop, and without
///   Unicode normalisation the same-looking address could be registered
///   twice (composed vs. decomposed accents).
/// * Dot-atom local parts only: no quoted strings (`"a b"@x.hu`), which
///   nobody types on purpose and which smuggle quotes and spaces into places
///   that do not expect them.
/// * A domain name with a dot: no `[1.2.3.4]` literals or bare IPs (which
///   would let anyone point our relay at internal hosts), no `localhost`.
///
/// The domain is lower-cased (domains are case-insensitive); the local part
/// is kept as typed, since some servers treat it case-sensitively.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress {
    value: String,
    at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailAddressError {
    #[error("the email address is empty")]
    Empty,
    #[error("the email address is too long")]
    TooLong,
    #[error("the email address is not valid")]
    Invalid,
}

impl EmailAddress {
    /// Parses an address typed by a person (surrounding whitespace ignored).
    pub fn parse(input: &str) -> Result<EmailAddress, EmailAddressError> {
        Self::parse_with(input, true)
    }

    /// `require_dot = false` is for the configured sender only, so that the
    /// development default `noreply@localhost` works.
    fn parse_with(input: &str, require_dot: bool) -> Result<EmailAddress, EmailAddressError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        // Checked before anything that walks the string twice, so a megabyte
        // of form input costs one length comparison.
        if s.len() > MAX_ADDRESS_LEN {
            return Err(EmailAddressError::TooLong);
        }
        if !s.is_ascii() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailAddressError::Invalid);
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailAddressError::Invalid);
        };
        if local.is_empty() {
            return Err(EmailAddressError::Invalid);
        }
        if local.len() > MAX_LOCAL_PART_LEN {
            return Err(EmailAddressError::TooLong);
        }
        if local.contains(['"', '\\']) {
            return Err(EmailAddressError::Invalid);
        }
        if domain.is_empty()
            || domain.starts_with('[')
            || domain.parse::<IpAddr>().is_ok()
            || (require_dot && !domain.contains('.'))
        {
            return Err(EmailAddressError::Invalid);
        }
        let domain = domain.to_ascii_lowercase();
        lettre::Address::new(local, &domain).map_err(|_| EmailAddressError::Invalid)?;
        Ok(EmailAddress { value: format!("{local}@{domain}"), at: local.len() })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn local_part(&self) -> &str {
        &self.value[..self.at]
    }

    pub fn domain(&self) -> &str {
        &self.value[self.at + 1..]
    }

    pub(crate) fn to_lettre(&self) -> Result<lettre::Address, MailError> {
        lettre::Address::new(self.local_part(), self.domain())
            .map_err(|_| MailError::Address(EmailAddressError::Invalid))
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({:?})", self.value)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl FromStr for EmailAddress {
    type Err = EmailAddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailAddress::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailAddressError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(a: EmailAddress) -> String {
        a.value
    }
}

impl serde::Serialize for EmailAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.value)
    }
}

impl<'de> serde::Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EmailAddress::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The `From:` of outgoing mail: an optional display name and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: Option<String>,
    pub address: EmailAddress,
}

impl Sender {
    /// Parses `noreply@example.hu` or `Ügyfélkapu <noreply@example.hu>`.
    ///
    /// Unlike [`EmailAddress::parse`] the domain needs no dot, because the
    /// operator chooses it and `localhost` is the development default.
    pub fn parse(input: &str) -> Result<Sender, MailError> {
        let bad = |why: &str| {
            MailError::Config(format!("mail.from = {input:?} {why}; expected e.g. \"kapu <noreply@example.hu>\""))
        };
        let mailbox: lettre::message::Mailbox = input.trim().parse().map_err(|_| bad("is not a valid mailbox"))?;
        let address = EmailAddress::parse_with(mailbox.email.as_ref(), false)
            .map_err(|e| bad(&format!("has an unusable address ({e})")))?;
        let name = mailbox.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if name.as_deref().is_some_and(|n| n.chars().any(char::is_control)) {
            return Err(bad("has control characters in the name"));
        }
        Ok(Sender { name, address })
    }
}

impl From<EmailAddress> for Sender {
    fn from(address: EmailAddress) -> Sender {
        Sender { name: None, address }
    }
}
