//! The fixed world a run lives in: local authority areas and their organisations.
//!
//! The set of organisations is decided up front from the population size, before any household
//! exists, so it can be written to `organisations.csv` first and so every household can be
//! assigned to its area's GP practice, schools and hospital by where it lives. An area is rebuilt
//! from its index alone (no state carried between areas), which keeps memory flat.

use crate::SynthConfig;
use crate::names::NameTables;
use crate::random::{Stream, pick, stream_rng};

const LOCALITIES: &str = include_str!("../data/localities.csv");

/// Agency person records per person, measured on default settings; used only to size the
/// population (and so the number of organisations) before generation starts.
pub(crate) const RECORDS_PER_PERSON: f64 = 1.8;

/// Share of the synthetic population who are children (households are all families).
const CHILD_SHARE: f64 = 0.5;

/// The kind of organisation, which fixes its code prefix, id style and date format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum OrgKind {
    GpPractice,
    Hospital,
    School,
    SocialCare,
    Police,
    Housing,
}

impl OrgKind {
    /// The `agency_type` column of `organisations.csv`.
    pub(crate) fn agency_type(self) -> &'static str {
        match self {
            OrgKind::GpPractice | OrgKind::Hospital => "health",
            OrgKind::School => "education",
            OrgKind::SocialCare => "social-care",
            OrgKind::Police => "police",
            OrgKind::Housing => "housing",
        }
    }

    pub(crate) fn is_health(self) -> bool {
        matches!(self, OrgKind::GpPractice | OrgKind::Hospital)
    }

    /// Whether the agency's extract includes a relationships file.
    pub(crate) fn records_relationships(self) -> bool {
        matches!(self, OrgKind::GpPractice | OrgKind::SocialCare)
    }

    /// Whether the agency's system keeps previous names.
    pub(crate) fn keeps_previous_names(self) -> bool {
        matches!(
            self,
            OrgKind::GpPractice | OrgKind::Hospital | OrgKind::SocialCare | OrgKind::Police
        )
    }
}

/// One organisation that contributes an extract.
#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) kind: OrgKind,
    /// The prefix of its local ids (trust code for hospitals, `S<URN>` for schools).
    pub(crate) id_prefix: String,
    /// DfE establishment number (schools only; 0 otherwise).
    pub(crate) establishment: u16,
}

/// One local authority area with its organisations.
#[derive(Debug)]
pub(crate) struct Locality {
    pub(crate) index: u64,
    pub(crate) town: String,
    /// DfE local-authority number, the 3 digits after a UPN's check letter.
    pub(crate) dfe_code: u16,
    pub(crate) postcode_area: String,
    /// Postcode districts households are spread over (`LS1`…`LSn`).
    pub(crate) districts: i64,
    pub(crate) orgs: Vec<Org>,
    pub(crate) gp_practices: Vec<usize>,
    pub(crate) hospitals: Vec<usize>,
    pub(crate) primary_schools: Vec<usize>,
    pub(crate) secondary_schools: Vec<usize>,
    pub(crate) social_care: usize,
    pub(crate) police: usize,
    pub(crate) housing: usize,
}

/// How the population is split into areas, fixed before generation.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) localities: u64,
    pub(crate) people_per_locality: u64,
    records: u64,
}

impl Plan {
    pub(crate) fn new(config: &SynthConfig) -> Plan {
        let people = (config.records as f64 / RECORDS_PER_PERSON).ceil() as u64;
        let localities = people.div_ceil(config.people_per_locality).max(1);
        Plan {
            localities,
            people_per_locality: people.div_ceil(localities).max(1),
            records: config.records,
        }
    }

    /// The share of the record target that area `index` generates.
    pub(crate) fn record_target(&self, index: u64) -> u64 {
        let base = self.records / self.localities;
        base + u64::from(index < self.records % self.localities)
    }
}

struct Row<'a> {
    ons_code: &'a str,
    la_name: &'a str,
    town: &'a str,
    dfe_code: u16,
    force_code: &'a str,
    force_name: &'a str,
    postcode_area: &'a str,
    trust_code: &'a str,
    trust_name: &'a str,
}

