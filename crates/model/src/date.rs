//! Dates of birth as agencies really hold them: exact, known only to the month or year, or
//! estimated.
//!
//! A young person whose age is disputed, a newborn registered before the day is confirmed, or a
//! record keyed from a paper form may carry only part of a date. Kith keeps exactly what is known
//! and says how precise it is, rather than inventing a first-of-January.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How much of a date is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum DatePrecision {
    Year,
    Month,
    Day,
}

/// A date that may be partial or estimated. Canonical text: `2012-03-14`, `2012-03`, `2012`,
/// with a leading `~` when estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartialDate {
    pub year: i16,
    pub month: Option<i8>,
    pub day: Option<i8>,
    pub estimated: bool,
}

/// Why a date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DateError {
    #[error("`{0}` is not a date in a recognised format (try DD/MM/YYYY or YYYY-MM-DD)")]
    Format(String),
    #[error("`{value}` is not a real calendar date: {reason}")]
    Impossible { value: String, reason: String },
    #[error("`{value}` has year {year}, outside 1880–2100")]
    YearOutOfRange { value: String, year: i32 },
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

impl PartialDate {
    /// An exact date.
    pub fn exact(date: Date) -> PartialDate {
        PartialDate {
            year: date.year(),
            month: Some(date.month()),
            day: Some(date.day()),
            estimated: false,
        }
    }

    /// How much of the date is known.
    pub fn precision(&self) -> DatePrecision {
        match (self.month, self.day) {
            (Some(_), Some(_)) => DatePrecision::Day,
            (Some(_), None) => DatePrecision::Month,
            _ => DatePrecision::Year,
        }
    }

    /// The full date, when day precision is known.
    pub fn to_date(&self) -> Option<Date> {
        Date::new(self.year, self.month?, self.day?).ok()
    }

    fn build(
        value: &str,
        year: i32,
        month: Option<i32>,
        day: Option<i32>,
    ) -> Result<Self, DateError> {
        if !(1880..=2100).contains(&year) {
            return Err(DateError::YearOutOfRange {
                value: value.to_string(),
                year,
            });
        }
        let impossible = |reason: String| DateError::Impossible {
            value: value.to_string(),
            reason,
        };
        let year = year as i16;
        if let Some(m) = month
            && !(1..=12).contains(&m)
        {
            return Err(impossible(format!("month {m} does not exist")));
        }
        let month = month.map(|m| m as i8);
        let day = match (month, day) {
            (Some(m), Some(d)) => {
                Date::new(year, m, d.clamp(0, 99) as i8).map_err(|_| {
                    impossible(format!("day {d} does not exist in month {m} of {year}"))
                })?;
                Some(d as i8)
            }
            (None, Some(_)) => return Err(DateError::Format(value.to_string())),
            _ => None,
        };
        Ok(PartialDate {
            year,
            month,
            day,
            estimated: false,
        })
    }
}

fn number(part: &str) -> Option<i32> {
    if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

fn month_name(part: &str) -> Option<i32> {
    let lower = part.to_ascii_lowercase();
    if lower.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| lower.starts_with(m))
        .map(|p| p as i32 + 1)
}

/// Expands a two-digit year: a date of birth in the future is read as last century.
fn full_year(part: &str, year: i32) -> i32 {
    if part.len() == 2 {
        if year <= 40 { 2000 + year } else { 1900 + year }
    } else {
        year
    }
}

impl FromStr for PartialDate {
    type Err = DateError;

