//! Calendar arithmetic on plain day numbers, and the date formats each agency writes.
//!
//! Generation adds and compares days millions of times; a day number (days since 1970-01-01)
//! makes that cheap and infallible. Only the edges convert to text, in each agency's own style.

use jiff::civil::Date;

/// A calendar day as a count of days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Day(pub(crate) i64);

impl Day {
    /// The day for a year, month and day (proleptic Gregorian; H. Hinnant's algorithm).
    pub(crate) fn from_ymd(year: i64, month: i64, day: i64) -> Day {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Day(era * 146_097 + doe - 719_468)
    }

    pub(crate) fn from_date(date: Date) -> Day {
        Day::from_ymd(
            i64::from(date.year()),
            i64::from(date.month()),
            i64::from(date.day()),
        )
    }

    /// Year, month (1–12) and day (1–31).
    pub(crate) fn ymd(self) -> (i64, i64, i64) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year, month, day)
    }

    pub(crate) fn year(self) -> i64 {
        self.ymd().0
    }

    pub(crate) fn plus(self, days: i64) -> Day {
        Day(self.0 + days)
    }

    /// Whole years from `self` to `later` (an age).
    pub(crate) fn years_until(self, later: Day) -> i64 {
        let (y1, m1, d1) = self.ymd();
        let (y2, m2, d2) = later.ymd();
        let mut years = y2 - y1;
        if (m2, d2) < (m1, d1) {
            years -= 1;
        }
        years
    }

    /// ISO `yyyy-mm-dd`, the format of entry dates.
    pub(crate) fn iso(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{y:04}-{m:02}-{d:02}")
    }
}

const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// How an agency's system writes a full date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateStyle {
    /// `14/03/2012`
    SlashDmy,
    /// `2012-03-14`
    Iso,
    /// `14-Mar-2012`
    DayMonthName,
    /// `14.03.2012`
    DotDmy,
    /// `14/3/2012`
    SlashDmyUnpadded,
}

impl DateStyle {
    pub(crate) fn full(self, year: i64, month: i64, day: i64) -> String {
        match self {
            DateStyle::SlashDmy => format!("{day:02}/{month:02}/{year:04}"),
            DateStyle::Iso => format!("{year:04}-{month:02}-{day:02}"),
            DateStyle::DayMonthName => {
                let name = usize::try_from(month - 1)
                    .ok()
                    .and_then(|m| MONTH_NAMES.get(m))
                    .copied()
                    .unwrap_or("Jan");
                format!("{day:02}-{name}-{year:04}")
            }
            DateStyle::DotDmy => format!("{day:02}.{month:02}.{year:04}"),
            DateStyle::SlashDmyUnpadded => format!("{day}/{month}/{year:04}"),
        }
    }
}

/// A date known only to the month: `mm/yyyy`.
pub(crate) fn month_year(year: i64, month: i64) -> String {
    format!("{month:02}/{year:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Day(0));
        assert_eq!(Day::from_ymd(2000, 3, 1).ymd(), (2000, 3, 1));
        for n in (-40_000..40_000).step_by(37) {
            let (y, m, d) = Day(n).ymd();
            assert_eq!(Day::from_ymd(y, m, d), Day(n));
            assert!(jiff::civil::Date::new(y as i16, m as i8, d as i8).is_ok());
        }
        let as_of = Day::from_date(jiff::civil::date(2025, 3, 31));
        assert_eq!(as_of.ymd(), (2025, 3, 31));
        assert_eq!(Day::from_ymd(2012, 3, 31).years_until(as_of), 13);
        assert_eq!(Day::from_ymd(2012, 4, 1).years_until(as_of), 12);
    }

    #[test]
    fn agency_styles_parse_back_with_model() {
        for style in [
            DateStyle::SlashDmy,
            DateStyle::Iso,
            DateStyle::DayMonthName,
            DateStyle::DotDmy,
            DateStyle::SlashDmyUnpadded,
        ] {
            let text = style.full(2012, 3, 4);
            let parsed: model::PartialDate = text.parse().unwrap();
            assert_eq!(parsed.to_string(), "2012-03-04", "{text}");
        }
        assert_eq!(DateStyle::DayMonthName.full(2012, 3, 14), "14-Mar-2012");
        let partial: model::PartialDate = month_year(2012, 3).parse().unwrap();
        assert_eq!(partial.to_string(), "2012-03");
        let estimated: model::PartialDate = "~01/01/2009".parse().unwrap();
        assert!(estimated.estimated);
    }
}