fn rows() -> Vec<Row<'static>> {
    LOCALITIES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() != 9 {
                return None;
            }
            Some(Row {
                ons_code: f[0],
                la_name: f[1],
                town: f[2],
                dfe_code: f[3].parse().ok()?,
                force_code: f[4],
                force_name: f[5],
                postcode_area: f[6],
                trust_code: f[7],
                trust_name: f[8],
            })
        })
        .collect()
}

fn round_at_least(value: f64, minimum: u64) -> u64 {
    (value.round() as u64).max(minimum)
}

impl Locality {
    /// Area `index` of a run; the first areas are real English authorities (public organisation
    /// codes), later ones synthetic boroughs with codes outside the real ranges.
    pub(crate) fn build(
        config: &SynthConfig,
        plan: &Plan,
        names: &NameTables,
        index: u64,
    ) -> Locality {
        let table = rows();
        let row_index = usize::try_from(index).unwrap_or(usize::MAX);
        let fallback = Row {
            ons_code: "E06000001",
            la_name: "Hartlepool",
            town: "Hartlepool",
            dfe_code: 805,
            force_code: "17",
            force_name: "Cleveland Police",
            postcode_area: "TS",
            trust_code: "RVW",
            trust_name: "North Tees and Hartlepool",
        };
        let real = table.get(row_index);
        let template = table
            .get(row_index % table.len().max(1))
            .unwrap_or(&fallback);
        let beyond = index.saturating_sub(table.len() as u64);
        let (ons_code, la_name, town, dfe_code, force_code, force_name, trust_code, trust_name) =
            match real {
                Some(row) => (
                    row.ons_code.to_string(),
                    row.la_name.to_string(),
                    row.town.to_string(),
                    row.dfe_code,
                    row.force_code.to_string(),
                    row.force_name.to_string(),
                    row.trust_code.to_string(),
                    row.trust_name.to_string(),
                ),
                None => (
                    format!("E99{index:06}"),
                    format!("Synthetic Borough {index}"),
                    template.town.to_string(),
                    950 + (beyond % 50) as u16,
                    format!("{}", 60 + beyond),
                    format!("Synthetic Constabulary {index}"),
                    format!("RZ{index}"),
                    format!("Synthetic Hospitals {index}"),
                ),
            };
        let postcode_area = template.postcode_area.to_string();
        let mut rng = stream_rng(config.seed, Stream::Locality, index, 0);

        let people = plan.people_per_locality as f64;
        let n_gp = round_at_least(people / config.people_per_gp_practice as f64, 1);
        let n_hospitals = plan
            .people_per_locality
            .div_ceil(config.people_per_hospital)
            .max(1);
        let n_schools = round_at_least(people * CHILD_SHARE / config.children_per_school as f64, 2);
        let n_secondary = round_at_least(n_schools as f64 * 0.18, 1);
        let n_primary = n_schools.saturating_sub(n_secondary).max(1);
        let districts = (plan.people_per_locality / 8_000).clamp(3, 30) as i64;

        let mut orgs = Vec::new();
        let area_letter = postcode_area.chars().next().unwrap_or('Y');
        let mut gp_practices = Vec::new();
        for i in 0..n_gp {
            let number = 81_000 + index * 200 + i;
            let street = names.street(&mut rng);
            let style = pick(&mut rng, &["Surgery", "Medical Practice", "Health Centre"])
                .copied()
                .unwrap_or("Surgery");
            gp_practices.push(orgs.len());
            orgs.push(Org {
                code: format!("GP_{area_letter}{number:05}"),
                name: format!("{street} {style}"),
                kind: OrgKind::GpPractice,
                id_prefix: "P".to_string(),
                establishment: 0,
            });
        }
        let mut hospitals = Vec::new();
        for i in 0..n_hospitals {
            let (code, name) = if i == 0 {
                (trust_code.clone(), trust_name.clone())
            } else {
                (
                    format!("{trust_code}{i}"),
                    format!("{trust_name} (site {})", i + 1),
                )
            };
            hospitals.push(orgs.len());
            orgs.push(Org {
                code: format!("HOSP_{code}"),
                name,
                kind: OrgKind::Hospital,
                id_prefix: code,
                establishment: 0,
            });
        }
        let mut primary_schools = Vec::new();
        let mut secondary_schools = Vec::new();
        for i in 0..(n_primary + n_secondary) {
            let urn = 100_000 + index * 2_000 + i;
            let street = names.street(&mut rng);
            let (name, establishment, list) = if i < n_primary {
                let style = pick(
                    &mut rng,
                    &["Primary School", "Primary Academy", "C of E Primary School"],
                )
                .copied()
                .unwrap_or("Primary School");
                (
                    format!("{street} {style}"),
                    2_000 + (i % 2_000) as u16,
                    &mut primary_schools,
                )
            } else {
                let style = pick(&mut rng, &["High School", "Academy", "Community College"])
                    .copied()
                    .unwrap_or("High School");
                (
                    format!("{street} {style}"),
                    4_000 + ((i - n_primary) % 1_000) as u16,
                    &mut secondary_schools,
                )
            };
            list.push(orgs.len());
            orgs.push(Org {
                code: format!("SCH_{urn}"),
                name,
                kind: OrgKind::School,
                id_prefix: format!("S{urn}"),
                establishment,
            });
        }
        let social_care = orgs.len();
        orgs.push(Org {
            code: format!("CSC_{ons_code}"),
            name: format!("{la_name} Children's Social Care"),
            kind: OrgKind::SocialCare,
            id_prefix: "LCS".to_string(),
            establishment: 0,
        });
        let police = orgs.len();
        orgs.push(Org {
            code: format!("POL_{force_code}"),
            name: force_name,
            kind: OrgKind::Police,
            id_prefix: "NOM-".to_string(),
            establishment: 0,
        });
        let housing = orgs.len();
        orgs.push(Org {
            code: format!("HOU_{ons_code}"),
            name: format!("{la_name} Housing Services"),
            kind: OrgKind::Housing,
            id_prefix: "HSG".to_string(),
            establishment: 0,
        });
        Locality {
            index,
            town,
            dfe_code,
            postcode_area,
            districts,
            orgs,
            gp_practices,
            hospitals,
            primary_schools,
            secondary_schools,
            social_care,
            police,
            housing,
        }
    }