    /// Reads the formats UK agency systems export: `DD/MM/YYYY`, `D/M/YY`, `DD-MM-YYYY`,
    /// `DD.MM.YYYY`, `YYYY-MM-DD` (with an optional time, which is dropped), `YYYYMMDD`,
    /// `14 March 2012`, `14-Mar-2012`, `MM/YYYY`, `March 2012`, `YYYY-MM`, `YYYY`; a leading
    /// `~`, `c.`, `circa`, `approx` or `est` marks an estimate.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let mut text = raw.trim();
        let mut estimated = false;
        let lower = text.to_ascii_lowercase();
        for marker in [
            "~", "circa ", "approx ", "approx. ", "est. ", "est ", "c. ", "c.",
        ] {
            if lower.starts_with(marker) {
                text = text[marker.len()..].trim_start();
                estimated = true;
                break;
            }
        }
        // Drop a time part: `2012-03-14T00:00:00`, `14/03/2012 00:00`.
        if let Some((date_part, _)) = text.split_once('T')
            && date_part.len() == 10
        {
            text = date_part;
        }
        if let Some((date_part, time)) = text.split_once(' ')
            && time.contains(':')
        {
            text = date_part;
        }
        let fail = || DateError::Format(raw.trim().to_string());
        if !text.is_ascii() {
            return Err(fail());
        }
        let parts: Vec<&str> = text
            .split(['/', '-', '.', ' '])
            .filter(|p| !p.is_empty())
            .collect();
        let mut date = match parts.as_slice() {
            [single] if single.len() == 8 => {
                let y = number(&single[..4]).ok_or_else(fail)?;
                let m = number(&single[4..6]).ok_or_else(fail)?;
                let d = number(&single[6..]).ok_or_else(fail)?;
                PartialDate::build(raw, y, Some(m), Some(d))?
            }
            [single] if single.len() == 4 => {
                PartialDate::build(raw, number(single).ok_or_else(fail)?, None, None)?
            }
            [a, b] => {
                let (month_part, year_part) = if a.len() == 4 { (b, a) } else { (a, b) };
                let year = number(year_part).ok_or_else(fail)?;
                if year_part.len() != 4 {
                    return Err(fail());
                }
                let month = number(month_part)
                    .or_else(|| month_name(month_part))
                    .ok_or_else(fail)?;
                PartialDate::build(raw, year, Some(month), None)?
            }
            [a, b, c] if a.len() == 4 => {
                let y = number(a).ok_or_else(fail)?;
                let m = number(b).ok_or_else(fail)?;
                let d = number(c).ok_or_else(fail)?;
                PartialDate::build(raw, y, Some(m), Some(d))?
            }
            [a, b, c] if c.len() == 4 || c.len() == 2 => {
                let d = number(a).ok_or_else(fail)?;
                let m = number(b).or_else(|| month_name(b)).ok_or_else(fail)?;
                let y = full_year(c, number(c).ok_or_else(fail)?);
                PartialDate::build(raw, y, Some(m), Some(d))?
            }
            _ => return Err(fail()),
        };
        date.estimated = estimated;
        Ok(date)
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.estimated {
            f.write_str("~")?;
        }
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

impl Serialize for PartialDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, expected: &str) {
        let parsed: PartialDate = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(parsed.to_string(), expected, "{input}");
    }

    #[test]
    fn uk_formats() {
        check("14/03/2012", "2012-03-14");
        check("4/3/2012", "2012-03-04");
        check("14-03-2012", "2012-03-14");
        check("14.03.2012", "2012-03-14");
        check("2012-03-14", "2012-03-14");
        check("2012-03-14T00:00:00", "2012-03-14");
        check("14/03/2012 00:00", "2012-03-14");
        check("20120314", "2012-03-14");
        check("14 March 2012", "2012-03-14");
        check("14-Mar-2012", "2012-03-14");
        check("14/03/12", "2012-03-14");
        check("14/03/87", "1987-03-14");
    }

    #[test]
    fn partial_and_estimated() {
        check("03/2012", "2012-03");
        check("2012-03", "2012-03");
        check("March 2012", "2012-03");
        check("2012", "2012");
        check("~2009", "~2009");
        check("est 2009", "~2009");
        check("c. 01/06/2009", "~2009-06-01");
        let date: PartialDate = "~2009".parse().unwrap();
        assert_eq!(date.precision(), DatePrecision::Year);
        assert!(date.estimated);
    }

    #[test]
    fn impossible_and_unreadable_dates_say_why() {
        let err = "31/02/2012".parse::<PartialDate>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`31/02/2012` is not a real calendar date: day 31 does not exist in month 2 of 2012"
        );
        let err = "14/13/2012".parse::<PartialDate>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`14/13/2012` is not a real calendar date: month 13 does not exist"
        );
        let err = "yesterday".parse::<PartialDate>().unwrap_err();
        assert!(matches!(err, DateError::Format(_)));
        let err = "01/01/1066".parse::<PartialDate>().unwrap_err();
        assert!(matches!(err, DateError::YearOutOfRange { .. }));
        assert!("29/02/2012".parse::<PartialDate>().is_ok());
        assert!("29/02/2013".parse::<PartialDate>().is_err());
    }

    proptest! {
        #[test]
        fn canonical_text_round_trips(
            year in 1900i16..2030, month in 1i8..=12, day in 1i8..=28, estimated: bool,
        ) {
            let date = PartialDate { year, month: Some(month), day: Some(day), estimated };
            let parsed: PartialDate = date.to_string().parse().unwrap();
            prop_assert_eq!(parsed, date);
            let uk = format!("{day:02}/{month:02}/{year}");
            prop_assert_eq!(uk.parse::<PartialDate>().unwrap().to_date(), date.to_date());
        }

        #[test]
        fn parser_never_panics(input in "\\PC{0,24}") {
            let _ = input.parse::<PartialDate>();
        }
    }
}
