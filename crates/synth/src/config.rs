//! What a caller can tune: size, seed, the reference date, how often each agency sees a family
//! and how often each hard case for record linkage occurs.
//!
//! Every rate is a probability in `[0, 1]` and says *of what* it is a rate, because "1% of
//! records" and "1% of households" are very different amounts of mess. The defaults are realistic
//! for English children's services data; tests and benchmarks raise them to see every case often.

use jiff::civil::{Date, date};

use crate::SynthError;

/// Everything [`crate::generate`] needs besides an output folder.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Seed of every random choice: the same config and seed give byte-identical files.
    pub seed: u64,
    /// Target number of agency person records in total, across all organisations (met within a
    /// household's worth of records, far inside ±5%).
    pub records: u64,
    /// How often each hard case occurs.
    pub rates: HardCaseRates,
    /// How often each agency holds a record of a person or a family.
    pub coverage: AgencyCoverage,
    /// "Today" for the synthetic world: ages, school years and event dates are relative to it.
    pub as_of: Date,
    /// People per local authority area; each area has its own social care, housing, police
    /// force, hospitals, GP practices and schools.
    pub people_per_locality: u64,
    /// Registered people per GP practice.
    pub people_per_gp_practice: u64,
    /// Children (0–17) per school.
    pub children_per_school: u64,
    /// People served per hospital.
    pub people_per_hospital: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 42,
            records: 10_000,
            rates: HardCaseRates::default(),
            coverage: AgencyCoverage::default(),
            as_of: date(2025, 3, 31),
            people_per_locality: 300_000,
            people_per_gp_practice: 8_000,
            children_per_school: 400,
            people_per_hospital: 250_000,
        }
    }
}

/// How often each hard case for record linkage occurs. Each field is a probability; its
/// documentation says what it is a probability *of*, and gives the ground-truth tag it produces.
#[derive(Debug, Clone, PartialEq)]
pub struct HardCaseRates {
    /// Of all records: one keying error (insert, delete, substitute or transpose a letter) in the
    /// given or family name. Tag `typo`. Default 0.04.
    pub typo: f64,
    /// Of all records: an OCR-like confusion in a name (`rn`↔`m`, `l`↔`1`, `O`↔`0`, `cl`↔`d`).
    /// Tag `ocr`. Default 0.005.
    pub ocr: f64,
    /// Of all records: the given name is written as a diminutive or a spelling variant
    /// (William→Bill, Mohammed→Muhammad). Tag `nickname`. Default 0.03.
    pub nickname: f64,
    /// Of all records: given and family names swapped. Tag `name_swap`. Default 0.005
    /// (five times as often for young people whose naming conventions differ).
    pub name_swap: f64,
    /// Of households with two parents and children: the children carry a hyphenated or
    /// double-barrelled surname, which agencies record in full, with a space, or as one part only.
    /// Tag `hyphenated_surname` on every record of such a child. Default 0.05.
    pub hyphenated_surname: f64,
    /// Of records of a person whose surname changed (marriage, a step-child's change of name): the
    /// record still carries the former surname. Tag `surname_change`. Default 0.2.
    pub surname_change: f64,
    /// Of households: the family moved recently and one agency still holds the old address.
    /// Tag `house_move` on the records carrying the old address. Default 0.08.
    pub house_move: f64,
    /// Of records whose true date of birth has day and month both 12 or under and different:
    /// the two are transposed. Tag `day_month_transposed`. Default 0.025 (≈ 0.9% of all records).
    pub day_month_transposed: f64,
    /// Of all records: the date of birth is known only to the month (`mm/yyyy`) or year
    /// (`yyyy`). Tag `partial_dob`. Default 0.01.
    pub partial_dob: f64,
    /// Of households: an unaccompanied asylum-seeking young person (15–17) in local-authority care
    /// whose age is disputed; agencies hold estimated dates (`~2009`, the assigned `01/01/2009`).
    /// Tag `estimated_dob`. Default 0.002.
    pub age_disputed: f64,
    /// Of records at schools, police and housing: no NHS number. Tag `missing_nhs`.
    /// Default 0.85.
    pub missing_nhs_outside_health: f64,
    /// Of records at GP practices and hospitals: no NHS number. Tag `missing_nhs`. Default 0.01.
    pub missing_nhs_in_health: f64,
    /// Of records that carry an NHS number: a valid number that belongs to someone else (a
    /// sibling's, or a digit changed and the check digit recomputed). Tag `wrong_valid_nhs`.
    /// Default 0.003.
    pub wrong_valid_nhs: f64,
    /// Of records that carry an NHS number: a keying error that fails the Modulus 11 check.
    /// Tag `invalid_nhs`. Default 0.001.
    pub invalid_nhs: f64,
    /// Of pupils: the pupil changed school and both schools' extracts hold a record. Tag
    /// `school_move` on both records. Default 0.06.
    pub school_move: f64,
    /// Of pupils who changed school: the new school issued a new UPN instead of keeping the first
    /// one (it lists the old one as a former UPN about half the time). Tag `upn_change`.
    /// Default 0.3.
    pub upn_change: f64,
    /// Of school records: the school holds a temporary UPN (2-digit serial and a final letter).
    /// Tag `temporary_upn`. Default 0.005.
    pub temporary_upn: f64,
    /// Of households with children: one birth was twins (same surname, birth date and address,
    /// different given names, sometimes similar ones like Jack and Jake). Tag `twin`.
    /// Default 0.025.
    pub twins: f64,
    /// Of households with children: one birth was triplets. Tag `triplet`. Default 0.0005.
    pub triplets: f64,
    /// Of households with two or more births: two siblings were born 10–13 months apart.
    /// Tag `close_sibling`. Default 0.08.
    pub close_siblings: f64,
    /// Of children under one: a maternity or pre-birth record as `Baby of <mother>` (or `Baby`,
    /// or no given name) with the mother's surname, an expected date and no NHS number, besides
    /// the child's own named records. Tag `baby_of`. Default 0.5.
    pub baby_of: f64,
    /// Of hospital records: a second record (another MRN) for the same patient at the same
    /// hospital. Tag `duplicate_record` on the second. Default 0.01.
    pub duplicate_record: f64,
    /// Of all records: the postcode written in lower case or without its space.
    /// Tag `sloppy_postcode`. Default 0.03.
    pub sloppy_postcode: f64,
    /// Of records of a person with a middle name: the person is known by the middle name and the
    /// record has it as the given name. Tag `known_by_middle_name`. Default 0.03.
    pub known_by_middle_name: f64,
}

