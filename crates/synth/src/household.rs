//! The true population: households of parents or carers and children, as they really are.
//!
//! Nothing here is messy; this is the ground truth every agency record is later rendered from
//! (see `render`). Household shapes, ages, surnames and sibling spacing follow English patterns:
//! couples and single parents with one to four children, step-families, kinship carers, twins
//! and triplets, siblings born close together, and the occasional unaccompanied young person
//! whose age is disputed.

use rand::Rng;

use crate::SynthConfig;
use crate::dates::Day;
use crate::ids::nhs_for_person;
use crate::locality::Locality;
use crate::names::{Heritage, NameTables};
use crate::random::{between, chance, pick, weighted_index};

const YEAR: i64 = 365;
/// The last day of being 17: children are 0–17.
const MAX_CHILD_AGE_DAYS: i64 = 18 * 365 + 3;

/// Who a person is in their household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Mother,
    Father,
    StepFather,
    Grandmother,
    Grandfather,
    Child,
    /// An unaccompanied asylum-seeking young person in local-authority care.
    YoungPerson,
}

impl Role {
    pub(crate) fn is_child(self) -> bool {
        matches!(self, Role::Child | Role::YoungPerson)
    }
}

/// A child born in a multiple birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MultipleBirth {
    Twin,
    Triplet,
}

/// One real person.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    /// Run-wide sequence number; the person id and NHS number derive from it.
    pub(crate) sequence: u64,
    pub(crate) role: Role,
    pub(crate) given: String,
    pub(crate) middle: Option<String>,
    pub(crate) family: String,
    /// The surname before a change (maiden name, or a step-child's birth surname).
    pub(crate) former_family: Option<String>,
    pub(crate) female: bool,
    pub(crate) dob: Day,
    pub(crate) nhs: String,
    pub(crate) hyphenated: bool,
    pub(crate) multiple_birth: Option<MultipleBirth>,
    pub(crate) close_sibling: bool,
    pub(crate) age_disputed: bool,
    pub(crate) family_name_first: bool,
}

impl Person {
    pub(crate) fn person_id(&self) -> String {
        format!("T{:08}", self.sequence + 1)
    }
}

/// A true relationship: `related` is the `kind` of `person` (indices into the members).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrueRelation {
    pub(crate) person: usize,
    pub(crate) related: usize,
    pub(crate) kind: RelationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelationKind {
    Parent,
    Sibling,
    Carer,
    HouseholdMember,
}

impl RelationKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RelationKind::Parent => "parent",
            RelationKind::Sibling => "sibling",
            RelationKind::Carer => "carer",
            RelationKind::HouseholdMember => "household-member",
        }
    }
}

/// Where a household lives.
#[derive(Debug, Clone)]
pub(crate) struct Address {
    pub(crate) line: String,
    pub(crate) town: String,
    pub(crate) postcode: String,
    pub(crate) uprn: String,
    pub(crate) district: i64,
}

/// How involved children's social care is with a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CareLevel {
    EarlyHelp,
    ChildInNeed,
    ChildProtection,
    LookedAfter,
}

/// A household and the agencies that serve it.
#[derive(Debug, Clone)]
pub(crate) struct Household {
    pub(crate) number: u64,
    pub(crate) locality: u64,
    pub(crate) members: Vec<Person>,
    pub(crate) relations: Vec<TrueRelation>,
    pub(crate) address: Address,
    /// The address before a recent move, still held by one agency.
    pub(crate) previous_address: Option<Address>,
    /// Index into the locality's organisations.
    pub(crate) gp_practice: usize,
    pub(crate) hospital: usize,
    pub(crate) primary_school: usize,
    pub(crate) secondary_school: usize,
    pub(crate) social_care: Option<CareLevel>,
    pub(crate) police: bool,
    pub(crate) social_housing: bool,
}

impl Household {
    pub(crate) fn household_id(&self) -> String {
        format!("H{:03}-{:07}", self.locality, self.number + 1)
    }

    /// The mother or, failing her, the first adult carer.
    pub(crate) fn mother(&self) -> Option<&Person> {
        self.members
            .iter()
            .find(|p| p.role == Role::Mother)
            .or_else(|| self.members.iter().find(|p| p.role == Role::Grandmother))
    }
}

