//! How each agency sees a household: its own local ids, date formats and habits, and the hard
//! cases for record linkage applied record by record, each one tagged for the ground truth.
//!
//! This is where the truth from `household` becomes messy on purpose. A record's tags list
//! exactly the hard cases it carries, so a linkage benchmark can score each kind separately.

use std::collections::BTreeMap;

use rand::Rng;

use crate::corrupt::{ocr, surname_variant, typo};
use crate::dates::{DateStyle, Day, month_year};
use crate::household::{
    Address, CareLevel, Household, MultipleBirth, Person, RelationKind, Role, World,
};
use crate::ids::{nhs_digit_changed, nhs_invalid, pnc, temporary_upn, upn};
use crate::locality::{Org, OrgKind};
use crate::names::fold_diacritics;
use crate::random::{between, chance, pick};

const YEAR: i64 = 365;

/// Per-area counters that make local ids and UPN serials unique.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    next_local_id: Vec<u64>,
    upn_serials: BTreeMap<(usize, i64), u16>,
}

impl Counters {
    fn local_id(&mut self, org_index: usize, org: &Org) -> String {
        if self.next_local_id.len() <= org_index {
            self.next_local_id.resize(org_index + 1, 0);
        }
        let n = match self.next_local_id.get_mut(org_index) {
            Some(slot) => {
                *slot += 1;
                *slot
            }
            None => 1,
        };
        match org.kind {
            OrgKind::GpPractice => format!("P{n:06}"),
            OrgKind::Hospital => format!("{}-{:07}", org.id_prefix, 1_000_000 + n),
            OrgKind::School => format!("{}-{n:05}", org.id_prefix),
            OrgKind::SocialCare => format!("LCS{:06}", 100_000 + n),
            OrgKind::Police => format!("NOM-{n:06}"),
            OrgKind::Housing => format!("HSG{n:07}"),
        }
    }

    fn upn_serial(&mut self, school: usize, year: i64) -> u16 {
        let slot = self.upn_serials.entry((school, year)).or_insert(0);
        *slot = slot.wrapping_add(1);
        *slot % 1000
    }
}

/// One agency's record of one person, ready to write.
#[derive(Debug, Clone, Default)]
pub(crate) struct AgencyRecord {
    pub(crate) org: usize,
    pub(crate) member: usize,
    pub(crate) record_id: String,
    pub(crate) given: String,
    pub(crate) middle: String,
    pub(crate) family: String,
    pub(crate) previous_names: String,
    pub(crate) dob: String,
    pub(crate) sex: String,
    pub(crate) address: String,
    pub(crate) town: String,
    pub(crate) postcode: String,
    pub(crate) uprn: String,
    pub(crate) nhs: String,
    pub(crate) nhs_status: String,
    pub(crate) upn: String,
    pub(crate) former_upns: String,
    pub(crate) pnc: String,
    pub(crate) tags: Vec<&'static str>,
    /// The person's main record at this organisation (not a duplicate, a `Baby of` record or a
    /// former school's); relationships link main records.
    pub(crate) main: bool,
}

/// A dated event about a record.
#[derive(Debug, Clone)]
pub(crate) struct AgencyEntry {
    pub(crate) org: usize,
    pub(crate) entry_id: String,
    pub(crate) record_id: String,
    pub(crate) entry_type: &'static str,
    pub(crate) occurred_on: String,
    pub(crate) ended_on: String,
    pub(crate) category: &'static str,
    pub(crate) sensitivity: &'static str,
    pub(crate) summary: &'static str,
}

/// A relationship an agency recorded between two of its records.
#[derive(Debug, Clone)]
pub(crate) struct AgencyRelationship {
    pub(crate) org: usize,
    pub(crate) record_id: String,
    pub(crate) related_record_id: String,
    pub(crate) relationship: &'static str,
    pub(crate) start_date: String,
}

/// Everything the agencies hold about one household.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    pub(crate) records: Vec<AgencyRecord>,
    pub(crate) entries: Vec<AgencyEntry>,
    pub(crate) relationships: Vec<AgencyRelationship>,
}

