//! National identifiers with exact check-character validation.
//!
//! A wrong identifier is worse than a missing one: it can join two children. Every identifier
//! that enters Kith is parsed into one of these types first; the error says what is wrong and,
//! where the check character is the problem, what it should have been.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The FHIR identifier system of the NHS number.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// Which national identifier a value claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum IdentifierKind {
    /// NHS number (England, Wales, Isle of Man).
    NhsNumber,
    /// Unique Pupil Number issued by a school or local authority.
    Upn,
    /// Police National Computer identifier.
    PncId,
}

impl IdentifierKind {
    /// The short system name used in extracts and in the store.
    pub fn system(self) -> &'static str {
        match self {
            IdentifierKind::NhsNumber => "nhs",
            IdentifierKind::Upn => "upn",
            IdentifierKind::PncId => "pnc",
        }
    }

    /// The human name used in messages.
    pub fn label(self) -> &'static str {
        match self {
            IdentifierKind::NhsNumber => "NHS number",
            IdentifierKind::Upn => "UPN",
            IdentifierKind::PncId => "PNC ID",
        }
    }
}

/// What is wrong with an identifier value; `code()` gives a stable machine-readable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentErrorKind {
    /// Wrong number of characters after removing spaces and hyphens.
    Length {
        expected: &'static str,
        found: usize,
    },
    /// A character that is not allowed at this position.
    BadCharacter { position: usize, found: char },
    /// The check character does not match the rest of the value.
    CheckCharacter { expected: char, found: char },
    /// Modulus 11 gives 10 for these nine digits, so no valid NHS number starts with them.
    CheckIsTen,
}

impl IdentErrorKind {
    /// A stable code for reports and APIs, e.g. `nhs.check`.
    pub fn code(&self) -> &'static str {
        match self {
            IdentErrorKind::Length { .. } => "length",
            IdentErrorKind::BadCharacter { .. } => "character",
            IdentErrorKind::CheckCharacter { .. } => "check",
            IdentErrorKind::CheckIsTen => "check-is-ten",
        }
    }
}

/// An identifier that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {} `{value}`: {}", kind.label(), describe(problem, *kind))]
pub struct IdentError {
    pub kind: IdentifierKind,
    pub value: String,
    pub problem: IdentErrorKind,
}

impl IdentError {
    /// A stable code such as `nhs.check` or `upn.length`.
    pub fn code(&self) -> String {
        format!("{}.{}", self.kind.system(), self.problem.code())
    }

    /// The check character the value should have carried, when that is the problem.
    pub fn expected_check(&self) -> Option<char> {
        match self.problem {
            IdentErrorKind::CheckCharacter { expected, .. } => Some(expected),
            _ => None,
        }
    }
}

fn describe(problem: &IdentErrorKind, kind: IdentifierKind) -> String {
    let check_word = if kind == IdentifierKind::NhsNumber {
        "check digit"
    } else {
        "check letter"
    };
    match problem {
        IdentErrorKind::Length { expected, found } => {
            format!("expected {expected}, found {found} characters")
        }
        IdentErrorKind::BadCharacter { position, found } => {
            format!("character {position} `{found}` is not allowed there")
        }
        IdentErrorKind::CheckCharacter { expected, .. } => {
            format!("{check_word} should be {expected}")
        }
        IdentErrorKind::CheckIsTen => {
            "modulus 11 check gives 10, so no valid NHS number has these first nine digits".into()
        }
    }
}