/// Everything household generation reads.
#[derive(Debug)]
pub(crate) struct World<'a> {
    pub(crate) config: &'a SynthConfig,
    pub(crate) names: &'a NameTables,
    pub(crate) locality: &'a Locality,
    pub(crate) as_of: Day,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    MarriedCouple,
    CohabitingCouple,
    SingleMother,
    SingleFather,
    StepFamily,
    Kinship,
}

const SHAPES: [(Shape, f64); 6] = [
    (Shape::MarriedCouple, 0.40),
    (Shape::CohabitingCouple, 0.20),
    (Shape::SingleMother, 0.22),
    (Shape::SingleFather, 0.03),
    (Shape::StepFamily, 0.11),
    (Shape::Kinship, 0.04),
];

/// Number of births (maternities) in a family: skewed to one or two.
const BIRTHS: [f64; 4] = [0.42, 0.36, 0.15, 0.07];

struct Builder<'a, 'w, R: Rng> {
    world: &'a World<'w>,
    rng: &'a mut R,
    next_sequence: &'a mut u64,
    heritage: Heritage,
    members: Vec<Person>,
}

impl<R: Rng> Builder<'_, '_, R> {
    fn person(&mut self, role: Role, female: bool, dob: Day, family: &str) -> usize {
        let sequence = *self.next_sequence;
        *self.next_sequence += 1;
        let names = self.world.names;
        let given = names.given(female, self.heritage, self.rng).to_string();
        let middle_share = if role.is_child() { 0.55 } else { 0.4 };
        let middle = chance(self.rng, middle_share).then(|| {
            let mut middle = names.given(female, self.heritage, self.rng).to_string();
            if chance(self.rng, 0.08) {
                middle.push(' ');
                middle.push_str(names.given(female, self.heritage, self.rng));
            }
            middle
        });
        self.members.push(Person {
            sequence,
            role,
            given,
            middle: middle.filter(|m| !m.is_empty()),
            family: family.to_string(),
            former_family: None,
            female,
            dob,
            nhs: nhs_for_person(sequence),
            hyphenated: false,
            multiple_birth: None,
            close_sibling: false,
            age_disputed: false,
            family_name_first: NameTables::family_name_first(self.heritage),
        });
        self.members.len() - 1
    }

    /// Gives a child a first name no sibling already has.
    fn distinct_given(&mut self, child: usize) {
        for _ in 0..12 {
            let Some(person) = self.members.get(child) else {
                return;
            };
            let clash = self.members.iter().enumerate().any(|(i, other)| {
                i != child && other.role.is_child() && other.given == person.given
            });
            if !clash {
                return;
            }
            let female = person.female;
            let name = self.world.names.given(female, self.heritage, self.rng);
            if let Some(person) = self.members.get_mut(child) {
                person.given = name.to_string();
            }
        }
    }
}