/// Why a person appears in an organisation's extract.
#[derive(Debug, Clone, PartialEq)]
enum Appearance {
    Main,
    /// A second record for the same person at the same hospital.
    Duplicate,
    /// A maternity or pre-birth record before the baby was named.
    BabyOf,
    /// A pupil at a school: the UPN it holds, former UPNs it knows, enrolment and leaving days.
    Pupil {
        upn: String,
        former_upns: String,
        upn_changed: bool,
        moved: bool,
        enrolled: Day,
        left: Option<Day>,
    },
}

fn style(kind: OrgKind) -> DateStyle {
    match kind {
        OrgKind::GpPractice | OrgKind::SocialCare => DateStyle::SlashDmy,
        OrgKind::Hospital => DateStyle::Iso,
        OrgKind::School => DateStyle::DayMonthName,
        OrgKind::Police => DateStyle::DotDmy,
        OrgKind::Housing => DateStyle::SlashDmyUnpadded,
    }
}

fn category(kind: OrgKind) -> &'static str {
    match kind {
        OrgKind::GpPractice | OrgKind::Hospital => "health",
        OrgKind::School => "education",
        OrgKind::SocialCare => "social-care",
        OrgKind::Police => "police",
        OrgKind::Housing => "housing",
    }
}

/// When a child started Reception: the September after their fourth birthday.
fn school_entry_year(dob: Day) -> i64 {
    let (year, month, _) = dob.ymd();
    year + 4 + i64::from(month >= 9)
}

fn september(year: i64) -> Day {
    Day::from_ymd(year, 9, 1)
}

fn random_day(rng: &mut impl Rng, from: Day, to: Day) -> Day {
    Day(between(rng, from.0, to.0.max(from.0)))
}

/// Renders every agency record of a household.
pub(crate) fn render(
    world: &World<'_>,
    household: &Household,
    rng: &mut impl Rng,
    counters: &mut Counters,
) -> Rendered {
    let appearances = appearances(world, household, rng, counters);

    // A recent move: one organisation still has the old address.
    let stale_org = household.previous_address.as_ref().and_then(|_| {
        let mut orgs: Vec<usize> = appearances.iter().map(|(_, org, _)| *org).collect();
        orgs.sort_unstable();
        orgs.dedup();
        (orgs.len() >= 2)
            .then(|| pick(rng, &orgs).copied())
            .flatten()
    });

    let mut rendered = Rendered::default();
    for (member, org_index, appearance) in appearances {
        let (Some(person), Some(org)) = (
            household.members.get(member),
            world.locality.orgs.get(org_index),
        ) else {
            continue;
        };
        let record_id = counters.local_id(org_index, org);
        let address = match (&household.previous_address, stale_org) {
            (Some(old), Some(stale)) if stale == org_index => old,
            _ => &household.address,
        };
        let mut record = if appearance == Appearance::BabyOf {
            baby_of_record(world, household, person, org, rng)
        } else {
            person_record(world, household, member, person, org, &appearance, rng)
        };
        record.org = org_index;
        record.member = member;
        record.record_id = record_id;
        record.main = matches!(
            appearance,
            Appearance::Main | Appearance::Pupil { left: None, .. }
        );
        if stale_org == Some(org_index) && household.previous_address.is_some() {
            record.tags.push("house_move");
        }
        write_address(world, &mut record, address, org.kind, rng);
        record.tags.sort_unstable();
        record.tags.dedup();
        entries(
            world,
            household,
            person,
            org,
            &appearance,
            &record,
            rng,
            &mut rendered.entries,
        );
        rendered.records.push(record);
    }
    relationships(household, world, &mut rendered);
    rendered
}

