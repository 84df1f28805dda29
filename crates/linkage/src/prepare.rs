//! Preparation: raw input records become compact, comparable features.
//!
//! Every distinct name string is normalised once (with its phonetic code and nickname groups)
//! and records point into that table; postcodes, addresses and identifiers become hashes so that
//! agreement is an integer comparison. Values that cannot be read are counted, never fatal.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use model::{NhsNumber, PartialDate, Postcode, Upn};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use serde::Serialize;

use crate::normalise::{Nicknames, normalise_name, phonetic};

/// One input record, as text. Everything but the ids is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputRecord {
    pub source: String,
    pub record_id: String,
    pub given_name: Option<String>,
    pub middle_names: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub address: Option<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
    pub nhs_number: Option<String>,
    /// The NHS number's trace status when the input has one; only `01` is verified. Without a
    /// status column every valid NHS number is treated as verified.
    pub nhs_number_status: Option<String>,
    pub upn: Option<String>,
}

/// A distinct normalised name.
#[derive(Debug, Clone)]
pub struct NameInfo {
    pub full: String,
    pub parts: Vec<String>,
    /// Hash of `full`, for exact agreement and term frequencies.
    pub key: u64,
    /// Hash of each part.
    pub part_keys: Vec<u64>,
    /// Hash of the first word's Double Metaphone code.
    pub phonetic: u64,
    /// Nickname groups of the first word.
    pub groups: Vec<u32>,
    /// Hash of the first word's first nickname group (or of the word), for blocking.
    pub canonical: u64,
    /// Share of records carrying this name in the same field (given or family).
    pub frequency: f64,
}

impl NameInfo {
    /// The first word.
    pub fn first(&self) -> &str {
        self.parts.first().map(String::as_str).unwrap_or("")
    }
}

/// A date of birth as compared: year, month and day with 0 for unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Dob {
    pub year: i16,
    pub month: u8,
    pub day: u8,
    /// Recorded as an estimate (age-disputed young people).
    pub estimated: bool,
}

impl Dob {
    pub fn is_known(&self) -> bool {
        self.year != 0
    }

    /// The full date packed into one integer, when day and month are known.
    pub fn full_key(&self) -> Option<u64> {
        (self.month != 0 && self.day != 0)
            .then_some((self.year as u64) << 16 | (self.month as u64) << 8 | self.day as u64)
    }

    /// An approximate day number (for "within a year"), taking unknown parts as mid-range.
    pub fn approximate_days(&self) -> i32 {
        let month = if self.month == 0 {
            6
        } else {
            self.month as i32
        };
        let day = if self.day == 0 { 15 } else { self.day as i32 };
        self.year as i32 * 372 + month * 31 + day
    }
}

/// A record's comparable features. Name fields index [`Dataset::names`].
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pub source: u32,
    pub given: Option<u32>,
    pub middle: Option<u32>,
    pub family: Option<u32>,
    /// The town, in the name table, compared when a postcode is missing.
    pub town: Option<u32>,
    pub dob: Dob,
    /// 0 unknown, 1 male, 2 female, 3 other.
    pub sex: u8,
    pub postcode_unit: u64,
    pub postcode_sector: u64,
    pub postcode_district: u64,
    pub postcode_area: u64,
    /// Sorted hashes of address words (house numbers included).
    pub address: Box<[u64]>,
    /// The NHS number as an integer when valid, else 0.
    pub nhs: u64,
    /// Whether the NHS number counts as verified for the conflict constraint.
    pub nhs_verified: bool,
    /// Hash of the UPN when valid, else 0.
    pub upn: u64,
}

/// What could not be read, per field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrepareSummary {
    pub records: usize,
    pub unreadable_dates: usize,
    pub invalid_nhs_numbers: usize,
    pub invalid_upns: usize,
    pub non_uk_postcodes: usize,
    pub placeholder_given_names: usize,
}

/// The prepared records plus the tables comparisons need.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub records: Vec<Prepared>,
    pub names: Vec<NameInfo>,
    pub sources: Vec<String>,
    /// Each record's own id, in input order.
    pub record_ids: Vec<String>,
    pub summary: PrepareSummary,
}