/// Generates household `number` of area `world.locality`; people are numbered from
/// `next_sequence`, which is advanced past them.
pub(crate) fn generate(
    world: &World<'_>,
    number: u64,
    rng: &mut impl Rng,
    next_sequence: &mut u64,
) -> Household {
    let rates = &world.config.rates;
    let coverage = &world.config.coverage;
    let address = address(world, rng);
    let previous_address = chance(rng, rates.house_move).then(|| self::address(world, rng));
    let district = address.district;
    let locality = world.locality;
    let mut household = Household {
        number,
        locality: locality.index,
        members: Vec::new(),
        relations: Vec::new(),
        gp_practice: locality.serving(&locality.gp_practices, district, between(rng, 0, 1)),
        hospital: locality.serving(&locality.hospitals, district, 0),
        primary_school: locality.serving(&locality.primary_schools, district, between(rng, 0, 1)),
        secondary_school: locality.serving(
            &locality.secondary_schools,
            district,
            between(rng, 0, 1),
        ),
        address,
        previous_address,
        social_care: None,
        police: false,
        social_housing: false,
    };

    if chance(rng, rates.age_disputed) {
        young_person(world, rng, next_sequence, &mut household);
        return household;
    }

    let heritage = world.names.family_heritage(rng);
    let mut builder = Builder {
        world,
        rng,
        next_sequence,
        heritage,
        members: Vec::new(),
    };
    let shape_weights: Vec<f64> = SHAPES.iter().map(|(_, w)| *w).collect();
    let shape = SHAPES
        .get(weighted_index(builder.rng, &shape_weights))
        .map_or(Shape::MarriedCouple, |(s, _)| *s);
    let schedule = birth_schedule(world, builder.rng);

    let names = world.names;
    let father_name = names.surname(heritage, builder.rng).to_string();
    let mother_maiden = names.surname(heritage, builder.rng).to_string();
    let eldest = schedule.first().map_or(world.as_of, |b| b.dob);
    let mother_age_at_first =
        18 * YEAR + between(builder.rng, 0, 12 * YEAR) + between(builder.rng, 0, 12 * YEAR);
    let mother_dob = eldest.plus(-mother_age_at_first);
    let mut relations = Vec::new();

    // Adults, and the surname each birth's children take.
    let mut parents_by_birth: Vec<Vec<(usize, RelationKind)>> = Vec::new();
    let mut surname_by_birth: Vec<(String, Option<String>, bool)> = Vec::new();
    match shape {
        Shape::MarriedCouple | Shape::CohabitingCouple => {
            let married = shape == Shape::MarriedCouple;
            let mother_family = if married {
                &father_name
            } else {
                &mother_maiden
            };
            let mother = builder.person(Role::Mother, true, mother_dob, mother_family);
            if married
                && mother_maiden != father_name
                && let Some(m) = builder.members.get_mut(mother)
            {
                m.former_family = Some(mother_maiden.clone());
            }
            let father_dob = mother_dob.plus(-between(builder.rng, -3 * YEAR, 8 * YEAR));
            let father = builder.person(Role::Father, false, father_dob, &father_name);
            relations.push((mother, father));
            let children_name = if married && !chance(builder.rng, 0.1) {
                // Married parents mostly give the shared name; a few keep both.
                if chance(builder.rng, builder.world.config.rates.hyphenated_surname) {
                    (format!("{father_name}-{mother_maiden}"), None, true)
                } else {
                    (father_name.clone(), None, false)
                }
            } else {
                couple_surname(
                    builder.rng,
                    rates.hyphenated_surname,
                    &father_name,
                    &mother_maiden,
                )
            };
            for _ in &schedule {
                parents_by_birth.push(vec![
                    (mother, RelationKind::Parent),
                    (father, RelationKind::Parent),
                ]);
                surname_by_birth.push(children_name.clone());
            }
        }
        Shape::SingleMother => {
            let kept_married_name = chance(builder.rng, 0.5);
            let family = if kept_married_name {
                &father_name
            } else {
                &mother_maiden
            };
            let mother = builder.person(Role::Mother, true, mother_dob, family);
            if kept_married_name
                && mother_maiden != father_name
                && let Some(m) = builder.members.get_mut(mother)
            {
                m.former_family = Some(mother_maiden.clone());
            }
            for _ in &schedule {
                parents_by_birth.push(vec![(mother, RelationKind::Parent)]);
                surname_by_birth.push((family.clone(), None, false));
            }
        }
        Shape::SingleFather => {
            let father_dob = mother_dob.plus(-between(builder.rng, -3 * YEAR, 8 * YEAR));
            let father = builder.person(Role::Father, false, father_dob, &father_name);
            for _ in &schedule {
                parents_by_birth.push(vec![(father, RelationKind::Parent)]);
                surname_by_birth.push((father_name.clone(), None, false));
            }
        }
        Shape::StepFamily => {
            let step_name = names.surname(heritage, builder.rng).to_string();
            let remarried = chance(builder.rng, 0.5);
            let (mother_family, mother_former) = if remarried {
                (step_name.clone(), Some(father_name.clone()))
            } else if chance(builder.rng, 0.5) {
                (father_name.clone(), Some(mother_maiden.clone()))
            } else {
                (mother_maiden.clone(), None)
            };
            let mother = builder.person(Role::Mother, true, mother_dob, &mother_family);
            if let Some(m) = builder.members.get_mut(mother) {
                m.former_family = mother_former.filter(|former| *former != mother_family);
            }
            let step_dob = mother_dob.plus(-between(builder.rng, -5 * YEAR, 10 * YEAR));
            let step = builder.person(Role::StepFather, false, step_dob, &step_name);
            relations.push((mother, step));
            // The first births are from the mother's earlier relationship; later ones are the
            // step-father's own children, half-siblings of the elder ones.
            let earlier = if schedule.len() > 1 && chance(builder.rng, 0.6) {
                between(builder.rng, 1, schedule.len() as i64 - 1) as usize
            } else {
                schedule.len()
            };
            let changed_to_step_name = chance(builder.rng, 0.2);
            for (birth, _) in schedule.iter().enumerate() {
                if birth < earlier {
                    parents_by_birth.push(vec![
                        (mother, RelationKind::Parent),
                        (step, RelationKind::HouseholdMember),
                    ]);
                    if changed_to_step_name && step_name != father_name {
                        surname_by_birth.push((
                            step_name.clone(),
                            Some(father_name.clone()),
                            false,
                        ));
                    } else {
                        surname_by_birth.push((father_name.clone(), None, false));
                    }
                } else {
                    parents_by_birth.push(vec![
                        (mother, RelationKind::Parent),
                        (step, RelationKind::Parent),
                    ]);
                    surname_by_birth.push((step_name.clone(), None, false));
                }
            }
        }
        Shape::Kinship => {
            let parent_age = between(builder.rng, 17 * YEAR, 30 * YEAR);
            let grandmother_dob = mother_dob.plus(-parent_age);
            let grandmother =
                builder.person(Role::Grandmother, true, grandmother_dob, &mother_maiden);
            let mut carers = vec![(grandmother, RelationKind::Carer)];
            if chance(builder.rng, 0.5) {
                let grandfather_dob = grandmother_dob.plus(-between(builder.rng, 0, 6 * YEAR));
                let grandfather =
                    builder.person(Role::Grandfather, false, grandfather_dob, &mother_maiden);
                relations.push((grandmother, grandfather));
                carers.push((grandfather, RelationKind::Carer));
            }
            // A daughter's children usually carry their father's name; a son's, the family's.
            let children_name = if chance(builder.rng, 0.5) {
                mother_maiden.clone()
            } else {
                father_name.clone()
            };
            for _ in &schedule {
                parents_by_birth.push(carers.clone());
                surname_by_birth.push((children_name.clone(), None, false));
            }
        }
    }

    // Children, birth by birth.
    let mut children_by_birth: Vec<Vec<usize>> = Vec::new();
    for (birth_index, birth) in schedule.iter().enumerate() {
        let (family, former, hyphenated) = surname_by_birth
            .get(birth_index)
            .cloned()
            .unwrap_or_else(|| (father_name.clone(), None, false));
        let mut born = Vec::new();
        let first_female = chance(builder.rng, 0.49);
        for order in 0..birth.children {
            // Identical twins and many fraternal ones share a sex.
            let female = if order == 0 || chance(builder.rng, 0.65) {
                first_female
            } else {
                chance(builder.rng, 0.49)
            };
            let child = builder.person(Role::Child, female, birth.dob, &family);
            if let Some(c) = builder.members.get_mut(child) {
                c.former_family = former.clone();
                c.hyphenated = hyphenated;
                c.close_sibling = birth.close;
                c.multiple_birth = match birth.children {
                    2 => Some(MultipleBirth::Twin),
                    3.. => Some(MultipleBirth::Triplet),
                    _ => None,
                };
            }
            builder.distinct_given(child);
            born.push(child);
        }
        // Some same-sex twins get similar names (Jack and Jake).
        if let [a, b] = born.as_slice()
            && let (Some(pa), Some(pb)) = (builder.members.get(*a), builder.members.get(*b))
            && pa.female == pb.female
            && chance(builder.rng, 0.25)
        {
            let (first, second) = NameTables::similar_pair(pa.female, builder.rng);
            let (a, b) = (*a, *b);
            if let Some(p) = builder.members.get_mut(a) {
                p.given = first.to_string();
            }
            if let Some(p) = builder.members.get_mut(b) {
                p.given = second.to_string();
            }
        }
        children_by_birth.push(born);
    }

    // True relationships.
    let mut truth = Vec::new();
    for (birth_index, born) in children_by_birth.iter().enumerate() {
        for child in born {
            for (adult, kind) in parents_by_birth.get(birth_index).into_iter().flatten() {
                truth.push(TrueRelation {
                    person: *child,
                    related: *adult,
                    kind: *kind,
                });
            }
        }
    }
    let children: Vec<usize> = children_by_birth.iter().flatten().copied().collect();
    for a in &children {
        for b in &children {
            if a != b {
                truth.push(TrueRelation {
                    person: *a,
                    related: *b,
                    kind: RelationKind::Sibling,
                });
            }
        }
    }
    for (a, b) in relations {
        truth.push(TrueRelation {
            person: a,
            related: b,
            kind: RelationKind::HouseholdMember,
        });
        truth.push(TrueRelation {
            person: b,
            related: a,
            kind: RelationKind::HouseholdMember,
        });
    }

    let members = builder.members;
    let rng = builder.rng;
    let has_children = !children.is_empty();
    household.social_care = (has_children && chance(rng, coverage.social_care_household)).then(
        || match weighted_index(rng, &[0.35, 0.35, 0.18, 0.12]) {
            0 => CareLevel::EarlyHelp,
            1 => CareLevel::ChildInNeed,
            2 => CareLevel::ChildProtection,
            _ => CareLevel::LookedAfter,
        },
    );
    household.police = chance(rng, coverage.police_household);
    household.social_housing = chance(rng, coverage.social_housing_household);
    household.members = members;
    household.relations = truth;
    household
}