/// Which organisations hold a record of which member, and why.
fn appearances(
    world: &World<'_>,
    household: &Household,
    rng: &mut impl Rng,
    counters: &mut Counters,
) -> Vec<(usize, usize, Appearance)> {
    let coverage = &world.config.coverage;
    let rates = &world.config.rates;
    let locality = world.locality;
    let as_of = world.as_of;
    let mut out = Vec::new();
    let mut lead_tenant_done = false;
    for (member, person) in household.members.iter().enumerate() {
        let child = person.role.is_child();
        let age = person.dob.years_until(as_of);
        let gp_rate = if person.age_disputed {
            0.95
        } else if child {
            coverage.gp_child
        } else {
            coverage.gp_adult
        };
        // A baby first recorded as `Baby of …` is always registered with a GP under its name.
        let baby_of = child && as_of.0 - person.dob.0 < YEAR && chance(rng, rates.baby_of);
        if baby_of || chance(rng, gp_rate) {
            out.push((member, household.gp_practice, Appearance::Main));
        }
        let hospital_rate = if child {
            coverage.hospital_child
        } else {
            coverage.hospital_adult
        };
        if chance(rng, hospital_rate) {
            out.push((member, household.hospital, Appearance::Main));
            if chance(rng, rates.duplicate_record) {
                out.push((member, household.hospital, Appearance::Duplicate));
            }
        }
        if baby_of {
            out.push((member, household.hospital, Appearance::BabyOf));
            if household.social_care.is_some() && chance(rng, 0.5) {
                out.push((member, locality.social_care, Appearance::BabyOf));
            }
        }
        if child {
            schooling(world, household, person, rng, counters, member, &mut out);
        }
        if household.social_care.is_some() && (child || chance(rng, 0.85)) {
            out.push((member, locality.social_care, Appearance::Main));
        }
        let police = if household.police {
            if !child {
                chance(rng, 0.8)
            } else if age >= 10 {
                chance(rng, 0.6)
            } else {
                chance(rng, 0.3)
            }
        } else {
            child
                && age >= 10
                && chance(
                    rng,
                    coverage.police_young_person * if person.age_disputed { 6.0 } else { 1.0 },
                )
        };
        if police {
            out.push((member, locality.police, Appearance::Main));
        }
        if household.social_housing {
            let tenant = if child {
                chance(rng, 0.5)
            } else if !lead_tenant_done {
                lead_tenant_done = true;
                true
            } else {
                chance(rng, 0.6)
            };
            if tenant {
                out.push((member, locality.housing, Appearance::Main));
            }
        }
    }
    out
}

