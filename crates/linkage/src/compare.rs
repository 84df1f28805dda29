//! Comparisons: for a pair of records, one level per comparison (the gamma vector).
//!
//! Level 0 of every comparison means "missing on either side" and carries no weight. The other
//! levels run from strongest agreement to disagreement; their names are what explanations and
//! the model file show. Thresholds come from the model file ([`Thresholds`]).

use serde::{Deserialize, Serialize};

use crate::normalise::Nicknames;
use crate::prepare::{Dataset, NameInfo, Prepared};

/// Number of comparisons.
pub const N_COMPARISONS: usize = 7;

/// A pair's levels, one per comparison, in [`COMPARISONS`] order.
pub type Gamma = [u8; N_COMPARISONS];

/// A comparison and the names of its levels (index = level; 0 is always `missing`).
#[derive(Debug, Clone, Copy)]
pub struct ComparisonDef {
    pub name: &'static str,
    pub levels: &'static [&'static str],
    /// Which level term-frequency adjustment applies to, if any.
    pub tf_level: Option<u8>,
}

pub const GIVEN: usize = 0;
pub const FAMILY: usize = 1;
pub const DOB: usize = 2;
pub const SEX: usize = 3;
pub const LOCATION: usize = 4;
pub const NHS: usize = 5;
pub const UPN: usize = 6;

pub mod level {
    pub const MISSING: u8 = 0;
    // given name
    pub const GIVEN_EXACT: u8 = 1;
    pub const GIVEN_ALIAS: u8 = 2;
    pub const GIVEN_JW_HIGH: u8 = 3;
    pub const GIVEN_SIMILAR: u8 = 4;
    pub const GIVEN_INITIAL: u8 = 5;
    pub const GIVEN_DIFFERENT: u8 = 6;
    // family name
    pub const FAMILY_EXACT: u8 = 1;
    pub const FAMILY_PART: u8 = 2;
    pub const FAMILY_JW_HIGH: u8 = 3;
    pub const FAMILY_SIMILAR: u8 = 4;
    pub const FAMILY_DIFFERENT: u8 = 5;
    // date of birth
    pub const DOB_EXACT: u8 = 1;
    pub const DOB_TRANSPOSED: u8 = 2;
    pub const DOB_ONE_OFF: u8 = 3;
    pub const DOB_PARTIAL: u8 = 4;
    pub const DOB_WITHIN_YEAR: u8 = 5;
    pub const DOB_DIFFERENT: u8 = 6;
    // sex, NHS number, UPN
    pub const AGREE: u8 = 1;
    pub const DISAGREE: u8 = 2;
    // location
    pub const SAME_ADDRESS: u8 = 1;
    pub const POSTCODE_UNIT: u8 = 2;
    pub const POSTCODE_SECTOR: u8 = 3;
    pub const POSTCODE_DISTRICT: u8 = 4;
    pub const POSTCODE_AREA: u8 = 5;
    pub const PLACE_DIFFERENT: u8 = 6;
}

/// Every comparison, in gamma order.
pub const COMPARISONS: [ComparisonDef; N_COMPARISONS] = [
    ComparisonDef {
        name: "given_name",
        levels: &[
            "missing",
            "exact",
            "nickname, middle name or swapped with family name",
            "jaro-winkler >= high",
            "jaro-winkler >= low or same sound",
            "initial only",
            "different",
        ],
        tf_level: Some(level::GIVEN_EXACT),
    },
    ComparisonDef {
        name: "family_name",
        levels: &[
            "missing",
            "exact",
            "shares a part of a double-barrelled name",
            "jaro-winkler >= high",
            "jaro-winkler >= low or same sound",
            "different",
        ],
        tf_level: Some(level::FAMILY_EXACT),
    },
    ComparisonDef {
        name: "date_of_birth",
        levels: &[
            "missing",
            "exact",
            "day and month transposed",
            "one of day, month, year differs",
            "agrees as far as the less precise date goes",
            "within a year",
            "more than a year apart",
        ],
        tf_level: None,
    },
    ComparisonDef {
        name: "sex",
        levels: &["missing", "agree", "disagree"],
        tf_level: None,
    },
    ComparisonDef {
        name: "location",
        levels: &[
            "missing",
            "same address",
            "same postcode",
            "same postcode sector",
            "same postcode district",
            "same postcode area (town or city)",
            "different area",
        ],
        tf_level: None,
    },
    ComparisonDef {
        name: "nhs_number",
        levels: &["missing", "agree", "disagree"],
        tf_level: None,
    },
    ComparisonDef {
        name: "upn",
        levels: &["missing", "agree", "disagree"],
        tf_level: None,
    },
];

