//! Clustering with constraints: join the strongest links first, refusing any join that would
//! put two records together which must stay apart.
//!
//! The constraints are checked between every record of the two clusters about to join, so a
//! chain of links cannot carry a twin into their sibling's cluster.

use serde::Serialize;

use crate::compare::{Comparer, DOB, FAMILY, GIVEN, LOCATION, level};

/// A rule that forbids an automatic join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Constraint {
    /// Both records carry a verified NHS number and the numbers differ.
    ConflictingNhsNumber,
    /// Same birth date, family name and address, given names neither equal nor nicknames.
    TwinPattern,
    /// Given names and dates of birth both clearly differ.
    DifferentNameAndBirthDate,
    /// Birth years five or more apart (ten if either is an estimate): parent and child.
    BirthYearsApart,
    /// A record without a given name ("Baby of …") links strongly to two people kept apart,
    /// such as twins: which one it is cannot be told, so it joins neither.
    Ambiguous,
}

impl Constraint {
    pub fn describe(self) -> &'static str {
        match self {
            Constraint::ConflictingNhsNumber => "conflicting verified NHS numbers",
            Constraint::TwinPattern => {
                "twin pattern: same birth date, family name and address, different given names"
            }
            Constraint::DifferentNameAndBirthDate => {
                "given name and date of birth both differ, or birth dates over a year apart without the same given name (siblings)"
            }
            Constraint::Ambiguous => {
                "record without a given name matches two people kept apart, such as twins; left for review"
            }
            Constraint::BirthYearsApart => {
                "birth years five or more apart, ten if estimated (parent and child with the same name)"
            }
        }
    }
}

/// What the constraints say about one pair of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairCheck {
    /// A constraint no other evidence can lift (conflicting NHS numbers, birth years apart).
    pub hard: Option<Constraint>,
    /// A constraint from given names (twin pattern, sibling-like): lifted when another pair
    /// across the two clusters has compatible given names.
    pub names: Option<Constraint>,
    /// Both given names present and possibly the same person's.
    pub names_compatible: bool,
}

/// Checks one pair of records against every constraint.
pub fn check(comparer: &Comparer<'_>, a: usize, b: usize) -> PairCheck {
    let (ra, rb) = (&comparer.data.records[a], &comparer.data.records[b]);
    let mut result = PairCheck::default();
    if ra.nhs != 0 && rb.nhs != 0 && ra.nhs != rb.nhs && ra.nhs_verified && rb.nhs_verified {
        result.hard = Some(Constraint::ConflictingNhsNumber);
        return result;
    }
    let (da, db) = (ra.dob, rb.dob);
    let years = (da.year - db.year).abs();
    if da.is_known()
        && db.is_known()
        && (years >= 10 || (years >= 5 && !da.estimated && !db.estimated))
    {
        result.hard = Some(Constraint::BirthYearsApart);
        return result;
    }
    let gamma = comparer.gamma(a, b);
    // Given names that may be one person's: equal, nicknames, very close spellings, or one
    // slip apart. Twins' names (Jack and Jake, Mason and Jason, Ella and Emma) are none of these.
    let given_differs = match gamma[GIVEN] {
        level::MISSING => false,
        // A boy and a girl share a name only if it is the very same name (Zain and Zainab are
        // brother and sister).
        level::GIVEN_EXACT => false,
        _ if gamma[crate::compare::SEX] == level::DISAGREE => true,
        level::GIVEN_ALIAS | level::GIVEN_JW_HIGH => false,
        _ => !comparer.given_one_edit_apart(ra, rb),
    };
    // Compatible enough to vouch for a join across clusters: the given names themselves (not a
    // middle name, which siblings often share) and birth dates within a year.
    result.names_compatible = !given_differs
        && comparer.given_names_equivalent(ra, rb)
        && !matches!(gamma[DOB], level::DOB_DIFFERENT);
    if given_differs
        && gamma[DOB] == level::DOB_EXACT
        && matches!(
            gamma[FAMILY],
            level::FAMILY_EXACT | level::FAMILY_PART | level::FAMILY_JW_HIGH
        )
        && matches!(gamma[LOCATION], level::SAME_ADDRESS | level::POSTCODE_UNIT)
    {
        result.names = Some(Constraint::TwinPattern);
        return result;
    }
    let sibling_like = given_differs
        && gamma[GIVEN] != level::MISSING
        && matches!(
            gamma[DOB],
            level::DOB_DIFFERENT
                | level::DOB_WITHIN_YEAR
                | level::DOB_ONE_OFF
                | level::DOB_TRANSPOSED
        );
    // A nickname, a middle name or no given name at all cannot bridge birth dates more than a
    // year apart: that is a sibling who shares a middle name, or a "Baby of" record.
    let far_apart_without_same_name =
        gamma[GIVEN] != level::GIVEN_EXACT && gamma[DOB] == level::DOB_DIFFERENT;
    if sibling_like || far_apart_without_same_name {
        result.names = Some(Constraint::DifferentNameAndBirthDate);
    }
    result
}