/// A child's school records: the current school, and the previous one after a move.
fn schooling(
    world: &World<'_>,
    household: &Household,
    person: &Person,
    rng: &mut impl Rng,
    counters: &mut Counters,
    member: usize,
    out: &mut Vec<(usize, usize, Appearance)>,
) {
    let rates = &world.config.rates;
    let locality = world.locality;
    let as_of = world.as_of;
    let (as_of_year, as_of_month, _) = as_of.ymd();
    let academic_year = if as_of_month >= 9 {
        as_of_year
    } else {
        as_of_year - 1
    };
    let (entry_year, school_rate) = if person.age_disputed {
        (
            academic_year,
            if person.dob.years_until(as_of) < 16 {
                0.8
            } else {
                0.4
            },
        )
    } else {
        (school_entry_year(person.dob), world.config.coverage.school)
    };
    if september(entry_year) > as_of || as_of >= september(entry_year + 14) {
        return;
    }
    if !chance(rng, school_rate) {
        return;
    }
    let secondary = as_of >= september(entry_year + 7);
    let (phase_list, current) = if secondary {
        (&locality.secondary_schools, household.secondary_school)
    } else {
        (&locality.primary_schools, household.primary_school)
    };
    let phase_start = if secondary {
        entry_year + 7
    } else {
        entry_year
    };
    let moved_from = if chance(rng, rates.school_move) && academic_year > phase_start {
        let others: Vec<usize> = phase_list
            .iter()
            .copied()
            .filter(|s| *s != current)
            .collect();
        pick(rng, &others).copied()
    } else {
        None
    };
    // The first UPN comes from the school the child started Reception at.
    let first_school = match (secondary, moved_from) {
        (false, Some(old)) => old,
        (true, _) => household.primary_school,
        _ => current,
    };
    let establishment = |school: usize| locality.orgs.get(school).map_or(0, |o| o.establishment);
    let serial = counters.upn_serial(first_school, entry_year);
    let Some(first_upn) = upn(
        locality.dfe_code,
        establishment(first_school),
        entry_year,
        serial,
    ) else {
        return;
    };
    match moved_from {
        Some(old_school) => {
            let move_year = between(rng, phase_start + 1, academic_year);
            let moved_on = Day::from_ymd(move_year, between(rng, 1, 12), between(rng, 1, 28))
                .max(september(phase_start).plus(30))
                .min(as_of.plus(-7));
            let enrolled_old = september(phase_start);
            out.push((
                member,
                old_school,
                Appearance::Pupil {
                    upn: first_upn.clone(),
                    former_upns: String::new(),
                    upn_changed: false,
                    moved: true,
                    enrolled: enrolled_old,
                    left: Some(moved_on),
                },
            ));
            let new_upn = if chance(rng, rates.upn_change) {
                let serial = counters.upn_serial(current, move_year);
                upn(locality.dfe_code, establishment(current), move_year, serial)
            } else {
                None
            };
            let (upn_text, former, changed) = match new_upn {
                Some(new) => {
                    let former = if chance(rng, 0.5) {
                        first_upn
                    } else {
                        String::new()
                    };
                    (new, former, true)
                }
                None => (first_upn, String::new(), false),
            };
            out.push((
                member,
                current,
                Appearance::Pupil {
                    upn: upn_text,
                    former_upns: former,
                    upn_changed: changed,
                    moved: true,
                    enrolled: moved_on.plus(1),
                    left: None,
                },
            ));
        }
        None => out.push((
            member,
            current,
            Appearance::Pupil {
                upn: first_upn,
                former_upns: String::new(),
                upn_changed: false,
                moved: false,
                enrolled: september(phase_start),
                left: None,
            },
        )),
    }
}

