//! Identifiers that pass (or deliberately fail) the checks in `model`: NHS numbers, UPNs and PNC
//! IDs.
//!
//! True NHS numbers come from a bijection of the person's sequence number, so no two synthetic
//! people share one, and all lie in the 9xx range, which is never issued to real patients.

use model::{NhsNumber, PncId, Upn};
use rand::Rng;

use crate::random::between;

/// Slots for true NHS numbers: nine usable numbers in each of 10⁷ blocks.
const NHS_SLOTS: u64 = 90_000_000;
/// Multiplier of the affine scramble of people over the slots; coprime with 9 × 10⁷ (not
/// divisible by 2, 3 or 5), so the scramble is a bijection.
const NHS_SCRAMBLE: u64 = 7_368_787;
/// Multiplier of the PNC serial scramble; coprime with 10⁷.
const PNC_SCRAMBLE: u64 = 3_141_593;
const TEN_MILLION: u64 = 10_000_000;

fn nine_digits(prefix: u64) -> [u8; 9] {
    let mut digits = [0u8; 9];
    let mut rest = prefix;
    for slot in digits.iter_mut().rev() {
        *slot = (rest % 10) as u8;
        rest /= 10;
    }
    digits
}

fn render(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d % 10)).collect()
}

/// Whether ten digits pass the Modulus 11 check.
pub(crate) fn nhs_is_valid(text: &str) -> bool {
    text.parse::<NhsNumber>().is_ok()
}

/// The true NHS number of the person with this sequence number (0-based, unique per run).
///
/// Each block of ten 9-digit prefixes that differ only in the last digit holds at least nine with
/// a usable check digit (the weight-2 position hits each remainder at most once), so person `s`
/// takes the `k mod 9`-th usable prefix of block `k / 9`, where `k` is `s` scrambled by an affine
/// bijection over the 9xx range.
/// Unique for the first 90 million people of a run.
pub(crate) fn nhs_for_person(sequence: u64) -> String {
    // Scramble people over the 9 × 10⁷ slots first, so siblings' numbers look unrelated.
    let slot = (sequence % NHS_SLOTS * NHS_SCRAMBLE + 12_345_678) % NHS_SLOTS;
    let block = slot / 9;
    let wanted = slot % 9;
    let base = 90_000_000 + block;
    let mut usable = 0;
    let mut fallback = None;
    for last in 0..10 {
        let digits = nine_digits(base * 10 + last);
        if let Some(check) = NhsNumber::check_digit(&digits) {
            let mut number = render(&digits);
            number.push(char::from(b'0' + check));
            if usable == wanted {
                return number;
            }
            fallback.get_or_insert(number);
            usable += 1;
        }
    }
    fallback.unwrap_or_else(|| "9434765919".to_string())
}

/// A valid NHS number that differs from `true_number` in one of its first nine digits.
pub(crate) fn nhs_digit_changed(true_number: &str, rng: &mut impl Rng) -> Option<String> {
    let digits: Vec<u8> = true_number.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if digits.len() != 10 {
        return None;
    }
    for _ in 0..40 {
        let mut nine = [0u8; 9];
        nine.copy_from_slice(&digits[..9]);
        let position = rng.random_range(1..9);
        let replacement = rng.random_range(0..10u8);
        if nine[position] == replacement {
            continue;
        }
        nine[position] = replacement;
        if let Some(check) = NhsNumber::check_digit(&nine) {
            let mut number = render(&nine);
            number.push(char::from(b'0' + check));
            return Some(number);
        }
    }
    None
}

/// A keying error that fails the Modulus 11 check: two adjacent digits transposed, or a wrong
/// final digit.
pub(crate) fn nhs_invalid(true_number: &str, rng: &mut impl Rng) -> String {
    let mut digits: Vec<u8> = true_number.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if digits.len() != 10 {
        return "0000000001".to_string();
    }
    if rng.random_bool(0.5) {
        let position = rng.random_range(0..8);
        let mut swapped = digits.clone();
        swapped.swap(position, position + 1);
        let text = render(&swapped);
        if !nhs_is_valid(&text) {
            return text;
        }
    }
    let shift = rng.random_range(1..10u8);
    digits[9] = (digits[9] + shift) % 10;
    render(&digits)
}

