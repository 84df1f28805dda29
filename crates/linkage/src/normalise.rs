//! Normalisation: the forms in which names, dates and places are compared.
//!
//! Names are folded to lower-case ASCII letters (`Zoë O'Brien-Smyth` → `zoe`, `obrien smyth`),
//! titles and suffixes are dropped, and placeholders that name no one (`Baby`, `Unborn`,
//! `Infant`, `Twin 1`) become missing. Double-barrelled surnames keep their parts so that a
//! record carrying only one part can still agree. Nicknames are resolved through an editable
//! table shipped as data ([`Nicknames`]).

use std::collections::HashMap;

use rphonetic::{DoubleMetaphone, Encoder};

const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "master", "dr", "rev", "revd", "sir", "dame", "lady", "lord",
    "prof", "fr",
];
const SUFFIXES: &[&str] = &[
    "jr", "jnr", "junior", "sr", "snr", "senior", "ii", "iii", "iv",
];
/// Given-name placeholders used for newborns and unnamed people; they carry no evidence.
const PLACEHOLDERS: &[&str] = &[
    "baby", "babyof", "unborn", "infant", "newborn", "twin", "unknown", "notknown", "nk", "child",
    "boy", "girl", "male", "female", "x", "xx", "xxx", "na", "none", "null",
];