/// The constraint the pair breaks on its own, if any.
pub fn violated(comparer: &Comparer<'_>, a: usize, b: usize) -> Option<Constraint> {
    let check = check(comparer, a, b);
    check.hard.or(check.names)
}

/// A join that a constraint refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prevented {
    pub constraint: Constraint,
    /// The linked pair whose join was refused.
    pub pair: (u32, u32),
    /// The two records that broke the constraint (may differ from `pair` via the clusters).
    pub because_of: (u32, u32),
    pub weight: f64,
}

/// Clusters: `cluster[i]` is the index of record i's cluster representative (its smallest
/// record index).
#[derive(Debug, Clone)]
pub struct Clustering {
    pub cluster: Vec<u32>,
    pub prevented: Vec<Prevented>,
}

/// Joins `edges` (pairs with weights, any order) from strongest to weakest under constraints.
pub fn cluster(comparer: &Comparer<'_>, n: usize, edges: &[(u32, u32, f64)]) -> Clustering {
    let mut order: Vec<usize> = (0..edges.len()).collect();
    order.sort_by(|&x, &y| {
        edges[y]
            .2
            .total_cmp(&edges[x].2)
            .then((edges[x].0, edges[x].1).cmp(&(edges[y].0, edges[y].1)))
    });
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut members: Vec<Vec<u32>> = (0..n as u32).map(|i| vec![i]).collect();
    let mut prevented = Vec::new();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    let unnamed = |i: u32| comparer.data.records[i as usize].given.is_none();
    // Named records first; records without a given name join afterwards, and only when all
    // their strong links point at one person.
    let (named_edges, unnamed_edges): (Vec<usize>, Vec<usize>) = order
        .into_iter()
        .partition(|&i| !unnamed(edges[i].0) && !unnamed(edges[i].1));
    let join = |index: usize,
                parent: &mut Vec<u32>,
                members: &mut Vec<Vec<u32>>,
                prevented: &mut Vec<Prevented>| {
        let (a, b, weight) = edges[index];
        let (ra, rb) = (find(parent, a), find(parent, b));
        if ra == rb {
            return;
        }
        // Hard constraints refuse at once; name constraints refuse unless some pair across the
        // clusters has compatible given names (a nickname and a typo of the same name).
        let mut broken = None;
        let mut name_broken = None;
        let mut names_compatible = false;
        'check: for &x in &members[ra as usize] {
            for &y in &members[rb as usize] {
                let pair = check(comparer, x as usize, y as usize);
                if let Some(constraint) = pair.hard {
                    broken = Some((constraint, (x.min(y), x.max(y))));
                    break 'check;
                }
                if name_broken.is_none()
                    && let Some(constraint) = pair.names
                {
                    name_broken = Some((constraint, (x.min(y), x.max(y))));
                }
                names_compatible |= pair.names_compatible;
            }
        }
        if broken.is_none() && !names_compatible {
            broken = name_broken;
        }
        if let Some((constraint, because_of)) = broken {
            prevented.push(Prevented {
                constraint,
                pair: (a, b),
                because_of,
                weight,
            });
            return;
        }
        // The smaller index stays the root, so cluster ids do not depend on edge order.
        let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[child as usize] = root;
        let moved = std::mem::take(&mut members[child as usize]);
        members[root as usize].extend(moved);
    };
    for index in named_edges {
        join(index, &mut parent, &mut members, &mut prevented);
    }
    // Which named clusters does each unnamed record link to?
    let mut targets: std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> =
        Default::default();
    for &index in &unnamed_edges {
        let (a, b, _) = edges[index];
        for (from, to) in [(a, b), (b, a)] {
            if unnamed(from) && !unnamed(to) {
                let root = find(&mut parent, to);
                targets.entry(from).or_default().insert(root);
            }
        }
    }
    for index in unnamed_edges {
        let (a, b, weight) = edges[index];
        let ambiguous = [a, b]
            .into_iter()
            .find(|r| targets.get(r).is_some_and(|t| t.len() > 1));
        if let Some(record) = ambiguous {
            let other = if record == a { b } else { a };
            prevented.push(Prevented {
                constraint: Constraint::Ambiguous,
                pair: (a, b),
                because_of: (record.min(other), record.max(other)),
                weight,
            });
            continue;
        }
        join(index, &mut parent, &mut members, &mut prevented);
    }
    let cluster = (0..n as u32).map(|i| find(&mut parent, i)).collect();
    Clustering { cluster, prevented }
}
