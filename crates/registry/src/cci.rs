//! The consistent child identifier: Kith's own stable person number, with a check character.
//!
//! A CCI is `K`, nine digits and an ISO 7064 MOD 11-2 check character (`0`–`9` or `X`), for
//! example `K000000001` followed by its check. MOD 11-2 catches every single-character error
//! and every transposition of two adjacent characters, the two mistakes people make when they
//! copy a number from a screen to a phone call. Numbers are issued once, in order, from a counter
//! in the store; nothing ever re-issues or re-numbers one.

use std::fmt;
use std::str::FromStr;

use crate::RegistryError;

/// A valid consistent child identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cci(u32);

/// ISO 7064 MOD 11-2 check character of a digit string.
fn check_char(digits: &[u8]) -> char {
    let mut sum: u32 = 0;
    for &d in digits {
        sum = ((sum + u32::from(d - b'0')) * 2) % 11;
    }
    match (12 - sum % 11) % 11 {
        10 => 'X',
        n => char::from(b'0' + n as u8),
    }
}

impl Cci {
    /// The largest serial a CCI can carry.
    pub const MAX_SERIAL: u32 = 999_999_999;

    /// The CCI with this serial number.
    pub fn from_serial(serial: u32) -> Result<Cci, RegistryError> {
        if serial == 0 || serial > Self::MAX_SERIAL {
            return Err(RegistryError::SerialOutOfRange(i64::from(serial)));
        }
        Ok(Cci(serial))
    }

    pub fn serial(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Cci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = format!("{:09}", self.0);
        write!(f, "K{digits}{}", check_char(digits.as_bytes()))
    }
}

impl FromStr for Cci {
    type Err = RegistryError;

    fn from_str(raw: &str) -> Result<Cci, RegistryError> {
        let text: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        let invalid = |why: String| RegistryError::InvalidCci {
            value: raw.to_string(),
            why,
        };
        let Some(body) = text.strip_prefix('K') else {
            return Err(invalid("a CCI starts with `K`".into()));
        };
        if body.len() != 10 {
            return Err(invalid(format!(
                "a CCI is `K`, 9 digits and a check character; found {} characters after `K`",
                body.len()
            )));
        }
        let (digits, check) = body.split_at(9);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("characters 2 to 10 must be digits".into()));
        }
        let expected = check_char(digits.as_bytes());
        if !check.starts_with(expected) {
            return Err(invalid(format!("check character should be {expected}")));
        }
        let serial: u32 = digits
            .parse()
            .map_err(|_| invalid("characters 2 to 10 must be digits".into()))?;
        Cci::from_serial(serial).map_err(|_| invalid("serial 000000000 is never issued".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_and_parses() {
        let cci = Cci::from_serial(1).unwrap();
        let text = cci.to_string();
        assert_eq!(text.len(), 11);
        assert!(text.starts_with("K000000001"));
        assert_eq!(text.parse::<Cci>().unwrap(), cci);
        assert_eq!(
            text.to_lowercase()
                .replace("k", "k-")
                .parse::<Cci>()
                .unwrap(),
            cci
        );
    }

    #[test]
    fn known_check_characters() {
        // ISO 7064 MOD 11-2 worked by hand (and by a second implementation).
        assert_eq!(Cci::from_serial(1).unwrap().to_string(), "K000000001X");
        assert_eq!(
            Cci::from_serial(123_456_789).unwrap().to_string(),
            "K123456789X"
        );
    }

    #[test]
    fn rejects_with_the_expected_check_character() {
        let err = "K0000000010".parse::<Cci>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid CCI `K0000000010`: check character should be X"
        );
        assert!("0000000001X".parse::<Cci>().is_err());
        assert!("K00000001X".parse::<Cci>().is_err());
        assert!("K000000000".to_string().parse::<Cci>().is_err());
    }

    proptest! {
        #[test]
        fn round_trips(serial in 1u32..=Cci::MAX_SERIAL) {
            let cci = Cci::from_serial(serial).unwrap();
            prop_assert_eq!(cci.to_string().parse::<Cci>().unwrap(), cci);
        }

        #[test]
        fn every_single_character_error_is_caught(
            serial in 1u32..=Cci::MAX_SERIAL, position in 1usize..11, replacement in "[0-9X]",
        ) {
            let text = Cci::from_serial(serial).unwrap().to_string();
            let mut chars: Vec<char> = text.chars().collect();
            let new = replacement.chars().next().unwrap();
            prop_assume!(chars[position] != new);
            chars[position] = new;
            let changed: String = chars.into_iter().collect();
            prop_assert!(changed.parse::<Cci>().is_err(), "{text} → {changed} went unnoticed");
        }

        #[test]
        fn every_adjacent_transposition_is_caught(serial in 1u32..=Cci::MAX_SERIAL, position in 1usize..10) {
            let text = Cci::from_serial(serial).unwrap().to_string();
            let mut chars: Vec<char> = text.chars().collect();
            prop_assume!(chars[position] != chars[position + 1]);
            chars.swap(position, position + 1);
            let changed: String = chars.into_iter().collect();
            prop_assert!(changed.parse::<Cci>().is_err(), "{text} → {changed} went unnoticed");
        }
    }
}
