//! Care settings, and which of them are unscheduled care (where a flag notifies its owner).

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::{self, TimeZone};

use crate::Error;

/// Where a child is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CareSetting {
    EmergencyDepartment,
    UrgentTreatmentCentre,
    WalkInCentre,
    OutOfHoursGp,
    Maternity,
    Ambulance,
    GpSurgery,
    Outpatients,
    SchoolNurse,
    HealthVisiting,
    CommunityHealth,
    MentalHealth,
}

impl CareSetting {
    pub const ALL: [CareSetting; 12] = [
        CareSetting::EmergencyDepartment,
        CareSetting::UrgentTreatmentCentre,
        CareSetting::WalkInCentre,
        CareSetting::OutOfHoursGp,
        CareSetting::Maternity,
        CareSetting::Ambulance,
        CareSetting::GpSurgery,
        CareSetting::Outpatients,
        CareSetting::SchoolNurse,
        CareSetting::HealthVisiting,
        CareSetting::CommunityHealth,
        CareSetting::MentalHealth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CareSetting::EmergencyDepartment => "emergency-department",
            CareSetting::UrgentTreatmentCentre => "urgent-treatment-centre",
            CareSetting::WalkInCentre => "walk-in-centre",
            CareSetting::OutOfHoursGp => "out-of-hours-gp",
            CareSetting::Maternity => "maternity",
            CareSetting::Ambulance => "ambulance",
            CareSetting::GpSurgery => "gp-surgery",
            CareSetting::Outpatients => "outpatients",
            CareSetting::SchoolNurse => "school-nurse",
            CareSetting::HealthVisiting => "health-visiting",
            CareSetting::CommunityHealth => "community-health",
            CareSetting::MentalHealth => "mental-health",
        }
    }

    /// Unscheduled care, as CP-IS defines it: a child arrives without a planned appointment,
    /// so the owning authority may not know — these settings notify. Scheduled settings still
    /// see the flag, silently.
    pub fn is_unscheduled(self) -> bool {
        // INVARIANT: exactly the six CP-IS unscheduled settings notify; adding a setting to
        // `ALL` does not make it notify unless it is listed here.
        matches!(
            self,
            CareSetting::EmergencyDepartment
                | CareSetting::UrgentTreatmentCentre
                | CareSetting::WalkInCentre
                | CareSetting::OutOfHoursGp
                | CareSetting::Maternity
                | CareSetting::Ambulance
        )
    }
}

impl fmt::Display for CareSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CareSetting {
    type Err = Error;

    fn from_str(raw: &str) -> Result<CareSetting, Error> {
        CareSetting::ALL
            .into_iter()
            .find(|setting| setting.as_str() == raw.trim())
            .ok_or_else(|| Error::UnknownSetting(raw.to_string()))
    }
}

/// The calendar date in England at an instant: flag dates are English civil dates, so an
/// attendance at 00:30 BST on 1 June belongs to 1 June although it is still 31 May in UTC.
/// British Summer Time runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
/// Sunday of October (the rule since 1996), computed here so no time-zone database is needed.
pub fn england_date(at: Timestamp) -> Date {
    let utc = at.to_zoned(TimeZone::UTC);
    let year = utc.year();
    let switch = |month: i8| -> Option<Timestamp> {
        let last_sunday = Date::new(year, month, 1)
            .ok()?
            .nth_weekday_of_month(-1, jiff::civil::Weekday::Sunday)
            .ok()?;
        last_sunday
            .at(1, 0, 0, 0)
            .to_zoned(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    };
    let summer = match (switch(3), switch(10)) {
        (Some(start), Some(end)) => at >= start && at < end,
        _ => false,
    };
    let offset = if summer { tz::offset(1) } else { tz::offset(0) };
    at.to_zoned(TimeZone::fixed(offset)).date()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn the_six_cp_is_settings_are_unscheduled() {
        let unscheduled: Vec<_> = CareSetting::ALL
            .into_iter()
            .filter(|s| s.is_unscheduled())
            .map(CareSetting::as_str)
            .collect();
        assert_eq!(
            unscheduled,
            [
                "emergency-department",
                "urgent-treatment-centre",
                "walk-in-centre",
                "out-of-hours-gp",
                "maternity",
                "ambulance"
            ]
        );
        assert!(!CareSetting::GpSurgery.is_unscheduled());
        assert!(!CareSetting::SchoolNurse.is_unscheduled());
    }

    #[test]
    fn settings_round_trip_and_unknown_is_named() {
        for setting in CareSetting::ALL {
            assert_eq!(setting.as_str().parse::<CareSetting>().unwrap(), setting);
        }
        assert_eq!(
            "a-and-e".parse::<CareSetting>().unwrap_err().to_string(),
            "unknown care setting `a-and-e`: use one of emergency-department, \
             urgent-treatment-centre, walk-in-centre, out-of-hours-gp, maternity, ambulance, \
             gp-surgery, outpatients, school-nurse, health-visiting, community-health, \
             mental-health"
        );
    }

    #[test]
    fn england_dates_follow_british_summer_time() {
        let date = |ts: &str| england_date(ts.parse().unwrap()).to_string();
        // 23:30 UTC on 31 May is 00:30 BST on 1 June.
        assert_eq!(date("2026-05-31T23:30:00Z"), "2026-06-01");
        // In winter England is on UTC.
        assert_eq!(date("2026-12-31T23:30:00Z"), "2026-12-31");
        // BST 2026 starts at 01:00 UTC on 29 March and ends at 01:00 UTC on 25 October.
        assert_eq!(date("2026-03-28T23:30:00Z"), "2026-03-28");
        assert_eq!(date("2026-03-29T23:30:00Z"), "2026-03-30");
        assert_eq!(date("2026-10-24T23:30:00Z"), "2026-10-25");
        assert_eq!(date("2026-10-25T23:30:00Z"), "2026-10-25");
    }
}