impl Dataset {
    /// The source of record `index`.
    pub fn source_of(&self, index: usize) -> &str {
        self.records
            .get(index)
            .and_then(|r| self.sources.get(r.source as usize))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// `source:record_id` of record `index`, as explanations and cluster ids show it.
    pub fn label(&self, index: usize) -> String {
        format!(
            "{}:{}",
            self.source_of(index),
            self.record_ids.get(index).map(String::as_str).unwrap_or("")
        )
    }
}

pub(crate) fn hash_str(text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    text.hash(&mut hasher);
    // Never 0, which means "missing".
    hasher.finish() | 1
}

fn name_info(raw: &str, given: bool, nicknames: &Nicknames) -> Option<NameInfo> {
    let normal = normalise_name(raw, given)?;
    let first = normal.first().to_string();
    let groups = nicknames.groups(&first).to_vec();
    let canonical = match groups.first() {
        Some(group) => hash_str(&format!("#group{group}")),
        None => hash_str(&first),
    };
    Some(NameInfo {
        key: hash_str(&normal.full),
        part_keys: normal.parts.iter().map(|p| hash_str(p)).collect(),
        phonetic: hash_str(&phonetic(&first)),
        groups,
        canonical,
        frequency: 0.0,
        full: normal.full,
        parts: normal.parts,
    })
}

fn parse_dob(raw: &str) -> Option<Dob> {
    let date: PartialDate = raw.parse().ok()?;
    Some(Dob {
        year: date.year,
        month: date.month.map(|m| m as u8).unwrap_or(0),
        day: date.day.map(|d| d as u8).unwrap_or(0),
        estimated: date.estimated,
    })
}

fn parse_sex(raw: &str) -> u8 {
    match model::Sex::parse_lenient(raw) {
        Ok(model::Sex::Male) => 1,
        Ok(model::Sex::Female) => 2,
        Ok(model::Sex::Other) => 3,
        _ => 0,
    }
}

struct RecordWork {
    prepared: Prepared,
    unreadable_date: bool,
    invalid_nhs: bool,
    invalid_upn: bool,
    non_uk_postcode: bool,
}

fn prepare_one(input: &InputRecord, source: u32) -> RecordWork {
    let mut work = RecordWork {
        prepared: Prepared {
            source,
            ..Prepared::default()
        },
        unreadable_date: false,
        invalid_nhs: false,
        invalid_upn: false,
        non_uk_postcode: false,
    };
    let p = &mut work.prepared;
    if let Some(raw) = input
        .date_of_birth
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        match parse_dob(raw) {
            Some(dob) => p.dob = dob,
            None => work.unreadable_date = true,
        }
    }
    p.sex = input.sex.as_deref().map(parse_sex).unwrap_or(0);
    if let Some(raw) = input.postcode.as_deref().filter(|s| !s.trim().is_empty()) {
        match raw.parse::<Postcode>() {
            Ok(pc) => {
                p.postcode_unit = hash_str(&pc.to_string());
                p.postcode_sector = hash_str(&pc.sector());
                p.postcode_district = hash_str(pc.district());
                p.postcode_area = hash_str(&format!("area:{}", pc.area()));
            }
            Err(_) => {
                // Not a UK postcode: still compared, as text.
                work.non_uk_postcode = true;
                let text: String = raw
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect();
                if !text.is_empty() {
                    p.postcode_unit = hash_str(&format!("text:{text}"));
                }
            }
        }
    }
    if let Some(raw) = input.address.as_deref() {
        let mut words: Vec<u64> = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| hash_str(&deunicode::deunicode(w).to_ascii_lowercase()))
            .collect();
        words.sort_unstable();
        words.dedup();
        p.address = words.into_boxed_slice();
    }
    if let Some(raw) = input.nhs_number.as_deref().filter(|s| !s.trim().is_empty()) {
        match raw.parse::<NhsNumber>() {
            Ok(nhs) => {
                p.nhs = nhs.as_str().parse().unwrap_or(0);
                p.nhs_verified = match input.nhs_number_status.as_deref().map(str::trim) {
                    None | Some("") => true,
                    Some(status) => status == "01",
                };
            }
            Err(_) => work.invalid_nhs = true,
        }
    }
    if let Some(raw) = input.upn.as_deref().filter(|s| !s.trim().is_empty()) {
        match raw.parse::<Upn>() {
            Ok(upn) => p.upn = hash_str(upn.as_str()),
            Err(_) => work.invalid_upn = true,
        }
    }
    work
}

