//! The ways a name goes wrong between a person and an agency's database: keying errors,
//! scanned-form (OCR) confusions and the many spellings of a double-barrelled surname.
//!
//! Each function returns `None` when it cannot change the name (too short, no confusable
//! letters), so callers tag a record only when the record really differs.

use rand::Rng;

use crate::random::{between, chance, pick};

const KEYBOARD_ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];

/// A letter next to `c` on a QWERTY keyboard, in the same case.
fn keyboard_neighbour(c: char, rng: &mut impl Rng) -> char {
    let lower = c.to_ascii_lowercase();
    for row in KEYBOARD_ROWS {
        let keys: Vec<char> = row.chars().collect();
        if let Some(i) = keys.iter().position(|k| *k == lower) {
            let mut options = Vec::with_capacity(2);
            if i > 0 {
                options.push(keys[i - 1]);
            }
            if let Some(next) = keys.get(i + 1) {
                options.push(*next);
            }
            let chosen = pick(rng, &options).copied().unwrap_or('e');
            return if c.is_uppercase() {
                chosen.to_ascii_uppercase()
            } else {
                chosen
            };
        }
    }
    let fallback = char::from(b'a' + rng.random_range(0..26u8));
    if c.is_uppercase() {
        fallback.to_ascii_uppercase()
    } else {
        fallback
    }
}

/// One keying error: a letter inserted, deleted, substituted by a keyboard neighbour, or two
/// adjacent letters transposed.
pub(crate) fn typo(name: &str, rng: &mut impl Rng) -> Option<String> {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    for _ in 0..6 {
        let mut changed = chars.clone();
        let letters: Vec<usize> = (0..chars.len())
            .filter(|i| chars[*i].is_alphabetic())
            .collect();
        let &at = pick(rng, &letters)?;
        match rng.random_range(0..4) {
            0 => {
                let neighbour = keyboard_neighbour(chars[at], rng).to_ascii_lowercase();
                changed.insert((at + 1).min(changed.len()), neighbour);
            }
            1 => {
                changed.remove(at);
            }
            2 => changed[at] = keyboard_neighbour(chars[at], rng),
            _ => {
                if at + 1 < changed.len() {
                    changed.swap(at, at + 1);
                }
            }
        }
        // Keep the capital letter where a person would see one.
        if let (Some(first), Some(original)) = (changed.first_mut(), chars.first())
            && original.is_uppercase()
        {
            *first = first.to_uppercase().next().unwrap_or(*first);
        }
        for i in 1..changed.len() {
            if changed[i].is_uppercase()
                && changed[i - 1].is_alphabetic()
                && !chars.contains(&changed[i])
            {
                changed[i] = changed[i].to_lowercase().next().unwrap_or(changed[i]);
            }
        }
        let result: String = changed.into_iter().collect();
        if result != name && result.chars().count() >= 2 {
            return Some(result);
        }
    }
    None
}

/// Confusions of optical character recognition on a scanned form.
const OCR_CONFUSIONS: [(&str, &str); 14] = [
    ("rn", "m"),
    ("m", "rn"),
    ("cl", "d"),
    ("d", "cl"),
    ("l", "1"),
    ("I", "l"),
    ("O", "0"),
    ("o", "0"),
    ("e", "c"),
    ("h", "li"),
    ("S", "5"),
    ("B", "8"),
    ("vv", "w"),
    ("w", "vv"),
];

/// One OCR confusion (`rn`→`m`, `l`→`1`, `O`→`0`, `cl`→`d` …) at one place in the name.
pub(crate) fn ocr(name: &str, rng: &mut impl Rng) -> Option<String> {
    let applicable: Vec<(usize, &str, &str)> = OCR_CONFUSIONS
        .iter()
        .flat_map(|(from, to)| name.match_indices(from).map(move |(i, _)| (i, *from, *to)))
        .collect();
    let &(at, from, to) = pick(rng, &applicable)?;
    let mut result = String::with_capacity(name.len() + 1);
    result.push_str(name.get(..at)?);
    result.push_str(to);
    result.push_str(name.get(at + from.len()..)?);
    Some(result)
}

/// How one agency records a hyphenated or double-barrelled surname: in full, with the other
/// separator, or as one part only.
pub(crate) fn surname_variant(family: &str, rng: &mut impl Rng) -> String {
    let (first, second, hyphen) = match family.split_once('-') {
        Some((a, b)) => (a, b, true),
        None => match family.split_once(' ') {
            Some((a, b)) => (a, b, false),
            None => return family.to_string(),
        },
    };
    match between(rng, 0, 19) {
        0..=9 => family.to_string(),
        10..=12 => {
            if hyphen {
                format!("{first} {second}")
            } else {
                format!("{first}-{second}")
            }
        }
        13..=16 => first.to_string(),
        _ => {
            if chance(rng, 0.2) {
                format!("{first}{}", second.to_lowercase())
            } else {
                second.to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Stream, stream_rng};

    #[test]
    fn typos_change_the_name_by_a_little() {
        let mut rng = stream_rng(9, Stream::Household, 0, 0);
        for name in ["Smith", "Oliver", "O'Brien", "Wiśniewski", "Amy"] {
            for _ in 0..200 {
                let changed = typo(name, &mut rng).unwrap();
                assert_ne!(changed, name);
                let a = name.chars().count() as i64;
                let b = changed.chars().count() as i64;
                assert!((a - b).abs() <= 1, "{name} -> {changed}");
            }
        }
        assert!(typo("Al", &mut rng).is_none());
    }

    #[test]
    fn ocr_confuses_known_shapes() {
        let mut rng = stream_rng(9, Stream::Household, 0, 0);
        assert_eq!(ocr("Bum", &mut rng).map(|s| s.len() >= 3), Some(true));
        let seen: Vec<String> = (0..50).filter_map(|_| ocr("Ormerod", &mut rng)).collect();
        assert!(seen.iter().any(|s| s.contains('0') || s.contains("rn")));
        assert!(ocr("Ty", &mut rng).is_none());
    }

    #[test]
    fn surname_variants_keep_a_part() {
        let mut rng = stream_rng(9, Stream::Household, 0, 0);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..300 {
            seen.insert(surname_variant("Smith-Khan", &mut rng));
        }
        for expected in ["Smith-Khan", "Smith Khan", "Smith", "Khan"] {
            assert!(seen.contains(expected), "{seen:?}");
        }
        assert_eq!(surname_variant("Jones", &mut rng), "Jones");
    }
}