/// Strips the separators people type inside identifiers (spaces, hyphens).
fn compact(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

// ---------------------------------------------------------------------------------------------
// NHS number

/// A 10-digit NHS number whose Modulus 11 check digit is correct.
///
/// Displays in the 3-3-4 format (`943 476 5919`); [`NhsNumber::as_str`] gives the bare digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber(String);

impl NhsNumber {
    /// The Modulus 11 check digit for nine leading digits, or `None` when it would be 10.
    pub fn check_digit(first_nine: &[u8; 9]) -> Option<u8> {
        let sum: u32 = first_nine
            .iter()
            .zip((2..=10u32).rev())
            .map(|(digit, weight)| u32::from(*digit) * weight)
            .sum();
        match 11 - (sum % 11) {
            11 => Some(0),
            10 => None,
            check => u8::try_from(check).ok(),
        }
    }

    /// The ten digits with no separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NhsNumber {
    type Err = IdentError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let value = compact(raw);
        let fail = |problem| IdentError {
            kind: IdentifierKind::NhsNumber,
            value: raw.trim().to_string(),
            problem,
        };
        let chars: Vec<char> = value.chars().collect();
        if chars.len() != 10 {
            return Err(fail(IdentErrorKind::Length {
                expected: "10 digits",
                found: chars.len(),
            }));
        }
        let mut digits = [0u8; 10];
        for (index, c) in chars.iter().enumerate() {
            match c.to_digit(10) {
                Some(d) => digits[index] = d as u8,
                None => {
                    return Err(fail(IdentErrorKind::BadCharacter {
                        position: index + 1,
                        found: *c,
                    }));
                }
            }
        }
        let mut first_nine = [0u8; 9];
        first_nine.copy_from_slice(&digits[..9]);
        match NhsNumber::check_digit(&first_nine) {
            None => Err(fail(IdentErrorKind::CheckIsTen)),
            Some(check) if check != digits[9] => Err(fail(IdentErrorKind::CheckCharacter {
                expected: char::from(b'0' + check),
                found: chars[9],
            })),
            Some(_) => Ok(NhsNumber(value)),
        }
    }
}

impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        write!(f, "{} {} {}", &s[..3], &s[3..6], &s[6..])
    }
}

// ---------------------------------------------------------------------------------------------
// UPN

/// The 23 check letters of the UPN scheme (no I, O or S).
pub const UPN_CHECK_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// A Unique Pupil Number: check letter, LA code, establishment, year, serial.
///
/// A temporary UPN has a 2-digit serial followed by a letter from the check-letter table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Upn(String);

impl Upn {
    /// The check letter for characters 2–13 of a UPN (`body` is those 12 characters).
    ///
    /// Returns `None` when the body has a character the scheme does not allow.
    pub fn check_letter(body: &str) -> Option<char> {
        let chars: Vec<char> = body.chars().collect();
        if chars.len() != 12 {
            return None;
        }
        let mut sum = 0u32;
        for (offset, c) in chars.iter().enumerate() {
            let position = offset as u32 + 2;
            let value = if offset == 11 && c.is_ascii_uppercase() {
                upn_letter_index(*c)?
            } else {
                c.to_digit(10)?
            };
            sum += value * position;
        }
        Some(char::from(UPN_CHECK_LETTERS[(sum % 23) as usize]))
    }

    /// Whether this is a temporary UPN (ends in a letter).
    pub fn is_temporary(&self) -> bool {
        self.0.ends_with(|c: char| c.is_ascii_alphabetic())
    }

    /// The 3-digit local-authority code.
    pub fn la_code(&self) -> &str {
        &self.0[1..4]
    }

    /// The 13 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn upn_letter_index(c: char) -> Option<u32> {
    UPN_CHECK_LETTERS
        .iter()
        .position(|l| char::from(*l) == c)
        .map(|p| p as u32)
}

impl FromStr for Upn {
    type Err = IdentError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let value = compact(raw).to_ascii_uppercase();
        let fail = |problem| IdentError {
            kind: IdentifierKind::Upn,
            value: raw.trim().to_string(),
            problem,
        };
        let chars: Vec<char> = value.chars().collect();
        if chars.len() != 13 {
            return Err(fail(IdentErrorKind::Length {
                expected: "13 characters",
                found: chars.len(),
            }));
        }
        if upn_letter_index(chars[0]).is_none() {
            return Err(fail(IdentErrorKind::BadCharacter {
                position: 1,
                found: chars[0],
            }));
        }
        for (offset, c) in chars.iter().enumerate().skip(1) {
            let last_may_be_letter = offset == 12 && upn_letter_index(*c).is_some();
            if !c.is_ascii_digit() && !last_may_be_letter {
                return Err(fail(IdentErrorKind::BadCharacter {
                    position: offset + 1,
                    found: *c,
                }));
            }
        }
        let body: String = chars[1..].iter().collect();
        let expected = Upn::check_letter(&body).ok_or_else(|| {
            fail(IdentErrorKind::BadCharacter {
                position: 13,
                found: chars[12],
            })
        })?;
        if expected != chars[0] {
            return Err(fail(IdentErrorKind::CheckCharacter {
                expected,
                found: chars[0],
            }));
        }
        Ok(Upn(value))
    }
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// PNC ID

