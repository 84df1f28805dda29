//! Names with realistic frequencies, so that common names collide as often as they do in England.
//!
//! The tables are CSV files under `data/`, compiled into the crate: given names by sex and
//! surnames, each with a relative weight and a heritage group so a family's names fit together,
//! plus a table of diminutives and spelling variants (William→Bill, Mohammed→Muhammad).

use std::collections::BTreeMap;

use rand::Rng;

use crate::random::chance;

const GIVEN_MALE: &str = include_str!("../data/given_male.csv");
const GIVEN_FEMALE: &str = include_str!("../data/given_female.csv");
const SURNAMES: &str = include_str!("../data/surnames.csv");
const NICKNAMES: &str = include_str!("../data/nicknames.csv");
const STREETS: &str = include_str!("../data/streets.txt");

/// Heritage groups of the name tables, with the share of families in England's child population
/// (approximate) and the share among unaccompanied asylum-seeking young people.
const HERITAGES: [(&str, u32, u32); 12] = [
    ("gb", 780, 0),
    ("sa", 70, 8),
    ("in", 40, 0),
    ("pl", 40, 0),
    ("wa", 30, 2),
    ("so", 15, 12),
    ("cn", 10, 0),
    ("ro", 15, 3),
    ("af", 0, 35),
    ("er", 0, 20),
    ("al", 0, 12),
    ("vn", 0, 8),
];

/// Pairs of similar given names, sometimes given to twins.
// Twins are given matching names — rhyming or alliterative — but two different names, not two
// spellings of one (no parents call twins Isabel and Isobel).
const SIMILAR_MALE: [(&str, &str); 6] = [
    ("Jack", "Jake"),
    ("Harry", "Harvey"),
    ("Ryan", "Rhys"),
    ("Mason", "Jason"),
    ("Alfie", "Archie"),
    ("Leo", "Luca"),
];
const SIMILAR_FEMALE: [(&str, &str); 6] = [
    ("Ella", "Emma"),
    ("Lily", "Lola"),
    ("Amelia", "Emilia"),
    ("Ava", "Eva"),
    ("Ruby", "Rosie"),
    ("Aisha", "Amira"),
];

/// A list of names with cumulative weights, for weighted sampling.
#[derive(Debug, Default)]
pub(crate) struct WeightedNames {
    names: Vec<&'static str>,
    cumulative: Vec<u64>,
}

impl WeightedNames {
    fn push(&mut self, name: &'static str, weight: u64) {
        let total = self.total() + weight;
        self.names.push(name);
        self.cumulative.push(total);
    }

    fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// A name drawn in proportion to its weight; `None` only for an empty list.
    pub(crate) fn pick(&self, rng: &mut impl Rng) -> Option<&'static str> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let target = rng.random_range(0..total);
        let index = self.cumulative.partition_point(|c| *c <= target);
        self.names.get(index).copied()
    }
}

/// Names of one kind (male given, female given or surname), by heritage and overall.
#[derive(Debug, Default)]
pub(crate) struct NamePool {
    by_heritage: Vec<WeightedNames>,
    all: WeightedNames,
}

impl NamePool {
    fn parse(text: &'static str) -> NamePool {
        let mut pool = NamePool {
            by_heritage: HERITAGES.iter().map(|_| WeightedNames::default()).collect(),
            all: WeightedNames::default(),
        };
        for (name, weight, heritage) in table_rows(text) {
            pool.all.push(name, weight);
            if let Some(slot) = pool.by_heritage.get_mut(heritage) {
                slot.push(name, weight);
            }
        }
        pool
    }

    /// A name of the given heritage most of the time, otherwise any name (families mix).
    pub(crate) fn pick(&self, heritage: Heritage, rng: &mut impl Rng) -> &'static str {
        let own = self.by_heritage.get(heritage.0).filter(|p| p.len() > 0);
        let chosen = match own {
            Some(pool) if chance(rng, 0.85) => pool.pick(rng),
            _ => self.all.pick(rng),
        };
        chosen.unwrap_or("Smith")
    }
}

/// Reads `name,weight,heritage` rows; comment and malformed lines are skipped (a unit test
/// checks that none are malformed).
fn table_rows(text: &'static str) -> impl Iterator<Item = (&'static str, u64, usize)> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut parts = line.split(',');
            let name = parts.next()?.trim();
            let weight = parts.next()?.trim().parse::<u64>().ok()?;
            let heritage = parts.next()?.trim();
            let index = HERITAGES
                .iter()
                .position(|(code, _, _)| *code == heritage)?;
            Some((name, weight, index))
        })
}

/// An index into the heritage groups of the name tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Heritage(usize);

/// All the name data, loaded once per run.
#[derive(Debug)]
pub(crate) struct NameTables {
    pub(crate) male: NamePool,
    pub(crate) female: NamePool,
    pub(crate) surnames: NamePool,
    variants: BTreeMap<&'static str, Vec<&'static str>>,
    streets: Vec<&'static str>,
    /// Weighted share of given names that have a variant, to turn the per-record nickname rate
    /// into a per-eligible-record probability.
    variant_share: f64,
}

impl NameTables {
    pub(crate) fn load() -> NameTables {
        let male = NamePool::parse(GIVEN_MALE);
        let female = NamePool::parse(GIVEN_FEMALE);
        let surnames = NamePool::parse(SURNAMES);
        let mut variants = BTreeMap::new();
        for line in NICKNAMES.lines() {
            if line.starts_with('#') {
                continue;
            }
            if let Some((formal, list)) = line.split_once(',') {
                let list: Vec<&'static str> = list.split(';').map(str::trim).collect();
                variants.insert(formal.trim(), list);
            }
        }
        let streets = STREETS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let mut eligible = 0u64;
        let mut total = 0u64;
        for pool in [&male.all, &female.all] {
            let mut previous = 0;
            for (name, cumulative) in pool.names.iter().zip(&pool.cumulative) {
                let weight = cumulative - previous;
                previous = *cumulative;
                total += weight;
                if variants.contains_key(name) {
                    eligible += weight;
                }
            }
        }
        let variant_share = if total == 0 {
            1.0
        } else {
            eligible as f64 / total as f64
        };
        NameTables {
            male,
            female,
            surnames,
            variants,
            streets,
            variant_share,
        }
    }