/// The record of a named person, with the hard cases applied.
fn person_record(
    world: &World<'_>,
    household: &Household,
    member: usize,
    person: &Person,
    org: &Org,
    appearance: &Appearance,
    rng: &mut impl Rng,
) -> AgencyRecord {
    let rates = &world.config.rates;
    let names = world.names;
    let kind = org.kind;
    let mut record = AgencyRecord::default();
    let mut tags: Vec<&'static str> = Vec::new();
    match person.multiple_birth {
        Some(MultipleBirth::Twin) => tags.push("twin"),
        Some(MultipleBirth::Triplet) => tags.push("triplet"),
        None => {}
    }
    if person.close_sibling {
        tags.push("close_sibling");
    }
    if *appearance == Appearance::Duplicate {
        tags.push("duplicate_record");
    }

    // Names.
    let mut given = person.given.clone();
    let mut middle = person.middle.clone().unwrap_or_default();
    let mut family = person.family.clone();
    let mut previous = String::new();
    if let Some(former) = &person.former_family {
        if chance(rng, rates.surname_change) {
            family = former.clone();
            tags.push("surname_change");
        } else if kind.keeps_previous_names() && chance(rng, 0.5) {
            previous = former.clone();
        }
    }
    if person.hyphenated {
        tags.push("hyphenated_surname");
        family = surname_variant(&family, rng);
    }
    if !middle.is_empty() && chance(rng, rates.known_by_middle_name) {
        let first_middle = middle.split(' ').next().unwrap_or_default().to_string();
        middle = given;
        given = first_middle;
        tags.push("known_by_middle_name");
    } else if chance(rng, names.variant_probability(rates.nickname))
        && let Some(variant) = names.variant(&given, rng)
    {
        given = variant.to_string();
        tags.push("nickname");
    }
    // Schools and police often drop middle names.
    if matches!(kind, OrgKind::School | OrgKind::Police | OrgKind::Housing) && chance(rng, 0.5) {
        middle.clear();
    }
    let swap_rate = if person.family_name_first {
        rates.name_swap * 5.0
    } else {
        rates.name_swap
    };
    if chance(rng, swap_rate) {
        std::mem::swap(&mut given, &mut family);
        tags.push("name_swap");
    }
    if chance(rng, rates.typo) {
        let target = if chance(rng, 0.5) {
            &mut given
        } else {
            &mut family
        };
        if let Some(changed) = typo(target, rng) {
            *target = changed;
            tags.push("typo");
        }
    }
    if chance(rng, rates.ocr) {
        let target = if chance(rng, 0.5) {
            &mut given
        } else {
            &mut family
        };
        if let Some(changed) = ocr(target, rng) {
            *target = changed;
            tags.push("ocr");
        }
    }
    if matches!(kind, OrgKind::Hospital | OrgKind::Police | OrgKind::Housing) {
        let folded = (fold_diacritics(&given), fold_diacritics(&family));
        if folded.0 != given || folded.1 != family {
            tags.push("diacritics");
        }
        given = folded.0;
        family = folded.1;
        middle = fold_diacritics(&middle);
    }
    if kind == OrgKind::Police {
        family = family.to_uppercase();
    }

    // Date of birth.
    let date_style = style(kind);
    let (year, month, day) = person.dob.ymd();
    record.dob = if person.age_disputed {
        tags.push("estimated_dob");
        // The claimed age, or the older age an assessment gave.
        let assessed = if chance(rng, 0.5) {
            year
        } else {
            year - between(rng, 1, 2)
        };
        match kind {
            OrgKind::SocialCare | OrgKind::Police if chance(rng, 0.5) => format!("~{assessed}"),
            OrgKind::SocialCare | OrgKind::Police => {
                format!("~{}", date_style.full(assessed, 1, 1))
            }
            _ => date_style.full(assessed, 1, 1),
        }
    } else if day <= 12 && day != month && chance(rng, rates.day_month_transposed) {
        tags.push("day_month_transposed");
        date_style.full(year, day, month)
    } else if chance(rng, rates.partial_dob) {
        tags.push("partial_dob");
        if chance(rng, 0.6) {
            month_year(year, month)
        } else {
            format!("{year}")
        }
    } else {
        date_style.full(year, month, day)
    };

    record.sex = match (kind, person.female) {
        (OrgKind::Police, true) => "female",
        (OrgKind::Police, false) => "male",
        (_, true) => "F",
        (_, false) => "M",
    }
    .to_string();

    // NHS number.
    let missing_rate = if kind.is_health() {
        rates.missing_nhs_in_health
    } else {
        rates.missing_nhs_outside_health
    };
    if chance(rng, missing_rate) {
        tags.push("missing_nhs");
    } else {
        let mut status = if kind.is_health() {
            match between(rng, 0, 99) {
                0..=92 => "01",
                93..=97 => "02",
                _ => "03",
            }
        } else {
            ""
        };
        let mut number = person.nhs.clone();
        if chance(rng, rates.wrong_valid_nhs) {
            let siblings: Vec<&Person> = household
                .members
                .iter()
                .enumerate()
                .filter(|(i, p)| *i != member && p.role.is_child() == person.role.is_child())
                .map(|(_, p)| p)
                .collect();
            let wrong = match pick(rng, &siblings) {
                Some(other) if chance(rng, 0.5) => Some(other.nhs.clone()),
                _ => nhs_digit_changed(&person.nhs, rng),
            };
            if let Some(wrong) = wrong {
                number = wrong;
                tags.push("wrong_valid_nhs");
                if kind.is_health() {
                    status = "02";
                }
            }
        } else if chance(rng, rates.invalid_nhs) {
            number = nhs_invalid(&person.nhs, rng);
            tags.push("invalid_nhs");
            if kind.is_health() {
                status = "02";
            }
        }
        record.nhs = number;
        record.nhs_status = status.to_string();
    }

    // Pupil and police identifiers.
    if let Appearance::Pupil {
        upn,
        former_upns,
        upn_changed,
        moved,
        ..
    } = appearance
    {
        record.upn = upn.clone();
        record.former_upns = former_upns.clone();
        if *moved {
            tags.push("school_move");
        }
        if *upn_changed {
            tags.push("upn_change");
        }
        if chance(rng, rates.temporary_upn) {
            let locality = world.locality;
            if let Some(temporary) = temporary_upn(
                locality.dfe_code,
                org.establishment,
                world.as_of.year(),
                rng,
            ) {
                record.upn = temporary;
                record.former_upns.clear();
                tags.push("temporary_upn");
            }
        }
    }
    let age = person.dob.years_until(world.as_of);
    if kind == OrgKind::Police && age >= 10 && chance(rng, 0.4) {
        let first_year = year + between(rng, 10, age.min(40));
        if let Some(id) = pnc(first_year.min(world.as_of.year()), person.sequence) {
            record.pnc = id;
        }
    }

    record.given = given;
    record.middle = middle;
    record.family = family;
    record.previous_names = previous;
    record.tags = tags;
    record
}