/// The 23 check letters of the PNC ID scheme; a remainder of 0 maps to Z.
pub const PNC_CHECK_LETTERS: &[u8; 23] = b"ZABCDEFGHJKLMNPQRTUVWXY";

/// A Police National Computer identifier, `YYYY/NNNNNNNC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PncId {
    year: u16,
    serial: u32,
    check: char,
}

impl PncId {
    /// The check letter for a year and a serial number (at most 7 digits).
    pub fn check_letter(year: u16, serial: u32) -> char {
        let number = u64::from(year % 100) * 10_000_000 + u64::from(serial);
        char::from(PNC_CHECK_LETTERS[(number % 23) as usize])
    }

    /// Builds a PNC ID from its parts, computing the check letter.
    pub fn new(year: u16, serial: u32) -> Option<PncId> {
        (serial < 10_000_000 && (1000..=9999).contains(&year)).then(|| PncId {
            year,
            serial,
            check: PncId::check_letter(year, serial),
        })
    }
}

impl FromStr for PncId {
    type Err = IdentError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let value: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let fail = |problem| IdentError {
            kind: IdentifierKind::PncId,
            value: raw.trim().to_string(),
            problem,
        };
        let Some((year_part, rest)) = value.split_once('/') else {
            return Err(fail(IdentErrorKind::Length {
                expected: "the form YYYY/NNNNNNNC",
                found: value.chars().count(),
            }));
        };
        if year_part.len() != 4 || rest.len() < 2 || rest.len() > 8 {
            return Err(fail(IdentErrorKind::Length {
                expected: "the form YYYY/NNNNNNNC",
                found: value.chars().count(),
            }));
        }
        for (index, c) in year_part.chars().enumerate() {
            if !c.is_ascii_digit() {
                return Err(fail(IdentErrorKind::BadCharacter {
                    position: index + 1,
                    found: c,
                }));
            }
        }
        let (serial_part, check_part) = rest.split_at(rest.len() - 1);
        for (index, c) in serial_part.chars().enumerate() {
            if !c.is_ascii_digit() {
                return Err(fail(IdentErrorKind::BadCharacter {
                    position: index + 6,
                    found: c,
                }));
            }
        }
        let year: u16 = year_part.parse().map_err(|_| {
            fail(IdentErrorKind::Length {
                expected: "the form YYYY/NNNNNNNC",
                found: value.len(),
            })
        })?;
        let serial: u32 = serial_part.parse().map_err(|_| {
            fail(IdentErrorKind::Length {
                expected: "the form YYYY/NNNNNNNC",
                found: value.len(),
            })
        })?;
        let found = check_part.chars().next().unwrap_or(' ');
        let expected = PncId::check_letter(year, serial);
        if found != expected {
            if !found.is_ascii_uppercase() {
                return Err(fail(IdentErrorKind::BadCharacter {
                    position: value.len(),
                    found,
                }));
            }
            return Err(fail(IdentErrorKind::CheckCharacter { expected, found }));
        }
        Ok(PncId {
            year,
            serial,
            check: found,
        })
    }
}

impl fmt::Display for PncId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:07}{}", self.year, self.serial, self.check)
    }
}