    /// The heritage of a new family, in proportion to England's child population.
    pub(crate) fn family_heritage(&self, rng: &mut impl Rng) -> Heritage {
        pick_heritage(rng, |(_, family, _)| *family)
    }

    /// The heritage of an unaccompanied asylum-seeking young person.
    pub(crate) fn asylum_heritage(&self, rng: &mut impl Rng) -> Heritage {
        pick_heritage(rng, |(_, _, asylum)| *asylum)
    }

    /// Whether this heritage's naming conventions often put the family name first.
    pub(crate) fn family_name_first(heritage: Heritage) -> bool {
        matches!(
            HERITAGES.get(heritage.0).map(|h| h.0),
            Some("cn" | "vn" | "er" | "so")
        )
    }

    pub(crate) fn given(
        &self,
        female: bool,
        heritage: Heritage,
        rng: &mut impl Rng,
    ) -> &'static str {
        if female {
            self.female.pick(heritage, rng)
        } else {
            self.male.pick(heritage, rng)
        }
    }

    pub(crate) fn surname(&self, heritage: Heritage, rng: &mut impl Rng) -> &'static str {
        self.surnames.pick(heritage, rng)
    }

    pub(crate) fn street(&self, rng: &mut impl Rng) -> &'static str {
        if self.streets.is_empty() {
            return "Church";
        }
        self.streets[rng.random_range(0..self.streets.len())]
    }

    /// A diminutive or spelling variant of `given`, if the table knows one.
    pub(crate) fn variant(&self, given: &str, rng: &mut impl Rng) -> Option<&'static str> {
        let list = self.variants.get(given)?;
        if list.is_empty() {
            return None;
        }
        Some(list[rng.random_range(0..list.len())])
    }

    /// The probability of using a variant for a record whose name has one, so that about
    /// `per_record_rate` of all records carry a variant.
    pub(crate) fn variant_probability(&self, per_record_rate: f64) -> f64 {
        if self.variant_share <= 0.0 {
            return 0.0;
        }
        (per_record_rate / self.variant_share).min(1.0)
    }

    /// A pair of similar names for twins of this sex.
    pub(crate) fn similar_pair(female: bool, rng: &mut impl Rng) -> (&'static str, &'static str) {
        let pairs = if female {
            &SIMILAR_FEMALE
        } else {
            &SIMILAR_MALE
        };
        pairs[rng.random_range(0..pairs.len())]
    }
}

fn pick_heritage(rng: &mut impl Rng, weight: impl Fn(&(&str, u32, u32)) -> u32) -> Heritage {
    let total: u32 = HERITAGES.iter().map(&weight).sum();
    if total == 0 {
        return Heritage(0);
    }
    let mut target = rng.random_range(0..total);
    for (index, heritage) in HERITAGES.iter().enumerate() {
        let w = weight(heritage);
        if target < w {
            return Heritage(index);
        }
        target -= w;
    }
    Heritage(0)
}

/// Drops accents the way many agency systems do (`Zoë` → `Zoe`, `Łukasz` → `Lukasz`).
pub(crate) fn fold_diacritics(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ą' => 'a',
            'ç' | 'ć' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ę' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ł' => 'l',
            'ñ' | 'ń' => 'n',
            'ò' | 'ó' | 'ô' | 'ö' => 'o',
            'ś' => 's',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ź' | 'ż' => 'z',
            'Ł' => 'L',
            'Ś' => 'S',
            'Ż' | 'Ź' => 'Z',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn data_lines(text: &str) -> usize {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count()
    }

    #[test]
    fn every_table_row_parses() {
        for text in [GIVEN_MALE, GIVEN_FEMALE, SURNAMES] {
            assert_eq!(table_rows(text).count(), data_lines(text));
        }
        let tables = NameTables::load();
        assert!(tables.male.all.len() >= 150);
        assert!(tables.female.all.len() >= 150);
        assert!(tables.surnames.all.len() >= 300);
        assert_eq!(tables.variants.len(), data_lines(NICKNAMES));
        assert!(tables.streets.len() >= 80);
    }

    #[test]
    fn common_surnames_are_common() {
        let tables = NameTables::load();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let smiths = (0..20_000)
            .filter(|_| tables.surname(Heritage(0), &mut rng) == "Smith")
            .count();
        // Smith is about 3% of the British pool.
        assert!((300..1_000).contains(&smiths), "{smiths}");
    }

    #[test]
    fn variants_cover_the_examples() {
        let tables = NameTables::load();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let seen: Vec<&str> = (0..50)
            .filter_map(|_| tables.variant("William", &mut rng))
            .collect();
        assert!(seen.contains(&"Bill"));
        assert!(tables.variant("Mohammed", &mut rng).is_some());
        assert!(tables.variant("Zebedee", &mut rng).is_none());
        let p = tables.variant_probability(0.03);
        assert!(p > 0.03 && p < 0.2, "{p}");
    }

    #[test]
    fn folding_drops_accents() {
        assert_eq!(fold_diacritics("Zoë Wiśniewski"), "Zoe Wisniewski");
        assert_eq!(fold_diacritics("Łukasz"), "Lukasz");
    }
}