/// A maternity or pre-birth record: `Baby of <mother>`, the mother's surname, an expected date
/// and no NHS number.
fn baby_of_record(
    world: &World<'_>,
    household: &Household,
    person: &Person,
    org: &Org,
    rng: &mut impl Rng,
) -> AgencyRecord {
    let mother = household.mother();
    let mother_given = mother.map_or("Unknown", |m| m.given.as_str());
    let given = match between(rng, 0, 9) {
        0..=4 => format!("Baby of {mother_given}"),
        5..=7 => "Baby".to_string(),
        _ => String::new(),
    };
    let family = mother.map_or_else(|| person.family.clone(), |m| m.family.clone());
    let expected = person.dob.plus(between(rng, -21, 21));
    let (year, month, day) = expected.ymd();
    let dob = if chance(rng, 0.4) {
        month_year(year, month)
    } else {
        format!("~{}", style(org.kind).full(year, month, day))
    };
    let sex = if chance(rng, 0.4) {
        "U"
    } else if person.female {
        "F"
    } else {
        "M"
    };
    let _ = world;
    AgencyRecord {
        given,
        family,
        dob,
        sex: sex.to_string(),
        tags: vec!["baby_of"],
        ..AgencyRecord::default()
    }
}

fn write_address(
    world: &World<'_>,
    record: &mut AgencyRecord,
    address: &Address,
    kind: OrgKind,
    rng: &mut impl Rng,
) {
    let rates = &world.config.rates;
    record.address = address.line.clone();
    record.town = if chance(rng, 0.1) {
        String::new()
    } else {
        address.town.clone()
    };
    record.postcode = if chance(rng, rates.sloppy_postcode) {
        record.tags.push("sloppy_postcode");
        if chance(rng, 0.5) {
            address.postcode.to_lowercase()
        } else {
            address.postcode.replace(' ', "")
        }
    } else {
        address.postcode.clone()
    };
    let uprn_rate = match kind {
        OrgKind::Housing => 1.0,
        OrgKind::GpPractice => 0.3,
        OrgKind::SocialCare => 0.2,
        OrgKind::Hospital => 0.1,
        OrgKind::School | OrgKind::Police => 0.05,
    };
    if chance(rng, uprn_rate) {
        record.uprn = address.uprn.clone();
    }
}

