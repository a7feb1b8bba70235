//! Identity domain types: the "4T" an office reads from a document, the
//! document itself, a verified identity, and the single-use code that binds
//! an office's verification to the citizen's account. A value that exists
//! is valid: input is parsed once, at the edge.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// A name as written on a document (family name, given names, place of
/// birth): 1–100 characters, letters of any alphabet, spaces, hyphens,
/// apostrophes and dots; inner white space collapsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    InvalidCharacters,
}

impl PersonName {
    pub const MAX: usize = 100;

    pub fn parse(input: &str) -> Result<Self, NameError> {
        let s = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.chars().count() > Self::MAX {
            return Err(NameError::TooLong);
        }
        if !s.chars().all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.' | '’')) {
            return Err(NameError::InvalidCharacters);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For values read back from the database, which were valid when written.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

/// A date of birth: a real date, not in the future, not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct BirthDate(jiff::civil::Date);

impl From<BirthDate> for String {
    fn from(d: BirthDate) -> String {
        d.iso()
    }
}

impl TryFrom<String> for BirthDate {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::from_stored(&s).ok_or(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthDateError {
    /// Not a date in `ÉÉÉÉ-HH-NN` (or `ÉÉÉÉ.HH.NN.`) form.
    Format,
    /// In the future, or before 1900.
    OutOfRange,
}

impl BirthDate {
    /// `1980-05-17`, or as Hungarians write it, `1980.05.17.`; `today` bounds it.
    pub fn parse(input: &str, today: jiff::civil::Date) -> Result<Self, BirthDateError> {
        let s = input.trim().trim_end_matches('.').replace(". ", "-").replace('.', "-");
        let date: jiff::civil::Date = s.parse().map_err(|_| BirthDateError::Format)?;
        if date > today || date.year() < 1900 {
            return Err(BirthDateError::OutOfRange);
        }
        Ok(Self(date))
    }

    /// ISO 8601 (`1980-05-17`): stored, and the `birthdate` claim.
    pub fn iso(&self) -> String {
        self.0.to_string()
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        s.parse().ok().map(Self)
    }
}

/// The "4T" (négy természetes személyazonosító adat) and the name in use:
/// what an office verifies and a service may receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalData {
    pub family_name: PersonName,
    pub given_name: PersonName,
    pub birth_family_name: PersonName,
    pub birth_given_name: PersonName,
    pub mother_birth_name: PersonName,
    pub place_of_birth: PersonName,
    pub birth_date: BirthDate,
}

impl PersonalData {
    /// What makes two verifications the same person: the birth data, in
    /// one spelling (case and spaces do not matter). The name in use may
    /// change (marriage); the 4T do not.
    pub fn person_key_input(&self) -> String {
        let norm = |n: &PersonName| n.as_str().to_lowercase();
        [
            norm(&self.birth_family_name),
            norm(&self.birth_given_name),
            norm(&self.mother_birth_name),
            norm(&self.place_of_birth),
            self.birth_date.iso(),
        ]
        .join("\u{1f}")
    }
}

/// The kind of document the office checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Személyazonosító igazolvány.
    IdCard,
    /// Útlevél.
    Passport,
    /// Vezetői engedély.
    DrivingLicence,
    /// Tartózkodási kártya.
    ResidenceCard,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 4] =
        [DocumentKind::IdCard, DocumentKind::Passport, DocumentKind::DrivingLicence, DocumentKind::ResidenceCard];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::IdCard => "id_card",
            DocumentKind::Passport => "passport",
            DocumentKind::DrivingLicence => "driving_licence",
            DocumentKind::ResidenceCard => "residence_card",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// The evidence's `document_details.type` of OpenID Connect for Identity
    /// Assurance (the predefined values).
    pub fn ida_type(self) -> &'static str {
        match self {
            DocumentKind::IdCard => "idcard",
            DocumentKind::Passport => "passport",
            DocumentKind::DrivingLicence => "driving_permit",
            DocumentKind::ResidenceCard => "residence_permit",
        }
    }
}

/// A document number: 5–20 letters and digits, kept in upper case without
/// spaces. Stored only sealed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocumentNumber(String);

impl std::fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentNumber(..)")
    }
}

impl DocumentNumber {
    pub fn parse(input: &str) -> Option<Self> {
        let s: String = input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
        ((5..=20).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric())).then_some(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The document an office checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocumentKind,
    pub number: DocumentNumber,
}

/// Who verified, where: a clerk's name and an office, 1–200 characters
/// without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeRecord {
    pub clerk: String,
    pub office: String,
}

/// An identity bound to an account. The document's number is not here: it
/// stays sealed in the database, and no page or token shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub data: PersonalData,
    pub document_kind: DocumentKind,
    pub clerk: String,
    pub office: String,
    pub verified_at: UnixTime,
}