/// Folds text to lower-case ASCII words: accents removed, punctuation dropped, hyphens and
/// slashes split words, apostrophes join them (`O'Brien` → `obrien`).
pub fn fold_words(raw: &str) -> Vec<String> {
    let ascii = deunicode::deunicode(raw);
    let mut words = Vec::new();
    let mut current = String::new();
    for c in ascii.chars() {
        // Names hold no digits: these are keying or scanning slips for letters.
        let c = match c {
            '0' => 'o',
            '1' => 'l',
            '5' => 's',
            '8' => 'b',
            other => other,
        };
        if c.is_ascii_alphabetic() {
            current.push(c.to_ascii_lowercase());
        } else if c == '\'' || c == '`' || c == '.' {
            // O'Brien, St.John: joined.
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Whether two folded names are at most one edit apart (insert, delete, substitute or swap two
/// neighbours), after undoing the usual scanning confusions (`rn`→`m`, `cl`→`d`, `vv`→`w`).
/// Names shorter than four letters must be equal (`Leo` and `Lea` are two people), and the
/// first letter must agree (`Mason` and `Jason` are twins, not a typo).
pub fn one_edit_apart(a: &str, b: &str) -> bool {
    let unscan = |s: &str| s.replace("rn", "m").replace("cl", "d").replace("vv", "w");
    let (a, b) = (unscan(a), unscan(b));
    if a == b {
        return true;
    }
    // People get the first letter right; Mason and Jason are twins, not a typo.
    if a.len() < 4 || b.len() < 4 || a.as_bytes()[0] != b.as_bytes()[0] {
        return false;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    if ra.len() == rb.len() {
        // substitution, or a swap of two neighbours
        ra[1..] == rb[1..]
            || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
    } else if ra.len() > rb.len() {
        ra[1..] == *rb
    } else {
        rb[1..] == *ra
    }
}

/// A name ready for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormalName {
    /// Words joined by single spaces, e.g. `smith jones`.
    pub full: String,
    /// The words, e.g. `["smith", "jones"]`.
    pub parts: Vec<String>,
}

impl NormalName {
    /// The first word, which is what a given name is mostly compared on.
    pub fn first(&self) -> &str {
        self.parts.first().map(String::as_str).unwrap_or("")
    }
}

/// Normalises a name field; `None` when nothing identifying is left.
pub fn normalise_name(raw: &str, given: bool) -> Option<NormalName> {
    let mut words = fold_words(raw);
    words.retain(|w| !TITLES.contains(&w.as_str()) && !SUFFIXES.contains(&w.as_str()));
    if given {
        // "Baby of Smith", "Twin 1", "Unknown": no given name yet.
        if words
            .first()
            .is_some_and(|w| PLACEHOLDERS.contains(&w.as_str()))
        {
            return None;
        }
    }
    if words.is_empty() {
        return None;
    }
    Some(NormalName {
        full: words.join(" "),
        parts: words,
    })
}

/// Double Metaphone primary code of a word (empty for a word with no letters).
pub fn phonetic(word: &str) -> String {
    DoubleMetaphone::default().encode(word)
}

/// The nickname and diminutive table: groups of given names one person may be recorded under.
#[derive(Debug, Clone, Default)]
pub struct Nicknames {
    groups_of: HashMap<String, Vec<u32>>,
    n_groups: u32,
}

/// The table shipped with Kith (`crates/linkage/data/nicknames.csv`).
pub const DEFAULT_NICKNAMES: &str = include_str!("../data/nicknames.csv");

impl Nicknames {
    /// Reads a table: one group per line, names separated by commas; `#` starts a comment line.
    pub fn parse(text: &str) -> Nicknames {
        let mut table = Nicknames::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let group = table.n_groups;
            table.n_groups += 1;
            for name in line.split(',') {
                let folded = fold_words(name).concat();
                if folded.is_empty() {
                    continue;
                }
                let groups = table.groups_of.entry(folded).or_default();
                if !groups.contains(&group) {
                    groups.push(group);
                }
            }
        }
        table
    }

    /// The groups a (folded, single-word) name belongs to.
    pub fn groups(&self, folded: &str) -> &[u32] {
        self.groups_of.get(folded).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether two folded names may be the same person's (equal, or in a shared group).
    pub fn equivalent(&self, a: &str, b: &str) -> bool {
        if a == b {
            return true;
        }
        let ga = self.groups(a);
        self.groups(b).iter().any(|g| ga.contains(g))
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.n_groups as usize
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.n_groups == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(raw: &str, given: bool) -> Option<String> {
        normalise_name(raw, given).map(|n| n.full)
    }

    #[test]
    fn names_fold_and_drop_titles() {
        assert_eq!(
            name("  Zoë  O'Brien ", false).as_deref(),
            Some("zoe obrien")
        );
        assert_eq!(name("SMITH-JONES", false).as_deref(), Some("smith jones"));
        assert_eq!(
            name("Mr John Smith Jnr", false).as_deref(),
            Some("john smith")
        );
        assert_eq!(name("Baby", true), None);
        assert_eq!(name("Baby of Sarah", true), None);
        assert_eq!(name("Twin 2", true), None);
        assert_eq!(name("---", false), None);
        assert_eq!(name("Łukasz", true).as_deref(), Some("lukasz"));
    }

    #[test]
    fn nicknames_are_groups() {
        let table = Nicknames::parse(DEFAULT_NICKNAMES);
        assert!(table.len() > 100);
        assert!(table.equivalent("william", "bill"));
        assert!(table.equivalent("bill", "liam"));
        assert!(
            table.equivalent("alex", "sandra"),
            "alex is in both alexander and alexandra"
        );
        assert!(!table.equivalent("alexander", "alexandra"));
        assert!(table.equivalent("mohammed", "muhammad"));
        assert!(
            !table.equivalent("jack", "jake"),
            "twins Jack and Jake must stay apart"
        );
    }

    #[test]
    fn one_edit_tells_typos_from_twins() {
        assert!(one_edit_apart("olivia", "olvia"));
        assert!(one_edit_apart("olivia", "oilvia"));
        assert!(one_edit_apart("emma", "ernrna") || one_edit_apart("emma", "enma"));
        assert!(one_edit_apart("thomas", "tomas"));
        assert!(!one_edit_apart("jack", "jake"));
        assert!(!one_edit_apart("leo", "lea"));
        assert!(!one_edit_apart("mason", "jason"));
        assert!(!one_edit_apart("ella", "ellie"));
        assert_eq!(fold_words("A1ice"), vec!["alice"]);
    }

    #[test]
    fn phonetic_codes_match_sound_alikes() {
        assert_eq!(phonetic("smith"), phonetic("smyth"));
        assert_eq!(phonetic("catherine"), phonetic("kathryn"));
        assert_ne!(phonetic("smith"), phonetic("jones"));
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent(raw in "\\PC{0,30}") {
            if let Some(once) = normalise_name(&raw, false) {
                let twice = normalise_name(&once.full, false).unwrap();
                prop_assert_eq!(twice, once);
            }
        }
    }
}