#[allow(clippy::too_many_arguments)]
fn entries(
    world: &World<'_>,
    household: &Household,
    person: &Person,
    org: &Org,
    appearance: &Appearance,
    record: &AgencyRecord,
    rng: &mut impl Rng,
    out: &mut Vec<AgencyEntry>,
) {
    let as_of = world.as_of;
    let kind = org.kind;
    let category = category(kind);
    let recent = person.dob.max(as_of.plus(-3 * YEAR));
    let mut push = |entry_type: &'static str,
                    occurred: Day,
                    ended: Option<Day>,
                    sensitivity: &'static str,
                    summary: &'static str| {
        let n = out
            .iter()
            .filter(|e| e.record_id == record.record_id)
            .count()
            + 1;
        out.push(AgencyEntry {
            org: record.org,
            entry_id: format!("{}-E{n}", record.record_id),
            record_id: record.record_id.clone(),
            entry_type,
            occurred_on: occurred.min(as_of).iso(),
            ended_on: ended.map(|d| d.min(as_of).iso()).unwrap_or_default(),
            category,
            sensitivity,
            summary,
        });
    };
    if *appearance == Appearance::BabyOf {
        let booked = person.dob.plus(-between(rng, 60, 200));
        match kind {
            OrgKind::SocialCare => push(
                "child-protection-plan",
                booked,
                None,
                "restricted",
                "Pre-birth plan for an unborn child",
            ),
            _ => push("admission", booked, None, "sensitive", "Maternity booking"),
        }
        return;
    }
    match kind {
        OrgKind::GpPractice => {
            let registered =
                random_day(rng, person.dob.max(as_of.plus(-15 * YEAR)), as_of.plus(-30));
            push(
                "registration",
                registered,
                None,
                "normal",
                "Registered with the practice",
            );
            if chance(rng, 0.5) {
                let seen = random_day(rng, registered, as_of);
                push("consultation", seen, None, "normal", "Routine consultation");
            }
        }
        OrgKind::Hospital => {
            let day = random_day(rng, recent, as_of);
            if chance(rng, 0.7) {
                push(
                    "ed-attendance",
                    day,
                    Some(day),
                    "normal",
                    "Attended the emergency department",
                );
            } else {
                push(
                    "admission",
                    day,
                    Some(day.plus(between(rng, 1, 7))),
                    "sensitive",
                    "Admitted to a ward",
                );
            }
        }
        OrgKind::School => {
            if let Appearance::Pupil { enrolled, left, .. } = appearance {
                push(
                    "enrolment",
                    *enrolled,
                    *left,
                    "normal",
                    "Enrolled at the school",
                );
                if chance(rng, 0.12) {
                    let day = random_day(rng, *enrolled, left.unwrap_or(as_of));
                    push(
                        "absence-persistent",
                        day,
                        None,
                        "normal",
                        "Persistent absence this term",
                    );
                }
                if chance(rng, 0.03) {
                    let day = random_day(rng, *enrolled, left.unwrap_or(as_of));
                    push(
                        "exclusion",
                        day,
                        Some(day.plus(between(rng, 1, 5))),
                        "sensitive",
                        "Suspension",
                    );
                }
            }
        }
        OrgKind::SocialCare => {
            if !person.role.is_child() {
                return;
            }
            let started = random_day(rng, recent, as_of.plus(-14));
            let ended = chance(rng, 0.3).then(|| random_day(rng, started, as_of));
            match household.social_care {
                Some(CareLevel::EarlyHelp) | None => {
                    push(
                        "early-help",
                        started,
                        ended,
                        "sensitive",
                        "Early help assessment and plan",
                    );
                }
                Some(CareLevel::ChildInNeed) => {
                    push(
                        "child-in-need",
                        started,
                        ended,
                        "sensitive",
                        "Child in need plan",
                    );
                }
                Some(CareLevel::ChildProtection) => {
                    if chance(rng, 0.4) {
                        let before = started.plus(-between(rng, 30, 300)).max(person.dob);
                        push(
                            "child-in-need",
                            before,
                            Some(started),
                            "sensitive",
                            "Child in need plan",
                        );
                    }
                    push(
                        "child-protection-plan",
                        started,
                        ended,
                        "restricted",
                        "Child protection plan",
                    );
                }
                Some(CareLevel::LookedAfter) => {
                    push(
                        "looked-after",
                        started,
                        ended,
                        "restricted",
                        "Looked after by the local authority",
                    );
                }
            }
        }
        OrgKind::Police => {
            let age = person.dob.years_until(as_of);
            let day = random_day(rng, recent, as_of);
            if person.role.is_child() && age >= 10 && chance(rng, 0.3) {
                push(
                    "missing-episode",
                    day,
                    Some(day.plus(between(rng, 0, 3))),
                    "sensitive",
                    "Reported missing and found",
                );
            } else if household.police && chance(rng, 0.6) {
                push(
                    "domestic-abuse-incident",
                    day,
                    None,
                    "restricted",
                    "Domestic abuse incident attended",
                );
            } else {
                push("incident", day, None, "sensitive", "Incident recorded");
            }
        }
        OrgKind::Housing => {
            if person.role.is_child() {
                return;
            }
            let started = random_day(rng, as_of.plus(-12 * YEAR), as_of.plus(-30));
            push("tenancy", started, None, "normal", "Secure tenancy");
            if chance(rng, 0.2) {
                push(
                    "rent-arrears",
                    random_day(rng, started, as_of),
                    None,
                    "sensitive",
                    "Rent arrears recorded",
                );
            }
            if chance(rng, 0.1) {
                let day = started.plus(-between(rng, 30, 400));
                push(
                    "homelessness-application",
                    day,
                    Some(started),
                    "sensitive",
                    "Homelessness application",
                );
            }
        }
    }
}