impl Default for HardCaseRates {
    fn default() -> Self {
        HardCaseRates {
            typo: 0.04,
            ocr: 0.005,
            nickname: 0.03,
            name_swap: 0.005,
            hyphenated_surname: 0.05,
            surname_change: 0.2,
            house_move: 0.08,
            day_month_transposed: 0.025,
            partial_dob: 0.01,
            age_disputed: 0.002,
            missing_nhs_outside_health: 0.85,
            missing_nhs_in_health: 0.01,
            wrong_valid_nhs: 0.003,
            invalid_nhs: 0.001,
            school_move: 0.06,
            upn_change: 0.3,
            temporary_upn: 0.005,
            twins: 0.025,
            triplets: 0.0005,
            close_siblings: 0.08,
            baby_of: 0.5,
            duplicate_record: 0.01,
            sloppy_postcode: 0.03,
            known_by_middle_name: 0.03,
        }
    }
}

impl HardCaseRates {
    /// Every rate by its field name, for validation and reports.
    pub fn named(&self) -> [(&'static str, f64); 24] {
        [
            ("typo", self.typo),
            ("ocr", self.ocr),
            ("nickname", self.nickname),
            ("name_swap", self.name_swap),
            ("hyphenated_surname", self.hyphenated_surname),
            ("surname_change", self.surname_change),
            ("house_move", self.house_move),
            ("day_month_transposed", self.day_month_transposed),
            ("partial_dob", self.partial_dob),
            ("age_disputed", self.age_disputed),
            (
                "missing_nhs_outside_health",
                self.missing_nhs_outside_health,
            ),
            ("missing_nhs_in_health", self.missing_nhs_in_health),
            ("wrong_valid_nhs", self.wrong_valid_nhs),
            ("invalid_nhs", self.invalid_nhs),
            ("school_move", self.school_move),
            ("upn_change", self.upn_change),
            ("temporary_upn", self.temporary_upn),
            ("twins", self.twins),
            ("triplets", self.triplets),
            ("close_siblings", self.close_siblings),
            ("baby_of", self.baby_of),
            ("duplicate_record", self.duplicate_record),
            ("sloppy_postcode", self.sloppy_postcode),
            ("known_by_middle_name", self.known_by_middle_name),
        ]
    }
}

impl HardCaseRates {
    /// Sets one rate by its field name (as listed by [`HardCaseRates::named`]), for command-line
    /// overrides such as `--rate typo=0.05`.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), String> {
        if !(0.0..=1.0).contains(&value) {
            return Err(format!(
                "rate `{name}` must be a probability between 0 and 1, not {value}"
            ));
        }
        let slot = match name {
            "typo" => &mut self.typo,
            "ocr" => &mut self.ocr,
            "nickname" => &mut self.nickname,
            "name_swap" => &mut self.name_swap,
            "hyphenated_surname" => &mut self.hyphenated_surname,
            "surname_change" => &mut self.surname_change,
            "house_move" => &mut self.house_move,
            "day_month_transposed" => &mut self.day_month_transposed,
            "partial_dob" => &mut self.partial_dob,
            "age_disputed" => &mut self.age_disputed,
            "missing_nhs_outside_health" => &mut self.missing_nhs_outside_health,
            "missing_nhs_in_health" => &mut self.missing_nhs_in_health,
            "wrong_valid_nhs" => &mut self.wrong_valid_nhs,
            "invalid_nhs" => &mut self.invalid_nhs,
            "school_move" => &mut self.school_move,
            "upn_change" => &mut self.upn_change,
            "temporary_upn" => &mut self.temporary_upn,
            "twins" => &mut self.twins,
            "triplets" => &mut self.triplets,
            "close_siblings" => &mut self.close_siblings,
            "baby_of" => &mut self.baby_of,
            "duplicate_record" => &mut self.duplicate_record,
            "sloppy_postcode" => &mut self.sloppy_postcode,
            "known_by_middle_name" => &mut self.known_by_middle_name,
            _ => {
                let known: Vec<&str> = self.named().iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown rate `{name}` (known: {})",
                    known.join(", ")
                ));
            }
        };
        *slot = value;
        Ok(())
    }
}