/// A permanent UPN: check letter, LA code, establishment, year of allocation, serial.
pub(crate) fn upn(la_code: u16, establishment: u16, year: i64, serial: u16) -> Option<String> {
    let body = format!(
        "{:03}{:04}{:02}{:03}",
        la_code % 1000,
        establishment % 10_000,
        year.rem_euclid(100),
        serial % 1000
    );
    let letter = Upn::check_letter(&body)?;
    Some(format!("{letter}{body}"))
}

/// A temporary UPN: a 2-digit serial followed by a letter from the check-letter table.
pub(crate) fn temporary_upn(
    la_code: u16,
    establishment: u16,
    year: i64,
    rng: &mut impl Rng,
) -> Option<String> {
    let final_letter =
        char::from(*model::ident::UPN_CHECK_LETTERS.get(rng.random_range(0..23usize))?);
    let body = format!(
        "{:03}{:04}{:02}{:02}{final_letter}",
        la_code % 1000,
        establishment % 10_000,
        year.rem_euclid(100),
        between(rng, 0, 99)
    );
    let letter = Upn::check_letter(&body)?;
    Some(format!("{letter}{body}"))
}

/// A PNC ID for the person with this sequence number, first recorded in `year`. The serial is a
/// bijection of the sequence number, so two people never share one.
pub(crate) fn pnc(year: i64, sequence: u64) -> Option<String> {
    let serial = (sequence % TEN_MILLION * PNC_SCRAMBLE + 424_242) % TEN_MILLION;
    let year = u16::try_from(year).ok()?;
    let serial = u32::try_from(serial).ok()?;
    PncId::new(year, serial).map(|id| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Stream, stream_rng};
    use std::collections::BTreeSet;

    #[test]
    fn true_nhs_numbers_are_valid_unique_and_test_range() {
        let mut seen = BTreeSet::new();
        for sequence in 0..50_000 {
            let number = nhs_for_person(sequence);
            assert!(nhs_is_valid(&number), "{number}");
            assert!(number.starts_with('9'));
            assert!(seen.insert(number));
        }
    }

    #[test]
    fn wrong_numbers_are_valid_and_invalid_numbers_are_not() {
        let mut rng = stream_rng(3, Stream::Household, 0, 0);
        for sequence in 0..2_000 {
            let truth = nhs_for_person(sequence);
            let wrong = nhs_digit_changed(&truth, &mut rng).unwrap();
            assert!(nhs_is_valid(&wrong));
            assert_ne!(wrong, truth);
            let invalid = nhs_invalid(&truth, &mut rng);
            assert!(!nhs_is_valid(&invalid), "{invalid}");
            assert_eq!(invalid.len(), 10);
        }
    }

    #[test]
    fn upns_and_pnc_ids_validate() {
        let mut rng = stream_rng(3, Stream::Household, 0, 0);
        let permanent = upn(801, 2000, 5, 1).unwrap();
        assert_eq!(permanent, "B801200005001");
        for serial in 0..500 {
            let text = upn(383, 2001, 2019, serial).unwrap();
            let parsed: model::Upn = text.parse().unwrap();
            assert!(!parsed.is_temporary());
            let temporary = temporary_upn(383, 2001, 2019, &mut rng).unwrap();
            let parsed: model::Upn = temporary.parse().unwrap();
            assert!(parsed.is_temporary());
        }
        let mut seen = BTreeSet::new();
        for sequence in 0..5_000 {
            let id = pnc(2015, sequence).unwrap();
            assert!(id.parse::<model::PncId>().is_ok(), "{id}");
            assert!(seen.insert(id));
        }
    }
}
