//! Property tests of `mask_card_numbers`: no card number survives in any text, and text without
//! one comes back unchanged.

use proptest::prelude::*;
use regex::Regex;
use scamtrail_normalize::mask_card_numbers;
use std::sync::LazyLock;

/// A run of digits separated by at most one space or dash, in folded text.
static RUN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[0-9](?:[ -]?[0-9])*").unwrap());

fn luhn_ok(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d - b'0') * if i % 2 == 1 { 2 } else { 1 };
            if v > 9 { v - 9 } else { v }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Folds the look-alikes of the test alphabet as the normaliser does, for the reference check.
fn fold(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFEE0),
            '\u{00A0}' | '\t' | '\n' => Some(' '),
            '\u{2013}' => Some('-'),
            '\u{200B}' => None,
            c => Some(c),
        })
        .collect()
}

/// The Luhn-valid runs of 13 to 19 digits in `text`, as digits.
fn card_runs(text: &str) -> Vec<String> {
    let folded = fold(text);
    RUN.find_iter(&folded)
        .map(|m| m.as_str().chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|d| (13..=19).contains(&d.len()) && luhn_ok(d.as_bytes()))
        .collect()
}

/// Text of digits, separators, look-alikes and words (no hex letters: hex strings are below).
fn any_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "0", "1", "4", "5", "9", "4111", "1111", " ", "-", "  ", "--", "\u{00A0}", "\t", "\n", "\u{2013}", "\u{200B}",
        "\u{FF14}", "\u{FF11}", "z", "GB", "/", ".", ":", "*", "+", "exp ", "é",
    ]);
    prop::collection::vec(pieces, 0..80).prop_map(|p| p.concat())
}

/// A Luhn-valid number of `len` digits.
fn card_number(len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(0u8..10, len - 1).prop_map(|body| {
        let mut digits: Vec<u8> = body.iter().map(|d| b'0' + d).collect();
        digits.push(b'0');
        let check = (0..10u8).find(|&c| {
            *digits.last_mut().unwrap() = b'0' + c;
            luhn_ok(&digits)
        });
        *digits.last_mut().unwrap() = b'0' + check.unwrap();
        String::from_utf8(digits).unwrap()
    })
}

/// `digits` written with an optional space or dash after each digit but the last.
fn formatted(digits: String) -> impl Strategy<Value = (String, String)> {
    let n = digits.len();
    prop::collection::vec(prop::sample::select(vec!["", "", " ", "-"]), n).prop_map(move |seps| {
        let mut out = String::new();
        for (i, d) in digits.chars().enumerate() {
            out.push(d);
            if i + 1 < n {
                out.push_str(seps[i]);
            }
        }
        (digits.clone(), out)
    })
}

/// Words and punctuation without digits, so that they cannot join a run.
fn words() -> impl Strategy<Value = String> {
    "[a-zA-Z/.:,;()é ]{0,30}".prop_map(|s| format!("x{s}x"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn no_card_number_survives_and_only_its_middle_digits_change(text in any_text()) {
        let masked = mask_card_numbers(&text);
        prop_assert!(card_runs(&masked).is_empty(), "{text:?} -> {masked:?}");
        prop_assert_eq!(mask_card_numbers(&masked), masked.clone(), "idempotent");
        prop_assert_eq!(masked.chars().count(), text.chars().count());
        for (before, after) in text.chars().zip(masked.chars()) {
            if before != after {
                prop_assert!(after == '*' && fold(&before.to_string()).chars().all(|c| c.is_ascii_digit()));
            }
        }
        if card_runs(&text).is_empty() {
            prop_assert_eq!(masked.as_ref(), text.as_str());
        }
    }

    #[test]
    fn a_card_number_in_text_keeps_only_its_first_six_and_last_four_digits(
        (digits, typed) in (13usize..=19).prop_flat_map(card_number).prop_flat_map(formatted),
        before in words(),
        after in words(),
    ) {
        let text = format!("{before} {typed} {after}");
        let masked = mask_card_numbers(&text);
        let mut seen = 0;
        let expected: String = typed
            .chars()
            .map(|c| {
                if !c.is_ascii_digit() {
                    return c;
                }
                seen += 1;
                if seen > 6 && seen + 4 <= digits.len() { '*' } else { c }
            })
            .collect();
        let want = format!("{before} {expected} {after}");
        prop_assert_eq!(masked.as_ref(), want.as_str());
        prop_assert!(!masked.replace([' ', '-'], "").contains(&digits));
    }

    #[test]
    fn numbers_that_are_no_card_pass_unchanged(
        groups in prop::collection::vec("[0-9]{1,12}", 1..6),
        joins in prop::collection::vec(prop::sample::select(vec!["/", ".", ":", "  ", " x ", "--", "DE"]), 6),
        (digits, typed) in (13usize..=19).prop_flat_map(card_number).prop_flat_map(formatted),
    ) {
        // Short numbers (dates, phone numbers, amounts) joined by what ends a run.
        let mut text = String::new();
        for (g, j) in groups.iter().zip(&joins) {
            text.push_str(g);
            text.push_str(j);
        }
        prop_assert_eq!(mask_card_numbers(&text), text.as_str());
        // A card-length number whose check digit is wrong.
        let last = typed.chars().last().unwrap().to_digit(10).unwrap();
        let wrong = format!("{}{}", &typed[..typed.len() - 1], (last + 1) % 10);
        let wrong_digits = format!("{}{}", &digits[..digits.len() - 1], (last + 1) % 10);
        prop_assert!(!luhn_ok(wrong_digits.as_bytes()));
        prop_assert_eq!(mask_card_numbers(&wrong), wrong.as_str());
    }
}

proptest! {
    #[test]
    fn hex_strings_pass_unchanged(hex in "(0x)?[0-9a-f]{32,66}") {
        let text = format!("tx {hex} sent");
        prop_assert_eq!(mask_card_numbers(&text), text.as_str());
    }
}

#[test]
fn ibans_pass_unchanged_unless_their_digits_form_a_luhn_valid_card_length_run() {
    // German IBANs: 20 digits after the country letters, one run too long for a card.
    for iban in ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "DE44 5001 0517 5407 3249 31"] {
        assert_eq!(mask_card_numbers(iban), iban);
    }
    // A UK IBAN's run after the bank letters has 14 digits: masked only when it passes the check.
    assert!(!luhn_ok(b"60161331926819"));
    assert_eq!(mask_card_numbers("GB29 NWBK 6016 1331 9268 19"), "GB29 NWBK 6016 1331 9268 19");
}