/// Validates `value` as an identifier of `kind` and returns its canonical text.
pub fn canonical(kind: IdentifierKind, value: &str) -> Result<String, IdentError> {
    Ok(match kind {
        IdentifierKind::NhsNumber => value.parse::<NhsNumber>()?.as_str().to_string(),
        IdentifierKind::Upn => value.parse::<Upn>()?.as_str().to_string(),
        IdentifierKind::PncId => value.parse::<PncId>()?.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nhs_err(value: &str) -> String {
        value.parse::<NhsNumber>().unwrap_err().to_string()
    }

    #[test]
    fn nhs_number_design_vectors() {
        assert!("9434765919".parse::<NhsNumber>().is_ok());
        assert_eq!(
            nhs_err("9434765918"),
            "invalid NHS number `9434765918`: check digit should be 9"
        );
        assert!("1000000060".parse::<NhsNumber>().is_ok());
        for x in 0..=9 {
            let err = format!("100000001{x}").parse::<NhsNumber>().unwrap_err();
            assert_eq!(err.problem, IdentErrorKind::CheckIsTen, "100000001{x}");
            assert_eq!(err.code(), "nhs.check-is-ten");
        }
        // Appears in published example data, yet its check digit is wrong.
        let sample = "4123456879".parse::<NhsNumber>().unwrap_err();
        assert_eq!(sample.code(), "nhs.check");
    }

    #[test]
    fn nhs_number_display_and_separators() {
        let n: NhsNumber = "943-476-5919".parse().unwrap();
        assert_eq!(n.to_string(), "943 476 5919");
        assert_eq!(n.as_str(), "9434765919");
        assert_eq!(
            nhs_err("94347659"),
            "invalid NHS number `94347659`: expected 10 digits, found 8 characters"
        );
        assert_eq!(
            nhs_err("94347659x9"),
            "invalid NHS number `94347659x9`: character 9 `x` is not allowed there"
        );
    }

    #[test]
    fn upn_design_vectors() {
        assert!("B801200005001".parse::<Upn>().is_ok());
        let err = "A801200005001".parse::<Upn>().unwrap_err();
        assert_eq!(err.expected_check(), Some('B'));
        assert_eq!(
            err.to_string(),
            "invalid UPN `A801200005001`: check letter should be B"
        );
        // Some vendor help pages say Q; the arithmetic says P.
        assert!("P207000016049".parse::<Upn>().is_ok());
        assert!("Q207000016049".parse::<Upn>().is_err());
        let temporary: Upn = "M80120000500A".parse().unwrap();
        assert!(temporary.is_temporary());
        assert_eq!(temporary.la_code(), "801");
        assert!(!"B801200005001".parse::<Upn>().unwrap().is_temporary());
    }

    #[test]
    fn upn_rejects_forbidden_letters() {
        let err = "I801200005001".parse::<Upn>().unwrap_err();
        assert_eq!(err.code(), "upn.character");
        let err = "M80120000500S".parse::<Upn>().unwrap_err();
        assert_eq!(err.code(), "upn.character");
    }

    #[test]
    fn pnc_design_vector() {
        let pnc: PncId = "2001/0012345H".parse().unwrap();
        assert_eq!(pnc.to_string(), "2001/0012345H");
        let short: PncId = "2001/12345H".parse().unwrap();
        assert_eq!(short, pnc);
        let err = "2001/0012345J".parse::<PncId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid PNC ID `2001/0012345J`: check letter should be H"
        );
        assert_eq!(
            "20010012345H".parse::<PncId>().unwrap_err().code(),
            "pnc.length"
        );
        // Remainder 0 maps to Z.
        let zero = PncId::new(2000, 23).unwrap();
        assert_eq!(zero.to_string(), "2000/0000023Z");
    }

    proptest! {
        #[test]
        fn nhs_valid_numbers_round_trip(first_nine in proptest::array::uniform9(0u8..10)) {
            if let Some(check) = NhsNumber::check_digit(&first_nine) {
                let text: String = first_nine.iter().chain([check].iter())
                    .map(|d| char::from(b'0' + d)).collect();
                let parsed: NhsNumber = text.parse().unwrap();
                prop_assert_eq!(parsed.as_str(), text.as_str());
                let spaced: NhsNumber = parsed.to_string().parse().unwrap();
                prop_assert_eq!(spaced, parsed);
            }
        }

        #[test]
        fn nhs_single_digit_change_is_caught(
            first_nine in proptest::array::uniform9(0u8..10),
            position in 0usize..10,
            delta in 1u8..10,
        ) {
            if let Some(check) = NhsNumber::check_digit(&first_nine) {
                let mut digits: Vec<u8> = first_nine.to_vec();
                digits.push(check);
                digits[position] = (digits[position] + delta) % 10;
                let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                prop_assert!(text.parse::<NhsNumber>().is_err());
            }
        }

        #[test]
        fn upn_computed_check_letters_validate(body in "[0-9]{12}") {
            let letter = Upn::check_letter(&body).unwrap();
            let upn: Upn = format!("{letter}{body}").parse().unwrap();
            prop_assert!(!upn.is_temporary());
        }

        #[test]
        fn pnc_round_trips(year in 1950u16..2030, serial in 0u32..10_000_000) {
            let pnc = PncId::new(year, serial).unwrap();
            let parsed: PncId = pnc.to_string().parse().unwrap();
            prop_assert_eq!(parsed, pnc);
        }

        #[test]
        fn parsers_never_panic(input in "\\PC{0,20}") {
            let _ = input.parse::<NhsNumber>();
            let _ = input.parse::<Upn>();
            let _ = input.parse::<PncId>();
        }
    }
}