/// The surname an unmarried couple's children take: usually the father's, sometimes the
/// mother's, sometimes both (hyphenated, or double-barrelled with a space).
fn couple_surname(
    rng: &mut impl Rng,
    hyphenated_rate: f64,
    father: &str,
    mother: &str,
) -> (String, Option<String>, bool) {
    if father != mother && chance(rng, hyphenated_rate) {
        if chance(rng, 0.8) {
            (format!("{father}-{mother}"), None, true)
        } else {
            (format!("{mother} {father}"), None, true)
        }
    } else if chance(rng, 0.15) {
        (mother.to_string(), None, false)
    } else {
        (father.to_string(), None, false)
    }
}

/// One birth: its date, how many children (1, or 2–3 for twins and triplets), and whether it
/// came 10–13 months after the previous one.
#[derive(Debug, Clone, Copy)]
struct Birth {
    dob: Day,
    children: usize,
    close: bool,
}

fn birth_schedule(world: &World<'_>, rng: &mut impl Rng) -> Vec<Birth> {
    let rates = &world.config.rates;
    let count = weighted_index(rng, &BIRTHS) + 1;
    let multiple = if chance(rng, rates.triplets) {
        3
    } else if chance(rng, rates.twins) {
        2
    } else {
        1
    };
    let multiple_at = between(rng, 0, count as i64 - 1) as usize;
    let mut gaps: Vec<i64> = (1..count).map(|_| between(rng, 540, 2_200)).collect();
    let mut close_gap = None;
    if !gaps.is_empty() && chance(rng, rates.close_siblings) {
        let g = between(rng, 0, gaps.len() as i64 - 1) as usize;
        if let Some(gap) = gaps.get_mut(g) {
            *gap = between(rng, 300, 400);
            close_gap = Some(g);
        }
    }
    // Drop the youngest births until the family fits into 0–17 year-olds, never the close pair.
    while gaps.iter().sum::<i64>() > MAX_CHILD_AGE_DAYS - 30 {
        let last = gaps.len().saturating_sub(1);
        if close_gap == Some(last) && gaps.len() > 1 {
            gaps.remove(0);
            close_gap = close_gap.map(|g| g.saturating_sub(1));
        } else {
            gaps.pop();
        }
    }
    let span: i64 = gaps.iter().sum();
    let eldest_age = between(rng, span, MAX_CHILD_AGE_DAYS - 1);
    let mut dob = world.as_of.plus(-eldest_age);
    let mut births = Vec::with_capacity(gaps.len() + 1);
    for index in 0..=gaps.len() {
        if index > 0 {
            dob = dob.plus(gaps.get(index - 1).copied().unwrap_or(0));
        }
        let close = close_gap.is_some_and(|g| index == g || index == g + 1);
        births.push(Birth {
            dob,
            children: if index == multiple_at.min(gaps.len()) {
                multiple
            } else {
                1
            },
            close,
        });
    }
    births
}