/// How often each agency holds a record of a person or a family. Probabilities, like the rates.
#[derive(Debug, Clone, PartialEq)]
pub struct AgencyCoverage {
    /// Of children: registered with the household's GP practice. Default 0.97.
    pub gp_child: f64,
    /// Of adults: registered with the household's GP practice. Default 0.93.
    pub gp_adult: f64,
    /// Of children: a record at the local hospital (an ED attendance or admission). Default 0.25.
    pub hospital_child: f64,
    /// Of adults: a record at the local hospital. Default 0.2.
    pub hospital_adult: f64,
    /// Of school-age children: on a school roll in the extract. Default 0.97.
    pub school: f64,
    /// Of households with children: known to children's social care (early help, child in need,
    /// child protection or looked after); every child and most parents then have a record.
    /// Default 0.04.
    pub social_care_household: f64,
    /// Of households: known to police (an incident, often domestic abuse). Default 0.05.
    pub police_household: f64,
    /// Of children aged 10 and over, outside those households: a police record of their own.
    /// Default 0.015.
    pub police_young_person: f64,
    /// Of households: social-housing tenants (England: about one household in six). Default 0.17.
    pub social_housing_household: f64,
}

impl Default for AgencyCoverage {
    fn default() -> Self {
        AgencyCoverage {
            gp_child: 0.97,
            gp_adult: 0.93,
            hospital_child: 0.25,
            hospital_adult: 0.2,
            school: 0.97,
            social_care_household: 0.04,
            police_household: 0.05,
            police_young_person: 0.015,
            social_housing_household: 0.17,
        }
    }
}

impl AgencyCoverage {
    fn named(&self) -> [(&'static str, f64); 9] {
        [
            ("gp_child", self.gp_child),
            ("gp_adult", self.gp_adult),
            ("hospital_child", self.hospital_child),
            ("hospital_adult", self.hospital_adult),
            ("school", self.school),
            ("social_care_household", self.social_care_household),
            ("police_household", self.police_household),
            ("police_young_person", self.police_young_person),
            ("social_housing_household", self.social_housing_household),
        ]
    }
}

impl SynthConfig {
    /// Checks that every rate is a probability and every size is positive.
    pub fn validate(&self) -> Result<(), SynthError> {
        let rates = self.rates.named().into_iter();
        for (name, value) in rates.chain(self.coverage.named()) {
            if !(0.0..=1.0).contains(&value) {
                return Err(SynthError::Config(format!(
                    "rate `{name}` is {value}, expected a probability between 0 and 1"
                )));
            }
        }
        for (name, value) in [
            ("people_per_locality", self.people_per_locality),
            ("people_per_gp_practice", self.people_per_gp_practice),
            ("children_per_school", self.children_per_school),
            ("people_per_hospital", self.people_per_hospital),
        ] {
            if value == 0 {
                return Err(SynthError::Config(format!("`{name}` must be at least 1")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        assert!(SynthConfig::default().validate().is_ok());
    }

    #[test]
    fn every_named_rate_can_be_set() {
        let mut rates = HardCaseRates::default();
        for (name, _) in HardCaseRates::default().named() {
            rates.set(name, 0.123).unwrap();
        }
        assert!(rates.named().iter().all(|(_, v)| *v == 0.123));
        assert_eq!(
            rates.set("typo", 2.0).unwrap_err(),
            "rate `typo` must be a probability between 0 and 1, not 2"
        );
        assert!(
            rates
                .set("tpyo", 0.1)
                .unwrap_err()
                .starts_with("unknown rate `tpyo` (known: typo, ocr,")
        );
    }

    #[test]
    fn a_rate_above_one_is_refused_by_name() {
        let mut config = SynthConfig::default();
        config.rates.typo = 1.5;
        let message = config.validate().unwrap_err().to_string();
        assert_eq!(
            message,
            "invalid configuration: rate `typo` is 1.5, expected a probability between 0 and 1"
        );
        config.rates.typo = f64::NAN;
        assert!(config.validate().is_err());
    }
}