/// Similarity thresholds, saved in the model file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub jaro_winkler_high: f64,
    pub jaro_winkler_low: f64,
    /// Share of address words in common for "same address".
    pub address_overlap: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            jaro_winkler_high: 0.92,
            jaro_winkler_low: 0.80,
            address_overlap: 0.5,
        }
    }
}

/// Compares records of one dataset.
#[derive(Debug, Clone, Copy)]
pub struct Comparer<'a> {
    pub data: &'a Dataset,
    pub nicknames: &'a Nicknames,
    pub thresholds: Thresholds,
}

/// Jaro–Winkler similarity, as `strsim::jaro_winkler` computes it, without allocating: names
/// are folded to ASCII and short, so the match flags fit in two machine words. Longer or
/// non-ASCII text falls back to `strsim`.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > 64 || b.len() > 64 || !a.is_ascii() || !b.is_ascii() {
        return strsim::jaro_winkler(
            std::str::from_utf8(a).unwrap_or_default(),
            std::str::from_utf8(b).unwrap_or_default(),
        );
    }
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let (mut a_flags, mut b_flags, mut matches) = (0u64, 0u64, 0usize);
    for (i, &x) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = b.len().min(i + window + 1);
        for (j, &y) in b.iter().enumerate().take(hi).skip(lo) {
            if b_flags & (1 << j) == 0 && y == x {
                a_flags |= 1 << i;
                b_flags |= 1 << j;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let (mut transpositions, mut k) = (0usize, 0usize);
    for (i, &x) in a.iter().enumerate() {
        if a_flags & (1 << i) != 0 {
            while b_flags & (1 << k) == 0 {
                k += 1;
            }
            if b[k] != x {
                transpositions += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    let jaro =
        (m / a.len() as f64 + m / b.len() as f64 + (matches - transpositions / 2) as f64 / m) / 3.0;
    if jaro > 0.7 {
        let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
        jaro + 0.1 * prefix as f64 * (1.0 - jaro)
    } else {
        jaro
    }
}

impl Comparer<'_> {
    fn name(&self, index: Option<u32>) -> Option<&NameInfo> {
        index.and_then(|i| self.data.names.get(i as usize))
    }

    /// The comparison levels of records `a` and `b`.
    pub fn gamma(&self, a: usize, b: usize) -> Gamma {
        let (ra, rb) = (&self.data.records[a], &self.data.records[b]);
        let mut gamma = [level::MISSING; N_COMPARISONS];
        let (given, family) = self.names(ra, rb);
        gamma[GIVEN] = given;
        gamma[FAMILY] = family;
        gamma[DOB] = compare_dob(ra, rb);
        gamma[SEX] = match (ra.sex, rb.sex) {
            (0, _) | (_, 0) | (3, _) | (_, 3) => level::MISSING,
            (x, y) if x == y => level::AGREE,
            _ => level::DISAGREE,
        };
        gamma[LOCATION] = self.location(ra, rb);
        gamma[NHS] = identifier(ra.nhs, rb.nhs);
        gamma[UPN] = identifier(ra.upn, rb.upn);
        gamma
    }

    /// Whether the given names themselves (not middle names) may be the same person's: equal,
    /// nicknames, a very close spelling or one slip apart.
    pub fn given_names_equivalent(&self, ra: &Prepared, rb: &Prepared) -> bool {
        let (Some(x), Some(y)) = (self.name(ra.given), self.name(rb.given)) else {
            return false;
        };
        x.key == y.key
            || x.first() == y.first()
            || x.groups.iter().any(|g| y.groups.contains(g))
            || crate::normalise::one_edit_apart(x.first(), y.first())
            || (x.first().len() > 1
                && y.first().len() > 1
                && jaro_winkler(x.first(), y.first()) >= self.thresholds.jaro_winkler_high)
    }

    /// Whether the two records' given names are within one typing or scanning slip.
    pub fn given_one_edit_apart(&self, ra: &Prepared, rb: &Prepared) -> bool {
        match (self.name(ra.given), self.name(rb.given)) {
            (Some(x), Some(y)) => crate::normalise::one_edit_apart(x.first(), y.first()),
            _ => false,
        }
    }

    fn names(&self, ra: &Prepared, rb: &Prepared) -> (u8, u8) {
        let (ga, gb) = (self.name(ra.given), self.name(rb.given));
        let (fa, fb) = (self.name(ra.family), self.name(rb.family));
        let mut given = match (ga, gb) {
            (Some(x), Some(y)) => self.given_level(x, y),
            _ => level::MISSING,
        };
        let mut family = match (fa, fb) {
            (Some(x), Some(y)) => self.family_level(x, y),
            _ => level::MISSING,
        };
        // Known by a middle name: one record's given name is the other's middle name.
        if given >= level::GIVEN_SIMILAR {
            let middle_match = |g: Option<&NameInfo>, m: Option<&NameInfo>| match (g, m) {
                (Some(g), Some(m)) => m.parts.iter().any(|p| p == g.first()),
                _ => false,
            };
            if middle_match(ga, self.name(rb.middle)) || middle_match(gb, self.name(ra.middle)) {
                given = level::GIVEN_ALIAS;
            }
        }
        // Given and family names swapped between the two records.
        if given >= level::GIVEN_SIMILAR
            && family >= level::FAMILY_SIMILAR
            && let (Some(ga), Some(gb), Some(fa), Some(fb)) = (ga, gb, fa, fb)
            && ga.key == fb.key
            && fa.key == gb.key
        {
            given = level::GIVEN_ALIAS;
            family = level::FAMILY_EXACT;
        }
        (given, family)
    }

    fn given_level(&self, x: &NameInfo, y: &NameInfo) -> u8 {
        if x.key == y.key || x.first() == y.first() {
            return level::GIVEN_EXACT;
        }
        if x.groups.iter().any(|g| y.groups.contains(g)) {
            return level::GIVEN_ALIAS;
        }
        let (a, b) = (x.first(), y.first());
        if a.len() == 1 || b.len() == 1 {
            return if a.as_bytes()[0] == b.as_bytes()[0] {
                level::GIVEN_INITIAL
            } else {
                level::GIVEN_DIFFERENT
            };
        }
        let jw = jaro_winkler(a, b);
        if jw >= self.thresholds.jaro_winkler_high {
            level::GIVEN_JW_HIGH
        } else if jw >= self.thresholds.jaro_winkler_low || x.phonetic == y.phonetic {
            level::GIVEN_SIMILAR
        } else {
            level::GIVEN_DIFFERENT
        }
    }

    fn family_level(&self, x: &NameInfo, y: &NameInfo) -> u8 {
        if x.key == y.key {
            return level::FAMILY_EXACT;
        }
        if x.part_keys.iter().any(|k| y.part_keys.contains(k)) {
            return level::FAMILY_PART;
        }
        let jw = jaro_winkler(&x.full, &y.full);
        if jw >= self.thresholds.jaro_winkler_high {
            level::FAMILY_JW_HIGH
        } else if jw >= self.thresholds.jaro_winkler_low || x.phonetic == y.phonetic {
            level::FAMILY_SIMILAR
        } else {
            level::FAMILY_DIFFERENT
        }
    }

    fn location(&self, ra: &Prepared, rb: &Prepared) -> u8 {
        let overlap = address_overlap(&ra.address, &rb.address);
        let same_unit = ra.postcode_unit != 0 && ra.postcode_unit == rb.postcode_unit;
        let unit_missing = ra.postcode_unit == 0 || rb.postcode_unit == 0;
        if let Some(overlap) = overlap
            && overlap >= self.thresholds.address_overlap
            && (same_unit || unit_missing)
        {
            return level::SAME_ADDRESS;
        }
        if unit_missing {
            // Without a postcode, the town says whether the two are in the same area.
            if let (Some(x), Some(y)) = (self.name(ra.town), self.name(rb.town)) {
                return if x.key == y.key || jaro_winkler(&x.full, &y.full) >= 0.9 {
                    level::POSTCODE_AREA
                } else {
                    level::PLACE_DIFFERENT
                };
            }
            return match overlap {
                None => level::MISSING,
                Some(_) => level::PLACE_DIFFERENT,
            };
        }
        if same_unit {
            level::POSTCODE_UNIT
        } else if ra.postcode_sector != 0 && ra.postcode_sector == rb.postcode_sector {
            level::POSTCODE_SECTOR
        } else if ra.postcode_district != 0 && ra.postcode_district == rb.postcode_district {
            level::POSTCODE_DISTRICT
        } else if ra.postcode_area != 0 && ra.postcode_area == rb.postcode_area {
            level::POSTCODE_AREA
        } else {
            level::PLACE_DIFFERENT
        }
    }
}

fn identifier(a: u64, b: u64) -> u8 {
    match (a, b) {
        (0, _) | (_, 0) => level::MISSING,
        (x, y) if x == y => level::AGREE,
        _ => level::DISAGREE,
    }
}

/// Share of address words in common (of the shorter address); `None` if either is empty.
fn address_overlap(a: &[u64], b: &[u64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    Some(common as f64 / a.len().min(b.len()) as f64)
}

fn compare_dob(ra: &Prepared, rb: &Prepared) -> u8 {
    let (a, b) = (ra.dob, rb.dob);
    if !a.is_known() || !b.is_known() {
        return level::MISSING;
    }
    let full = |d: &crate::prepare::Dob| d.month != 0 && d.day != 0;
    if full(&a) && full(&b) {
        if (a.year, a.month, a.day) == (b.year, b.month, b.day) {
            return level::DOB_EXACT;
        }
        if a.year == b.year && a.month == b.day && a.day == b.month {
            return level::DOB_TRANSPOSED;
        }
        let differing = usize::from(a.year != b.year)
            + usize::from(a.month != b.month)
            + usize::from(a.day != b.day);
        if differing == 1 {
            return level::DOB_ONE_OFF;
        }
    } else {
        // At least one is partial: agree as far as both go.
        let months_agree = a.month == 0 || b.month == 0 || a.month == b.month;
        if a.year == b.year && months_agree {
            return level::DOB_PARTIAL;
        }
    }
    let apart = (a.approximate_days() - b.approximate_days()).abs();
    // An estimate (an expected date of delivery, an assessed age) is only known roughly.
    if (a.estimated || b.estimated) && apart <= 45 {
        return level::DOB_PARTIAL;
    }
    if apart <= 372 {
        level::DOB_WITHIN_YEAR
    } else {
        level::DOB_DIFFERENT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::{DEFAULT_NICKNAMES, Nicknames};
    use crate::prepare::{InputRecord, prepare};

    fn record(given: &str, family: &str, dob: &str, postcode: &str) -> InputRecord {
        InputRecord {
            source: "A".into(),
            record_id: format!("{given}{family}{dob}"),
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            date_of_birth: Some(dob.into()),
            postcode: Some(postcode.into()),
            ..InputRecord::default()
        }
    }

    fn levels(a: InputRecord, b: InputRecord) -> Gamma {
        let nicknames = Nicknames::parse(DEFAULT_NICKNAMES);
        let data = prepare(vec![a, b], &nicknames);
        Comparer {
            data: &data,
            nicknames: &nicknames,
            thresholds: Thresholds::default(),
        }
        .gamma(0, 1)
    }

    #[test]
    fn names_dates_and_places_get_their_levels() {
        let g = levels(
            record("William", "Smith", "14/03/2012", "LS6 2QT"),
            record("Bill", "SMITH", "2012-03-14", "ls62qt"),
        );
        assert_eq!(
            (g[GIVEN], g[FAMILY], g[DOB], g[LOCATION]),
            (
                level::GIVEN_ALIAS,
                level::FAMILY_EXACT,
                level::DOB_EXACT,
                level::POSTCODE_UNIT
            )
        );
        let g = levels(
            record("Amy", "Smith-Jones", "03/04/2012", "LS6 2QT"),
            record("Aimee", "Jones", "04/03/2012", "LS6 2QU"),
        );
        assert_eq!(g[FAMILY], level::FAMILY_PART);
        assert_eq!(g[DOB], level::DOB_TRANSPOSED);
        assert_eq!(g[LOCATION], level::POSTCODE_SECTOR);
        assert!(matches!(
            g[GIVEN],
            level::GIVEN_JW_HIGH | level::GIVEN_SIMILAR
        ));
        let g = levels(
            record("Smith", "Amy", "2012", "LS6 2QT"),
            record("Amy", "Smith", "14/03/2012", "BD1 1AA"),
        );
        assert_eq!(
            (g[GIVEN], g[FAMILY]),
            (level::GIVEN_ALIAS, level::FAMILY_EXACT)
        );
        assert_eq!(g[DOB], level::DOB_PARTIAL);
        assert_eq!(g[LOCATION], level::PLACE_DIFFERENT);
        let g = levels(
            record("Baby", "Smith", "", "LS6 2QT"),
            record("Jack", "Smith", "31/02/2012", ""),
        );
        assert_eq!(
            (g[GIVEN], g[DOB], g[LOCATION]),
            (level::MISSING, level::MISSING, level::MISSING)
        );
    }

    proptest::proptest! {
        #[test]
        fn jaro_winkler_agrees_with_strsim(a in "[a-e]{0,12}", b in "[a-e]{0,12}") {
            let ours = jaro_winkler(&a, &b);
            let theirs = strsim::jaro_winkler(&a, &b);
            proptest::prop_assert!((ours - theirs).abs() < 1e-12, "{a} {b}: {ours} vs {theirs}");
        }
    }

    #[test]
    fn twins_names_are_different() {
        let g = levels(
            record("Jack", "Smith", "14/03/2012", "LS6 2QT"),
            record("Jake", "Smith", "14/03/2012", "LS6 2QT"),
        );
        assert_ne!(g[GIVEN], level::GIVEN_EXACT);
        assert_ne!(g[GIVEN], level::GIVEN_ALIAS);
    }
}