/// An unaccompanied asylum-seeking young person, 15–17, looked after by the local authority.
fn young_person(
    world: &World<'_>,
    rng: &mut impl Rng,
    next_sequence: &mut u64,
    household: &mut Household,
) {
    let heritage = world.names.asylum_heritage(rng);
    let age = between(rng, 15 * YEAR + 4, MAX_CHILD_AGE_DAYS - 1);
    let female = chance(rng, 0.1);
    let family = world.names.surname(heritage, rng).to_string();
    let mut builder = Builder {
        world,
        rng,
        next_sequence,
        heritage,
        members: Vec::new(),
    };
    let person = builder.person(Role::YoungPerson, female, world.as_of.plus(-age), &family);
    if let Some(p) = builder.members.get_mut(person) {
        p.age_disputed = true;
        p.middle = None;
    }
    household.members = builder.members;
    household.social_care = Some(CareLevel::LookedAfter);
}

/// Letters used in the inward part of real postcodes (never C, I, K, M, O or V).
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
const STREET_SUFFIXES: [&str; 12] = [
    "Road", "Street", "Avenue", "Close", "Lane", "Drive", "Grove", "Crescent", "Way", "Gardens",
    "Terrace", "Court",
];

fn address(world: &World<'_>, rng: &mut impl Rng) -> Address {
    let locality = world.locality;
    let district = between(rng, 1, locality.districts);
    let letter = |rng: &mut dyn rand::RngCore| {
        let i = (rng.next_u32() as usize) % INWARD_LETTERS.len();
        char::from(INWARD_LETTERS.get(i).copied().unwrap_or(b'A'))
    };
    let sector = between(rng, 1, 9);
    let postcode = format!(
        "{}{} {}{}{}",
        locality.postcode_area,
        district,
        sector,
        letter(rng),
        letter(rng)
    );
    let street = world.names.street(rng);
    let suffix = pick(rng, &STREET_SUFFIXES).copied().unwrap_or("Road");
    let line = if chance(rng, 0.15) {
        let other = world.names.street(rng);
        format!(
            "Flat {}, {} House, {} {}",
            between(rng, 1, 40),
            other,
            street,
            suffix
        )
    } else {
        format!("{} {} {}", between(rng, 1, 220), street, suffix)
    };
    Address {
        line,
        town: locality.town.clone(),
        postcode,
        uprn: format!("{}", between(rng, 100_000_000_000, 999_999_999_999)),
        district,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locality::Plan;
    use crate::random::{Stream, stream_rng};

    fn households(config: &SynthConfig, n: u64) -> Vec<Household> {
        let names = NameTables::load();
        let plan = Plan::new(config);
        let locality = Locality::build(config, &plan, &names, 0);
        let world = World {
            config,
            names: &names,
            locality: &locality,
            as_of: Day::from_date(config.as_of),
        };
        let mut sequence = 0;
        (0..n)
            .map(|i| {
                let mut rng = stream_rng(config.seed, Stream::Household, 0, i);
                generate(&world, i, &mut rng, &mut sequence)
            })
            .collect()
    }

    #[test]
    fn children_are_0_to_17_and_adults_18_plus() {
        let config = SynthConfig::default();
        let as_of = Day::from_date(config.as_of);
        for household in households(&config, 3_000) {
            assert!(!household.members.is_empty());
            for person in &household.members {
                let age = person.dob.years_until(as_of);
                if person.role.is_child() {
                    assert!((0..=17).contains(&age), "{age} {:?}", person.role);
                } else {
                    assert!(age >= 18, "{age} {:?}", person.role);
                }
            }
        }
    }

    #[test]
    fn twins_share_surname_and_birth_date_but_not_given_name() {
        let mut config = SynthConfig::default();
        config.rates.twins = 0.5;
        let mut pairs = 0;
        for household in households(&config, 500) {
            let twins: Vec<&Person> = household
                .members
                .iter()
                .filter(|p| p.multiple_birth == Some(MultipleBirth::Twin))
                .collect();
            if let [a, b] = twins.as_slice() {
                pairs += 1;
                assert_eq!(a.family, b.family);
                assert_eq!(a.dob, b.dob);
                assert_ne!(a.given, b.given);
            }
        }
        assert!(pairs > 150, "{pairs}");
    }

    #[test]
    fn siblings_are_related_both_ways() {
        for household in households(&SynthConfig::default(), 200) {
            for relation in &household.relations {
                if relation.kind == RelationKind::Sibling {
                    assert!(
                        household
                            .relations
                            .iter()
                            .any(|r| r.kind == RelationKind::Sibling
                                && r.person == relation.related
                                && r.related == relation.person)
                    );
                }
            }
        }
    }
}