/// Relationships each agency records between its own main records of the household.
fn relationships(household: &Household, world: &World<'_>, rendered: &mut Rendered) {
    let main_record = |member: usize, org: usize| {
        rendered
            .records
            .iter()
            .find(|r| r.member == member && r.org == org && r.main)
            .map(|r| r.record_id.clone())
    };
    let mut out = Vec::new();
    let mut orgs: Vec<usize> = rendered
        .records
        .iter()
        .map(|r| r.org)
        .filter(|o| {
            world
                .locality
                .orgs
                .get(*o)
                .is_some_and(|org| org.kind.records_relationships())
        })
        .collect();
    orgs.sort_unstable();
    orgs.dedup();
    for org in orgs {
        let Some(kind) = world.locality.orgs.get(org).map(|o| o.kind) else {
            continue;
        };
        for relation in &household.relations {
            let (Some(from), Some(to)) = (
                main_record(relation.person, org),
                main_record(relation.related, org),
            ) else {
                continue;
            };
            let related = household.members.get(relation.related);
            let person = household.members.get(relation.person);
            let relationship = match (relation.kind, kind) {
                (RelationKind::Parent, OrgKind::SocialCare)
                    if related.is_some_and(|r| r.role == Role::Mother) =>
                {
                    "parental-responsibility"
                }
                (kind, _) => kind.as_str(),
            };
            let start_date = match relation.kind {
                RelationKind::Parent | RelationKind::Carer => {
                    person.map(|p| p.dob.iso()).unwrap_or_default()
                }
                RelationKind::Sibling => match (person, related) {
                    (Some(a), Some(b)) => a.dob.max(b.dob).iso(),
                    _ => String::new(),
                },
                RelationKind::HouseholdMember => String::new(),
            };
            out.push(AgencyRelationship {
                org,
                record_id: from,
                related_record_id: to,
                relationship,
                start_date,
            });
        }
        // A pre-birth record is linked to the mother's record.
        if kind == OrgKind::SocialCare
            && let Some(mother_index) = household
                .members
                .iter()
                .position(|p| p.role == Role::Mother)
            && let Some(mother_id) = main_record(mother_index, org)
        {
            for record in rendered
                .records
                .iter()
                .filter(|r| r.org == org && r.tags.contains(&"baby_of"))
            {
                out.push(AgencyRelationship {
                    org,
                    record_id: record.record_id.clone(),
                    related_record_id: mother_id.clone(),
                    relationship: "parent",
                    start_date: String::new(),
                });
            }
        }
    }
    rendered.relationships = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reception_starts_the_september_after_the_fourth_birthday() {
        assert_eq!(school_entry_year(Day::from_ymd(2016, 1, 10)), 2020);
        assert_eq!(school_entry_year(Day::from_ymd(2015, 8, 31)), 2019);
        assert_eq!(school_entry_year(Day::from_ymd(2015, 9, 1)), 2020);
    }
}
