//! UK postcodes, split into the parts linkage compares.
//!
//! `SW1A 1AA`: area `SW`, district `SW1A`, sector `SW1A 1`, unit `SW1A 1AA`. A value that is not
//! a valid UK postcode is not an error for the record: callers keep it as text.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A syntactically valid UK postcode in canonical form (upper case, one space).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Postcode {
    outward: String,
    inward: String,
}

/// A value that is not shaped like a UK postcode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{0}` is not a UK postcode (expected e.g. `LS1 4AP`)")]
pub struct PostcodeError(pub String);

impl Postcode {
    /// The letters of the postcode area, e.g. `LS`.
    pub fn area(&self) -> &str {
        let end = self
            .outward
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(self.outward.len());
        &self.outward[..end]
    }

    /// The outward code, e.g. `LS1`.
    pub fn district(&self) -> &str {
        &self.outward
    }

    /// Outward code plus the sector digit, e.g. `LS1 4`.
    pub fn sector(&self) -> String {
        format!("{} {}", self.outward, &self.inward[..1])
    }
}

impl FromStr for Postcode {
    type Err = PostcodeError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let fail = || PostcodeError(raw.trim().to_string());
        if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
            return Err(fail());
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        let inward_ok = {
            let b = inward.as_bytes();
            b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphabetic()
        };
        // Outward: A9, A99, AA9, AA99, A9A, AA9A.
        let shape: String = outward
            .bytes()
            .map(|b| {
                if b.is_ascii_digit() {
                    '9'
                } else if b.is_ascii_alphabetic() {
                    'A'
                } else {
                    '?'
                }
            })
            .collect();
        let outward_ok = matches!(
            shape.as_str(),
            "A9" | "A99" | "AA9" | "AA99" | "A9A" | "AA9A"
        );
        if !(inward_ok && outward_ok) {
            return Err(fail());
        }
        Ok(Postcode {
            outward: outward.to_string(),
            inward: inward.to_string(),
        })
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.outward, self.inward)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parts() {
        let pc: Postcode = "sw1a1aa".parse().unwrap();
        assert_eq!(pc.to_string(), "SW1A 1AA");
        assert_eq!(pc.area(), "SW");
        assert_eq!(pc.district(), "SW1A");
        assert_eq!(pc.sector(), "SW1A 1");
        let pc: Postcode = " LS1  4AP ".parse().unwrap();
        assert_eq!(pc.to_string(), "LS1 4AP");
        assert_eq!(pc.area(), "LS");
    }

    #[test]
    fn non_postcodes_are_rejected() {
        for bad in [
            "", "75001", "LS1", "LS1 4A", "1LS 4AP", "LS1 AAP", "D02 X285",
        ] {
            assert!(bad.parse::<Postcode>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(input in "\\PC{0,10}") {
            if let Ok(pc) = input.parse::<Postcode>() {
                prop_assert_eq!(pc.to_string().parse::<Postcode>().unwrap(), pc);
            }
        }
    }
}