/// The single-use code that binds an office's verification to an account:
/// 16 characters of Crockford's base32 (80 bits), shown in groups of four.
/// Typed, it forgives case, spaces, dashes, and O/I/L for 0/1/1.
#[derive(Clone, PartialEq, Eq)]
pub struct BindingCode(String);

impl std::fmt::Debug for BindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BindingCode(..)")
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl BindingCode {
    pub const LEN: usize = 16;

    /// A new code from the OS random source.
    pub fn generate() -> Self {
        use rand_core::RngCore;
        let mut bytes = [0u8; Self::LEN];
        rand_core::OsRng.fill_bytes(&mut bytes);
        // 256 is a multiple of 32: the low five bits of a byte are uniform.
        Self(bytes.iter().map(|b| CROCKFORD[usize::from(b & 31)] as char).collect())
    }

    pub fn parse(input: &str) -> Option<Self> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            })
            .collect();
        (s.len() == Self::LEN && s.bytes().all(|b| CROCKFORD.contains(&b))).then_some(Self(s))
    }

    /// `ABCD-EFGH-JKMN-PQRS`: as printed on the clerk's slip and in the letter.
    pub fn grouped(&self) -> String {
        self.0.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
    }

    /// The canonical form, for hashing.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn today() -> jiff::civil::Date {
        jiff::civil::date(2026, 12, 3)
    }

    #[test]
    fn names_are_letters_of_any_alphabet() {
        assert_eq!(PersonName::parse("  Szűcs   Imre ").unwrap().as_str(), "Szűcs Imre");
        assert!(PersonName::parse("O'Brien-Kovács Dr.").is_ok());
        assert_eq!(PersonName::parse(" "), Err(NameError::Empty));
        assert_eq!(PersonName::parse("Imre1"), Err(NameError::InvalidCharacters));
        assert_eq!(PersonName::parse("<script>"), Err(NameError::InvalidCharacters));
        assert_eq!(PersonName::parse(&"a".repeat(101)), Err(NameError::TooLong));
    }

    #[test]
    fn birth_dates_are_real_and_past() {
        assert_eq!(BirthDate::parse("1980-05-17", today()).unwrap().iso(), "1980-05-17");
        assert_eq!(BirthDate::parse("1980.05.17.", today()).unwrap().iso(), "1980-05-17");
        assert_eq!(BirthDate::parse("1980. 05. 17.", today()).unwrap().iso(), "1980-05-17");
        assert_eq!(BirthDate::parse("1980-02-30", today()), Err(BirthDateError::Format));
        assert_eq!(BirthDate::parse("tegnap", today()), Err(BirthDateError::Format));
        assert_eq!(BirthDate::parse("2027-01-01", today()), Err(BirthDateError::OutOfRange));
        assert_eq!(BirthDate::parse("1899-12-31", today()), Err(BirthDateError::OutOfRange));
    }

    #[test]
    fn binding_codes_forgive_how_they_are_typed() {
        let code = BindingCode::generate();
        assert_eq!(code.as_str().len(), 16);
        let grouped = code.grouped();
        assert_eq!(grouped.len(), 19);
        assert_eq!(BindingCode::parse(&grouped.to_lowercase()).unwrap(), code);
        assert_eq!(BindingCode::parse("o1il 2345 6789 abcd").unwrap().as_str(), "011123456789ABCD");
        assert!(BindingCode::parse("ABCD-EFGH-JKMN-PQR").is_none(), "too short");
        assert!(BindingCode::parse("ABCD-EFGH-JKMN-PQRU").is_none(), "U is not in the alphabet");
        assert_ne!(BindingCode::generate(), BindingCode::generate());
    }

    #[test]
    fn the_person_key_ignores_the_name_in_use_and_spelling_case() {
        let p = |family: &str, birth: &str| PersonalData {
            family_name: PersonName::parse(family).unwrap(),
            given_name: PersonName::parse("Anna").unwrap(),
            birth_family_name: PersonName::parse(birth).unwrap(),
            birth_given_name: PersonName::parse("Anna").unwrap(),
            mother_birth_name: PersonName::parse("Kiss Mária").unwrap(),
            place_of_birth: PersonName::parse("Budapest").unwrap(),
            birth_date: BirthDate::parse("1990-01-02", today()).unwrap(),
        };
        assert_eq!(p("Nagy", "Kovács").person_key_input(), p("Szabó", "KOVÁCS").person_key_input());
        assert_ne!(p("Nagy", "Kovács").person_key_input(), p("Nagy", "Kovácz").person_key_input());
    }

    #[test]
    fn document_numbers_are_letters_and_digits() {
        assert_eq!(DocumentNumber::parse("123456 ab").unwrap().as_str(), "123456AB");
        assert!(DocumentNumber::parse("12 3").is_none());
        assert!(DocumentNumber::parse("12345678901234567890X").is_none());
        assert!(DocumentNumber::parse("1234;DROP").is_none());
        assert_eq!(format!("{:?}", DocumentNumber::parse("123456AB").unwrap()), "DocumentNumber(..)");
    }
}