/// Prepares records for linkage. Deterministic: the same input gives the same dataset.
pub fn prepare(inputs: Vec<InputRecord>, nicknames: &Nicknames) -> Dataset {
    // Distinct sources and names, in first-seen order.
    let mut sources: Vec<String> = Vec::new();
    let mut source_index: HashMap<&str, u32> = HashMap::new();
    let mut name_index: FxHashMap<(&str, bool), u32> = FxHashMap::default();
    let mut raw_names: Vec<(&str, bool)> = Vec::new();
    let mut refs: Vec<[Option<u32>; 5]> = Vec::with_capacity(inputs.len());
    fn intern<'a>(
        raw: Option<&'a str>,
        given: bool,
        name_index: &mut FxHashMap<(&'a str, bool), u32>,
        raw_names: &mut Vec<(&'a str, bool)>,
    ) -> Option<u32> {
        let raw = raw?;
        if raw.trim().is_empty() {
            return None;
        }
        let next = raw_names.len() as u32;
        let id = *name_index.entry((raw, given)).or_insert(next);
        if id == next {
            raw_names.push((raw, given));
        }
        Some(id)
    }
    for input in &inputs {
        let source = *source_index
            .entry(input.source.as_str())
            .or_insert_with(|| {
                sources.push(input.source.clone());
                (sources.len() - 1) as u32
            });
        let given = intern(
            input.given_name.as_deref(),
            true,
            &mut name_index,
            &mut raw_names,
        );
        let middle = intern(
            input.middle_names.as_deref(),
            true,
            &mut name_index,
            &mut raw_names,
        );
        let family = intern(
            input.family_name.as_deref(),
            false,
            &mut name_index,
            &mut raw_names,
        );
        let town = intern(
            input.town.as_deref(),
            false,
            &mut name_index,
            &mut raw_names,
        );
        refs.push([Some(source), given, middle, family, town]);
    }
    let raw_infos: Vec<Option<NameInfo>> = raw_names
        .par_iter()
        .map(|(raw, given)| name_info(raw, *given, nicknames))
        .collect();
    // Compact: records point at usable names only.
    let mut names: Vec<NameInfo> = Vec::new();
    let mut remap = vec![None; raw_infos.len()];
    for (index, info) in raw_infos.into_iter().enumerate() {
        if let Some(info) = info {
            remap[index] = Some(names.len() as u32);
            names.push(info);
        }
    }

    let works: Vec<RecordWork> = inputs
        .par_iter()
        .zip(refs.par_iter())
        .map(|(input, r)| {
            let mut work = prepare_one(input, r[0].unwrap_or(0));
            work.prepared.given = r[1].and_then(|i| remap[i as usize]);
            work.prepared.middle = r[2].and_then(|i| remap[i as usize]);
            work.prepared.family = r[3].and_then(|i| remap[i as usize]);
            work.prepared.town = r[4].and_then(|i| remap[i as usize]);
            work
        })
        .collect();

    let mut summary = PrepareSummary {
        records: inputs.len(),
        ..PrepareSummary::default()
    };
    let mut records = Vec::with_capacity(works.len());
    let mut given_counts: FxHashMap<u64, u32> = FxHashMap::default();
    let mut family_counts: FxHashMap<u64, u32> = FxHashMap::default();
    for (work, input) in works.into_iter().zip(&inputs) {
        summary.unreadable_dates += usize::from(work.unreadable_date);
        summary.invalid_nhs_numbers += usize::from(work.invalid_nhs);
        summary.invalid_upns += usize::from(work.invalid_upn);
        summary.non_uk_postcodes += usize::from(work.non_uk_postcode);
        if work.prepared.given.is_none()
            && input
                .given_name
                .as_deref()
                .is_some_and(|g| !g.trim().is_empty())
        {
            summary.placeholder_given_names += 1;
        }
        if let Some(g) = work.prepared.given {
            *given_counts.entry(names[g as usize].key).or_default() += 1;
        }
        if let Some(f) = work.prepared.family {
            *family_counts.entry(names[f as usize].key).or_default() += 1;
        }
        records.push(work.prepared);
    }
    drop(name_index);
    drop(raw_names);
    let record_ids: Vec<String> = inputs.into_iter().map(|input| input.record_id).collect();
    let total = records.len().max(1) as f64;
    let to_tf = |counts: FxHashMap<u64, u32>| -> FxHashMap<u64, f64> {
        counts
            .into_iter()
            .map(|(k, n)| (k, f64::from(n) / total))
            .collect()
    };
    let given_tf = to_tf(given_counts);
    let family_tf = to_tf(family_counts);
    for record in &records {
        if let Some(g) = record.given {
            let info = &mut names[g as usize];
            info.frequency = given_tf.get(&info.key).copied().unwrap_or(0.0);
        }
        if let Some(f) = record.family {
            let info = &mut names[f as usize];
            info.frequency = family_tf.get(&info.key).copied().unwrap_or(0.0);
        }
    }
    Dataset {
        records,
        names,
        sources,
        record_ids,
        summary,
    }
}