    /// The organisation of a list (GP practices, schools…) that serves postcode district
    /// `district`, with a little spread so neighbours do not all use the same one.
    pub(crate) fn serving(&self, list: &[usize], district: i64, spread: i64) -> usize {
        if list.is_empty() {
            return 0;
        }
        let n = list.len() as i64;
        let base = (district - 1).max(0) * n / self.districts.max(1);
        let slot = (base + spread).rem_euclid(n);
        list.get(slot as usize).copied().unwrap_or(list[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_locality_table_parses_and_forces_are_distinct() {
        let table = rows();
        assert_eq!(
            table.len(),
            LOCALITIES
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .count()
        );
        let forces: BTreeSet<&str> = table.iter().map(|r| r.force_code).collect();
        assert_eq!(forces.len(), table.len());
    }

    #[test]
    fn organisations_scale_with_population_and_codes_are_unique() {
        let names = NameTables::load();
        let small = SynthConfig {
            records: 100,
            ..SynthConfig::default()
        };
        let plan = Plan::new(&small);
        assert_eq!(plan.localities, 1);
        let area = Locality::build(&small, &plan, &names, 0);
        assert_eq!(area.gp_practices.len(), 1);
        assert_eq!(area.primary_schools.len(), 1);
        assert_eq!(area.secondary_schools.len(), 1);
        assert_eq!(area.hospitals.len(), 1);

        let big = SynthConfig {
            records: 10_000_000,
            ..SynthConfig::default()
        };
        let plan = Plan::new(&big);
        assert!(plan.localities >= 15, "{}", plan.localities);
        let total: u64 = (0..plan.localities).map(|i| plan.record_target(i)).sum();
        assert_eq!(total, 10_000_000);
        let mut codes = BTreeSet::new();
        for index in 0..plan.localities + 45 {
            let area = Locality::build(&big, &plan, &names, index);
            assert!(area.gp_practices.len() >= 30);
            for org in &area.orgs {
                let prefix = match org.kind {
                    OrgKind::GpPractice => "GP_",
                    OrgKind::Hospital => "HOSP_",
                    OrgKind::School => "SCH_",
                    OrgKind::SocialCare => "CSC_",
                    OrgKind::Police => "POL_",
                    OrgKind::Housing => "HOU_",
                };
                assert!(org.code.starts_with(prefix), "{}", org.code);
                assert!(codes.insert(org.code.clone()), "duplicate {}", org.code);
            }
        }
    }
}
