//! Property tests: no input panics, keys are fixed points, formatting noise never changes a key.

use proptest::prelude::*;
use scamtrail_normalize::{
    Country, Hint, Identifier, Kind, KindHint, MAX_INPUT_BYTES, MAX_VALUES_PER_FIELD, Normalizer, NormalizerConfig,
    RejectionCode,
};
use std::sync::LazyLock;

static N: LazyLock<Normalizer> =
    LazyLock::new(|| Normalizer::new(NormalizerConfig { card_mac_key: b"property-key".to_vec() }));

fn all_hints() -> Vec<Hint> {
    let mut hints = vec![Hint::default(), Hint { kind: None, country: Country::parse("GB") }];
    for kind in KindHint::ALL {
        hints.push(Hint::kind(kind));
        hints.push(Hint { kind: Some(kind), country: Country::parse("US") });
    }
    hints
}

/// Strings full of the characters that trip parsers: separators, look-alikes, controls.
fn nasty() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "0",
        "1",
        "9",
        "+",
        "00",
        "@",
        ".",
        ":",
        "/",
        "//",
        "-",
        " ",
        "[.]",
        "(.)",
        "x",
        "Q",
        "é",
        "ß",
        "\u{200B}",
        "\u{FEFF}",
        "\u{202E}",
        "\u{00A0}",
        "\u{0000}",
        "\n",
        "\t",
        "\u{FF10}",
        "\u{FF11}",
        "＋",
        "–",
        "http://",
        "hxxps://",
        "tel:",
        "mailto:",
        "t.me/",
        "wa.me/",
        "0x",
        "bc1",
        "EQ",
        ";phone-context=",
        "?",
        "#",
        "%",
        "\u{1F4A9}",
        "\u{10FFFF}",
        "xn--",
        "IBAN",
        "DE89",
        "ltc1",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

fn check_no_panic(s: &str) {
    for hint in all_hints() {
        match N.normalize(s, &hint) {
            Ok(id) => {
                assert!(id.key.starts_with(&format!("{}:", id.kind.as_str())));
                assert!(!id.key.is_empty());
            }
            Err(r) => {
                assert!(!r.message.is_empty());
                assert_eq!(r.candidates.is_empty(), r.code != RejectionCode::Ambiguous);
            }
        }
        // Reading the field finds at most a bounded number of values, the first being normalize's.
        let reading = N.read(s, &hint);
        assert!(reading.others.len() < MAX_VALUES_PER_FIELD);
        assert_eq!(reading.first.outcome.as_ref().map(|id| &id.key), N.normalize(s, &hint).as_ref().map(|id| &id.key));
    }
    for e in N.extract(s, None).into_iter().chain(N.extract(s, Country::parse("GB"))) {
        assert!(e.start <= e.end && e.end <= s.len());
        assert!(s.is_char_boundary(e.start) && s.is_char_boundary(e.end));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_unicode_never_panics(s in any::<String>()) {
        check_no_panic(&s);
    }

    #[test]
    fn nasty_compositions_never_panic(s in nasty()) {
        check_no_panic(&s);
    }

    #[test]
    fn digit_soup_never_panics(s in "[+0-9 ()\\-.]{0,40}") {
        check_no_panic(&s);
        check_no_panic(&format!("+{s}"));
        check_no_panic(&format!("tel:{s};phone-context=+{s}"));
    }

    #[test]
    fn oversized_input_is_too_long_not_slow(s in "[a-z0-9@.]{513,2000}") {
        for hint in all_hints() {
            let r = N.normalize(&s, &hint).unwrap_err();
            prop_assert_eq!(r.code, RejectionCode::TooLong);
        }
    }
}

#[test]
fn huge_free_text_is_bounded() {
    let text = "+44 20 7946 0958 a@example.com 4111 1111 1111 1111 ".repeat(50_000);
    let found = N.extract(&text, None);
    assert!(found.len() <= 3);
    let limit = "x".repeat(MAX_INPUT_BYTES + 1);
    assert_eq!(N.normalize(&limit, &Hint::default()).unwrap_err().code, RejectionCode::TooLong);
}

/// Builds a checksum-valid IBAN for a German BBAN of 18 digits.
fn german_iban(bban: &str) -> String {
    let rearranged = format!("{bban}DE00");
    let mut acc = 0u32;
    for b in rearranged.bytes() {
        acc = if b.is_ascii_digit() {
            (acc * 10 + u32::from(b - b'0')) % 97
        } else {
            (acc * 100 + u32::from(b - b'A') + 10) % 97
        };
    }
    format!("DE{:02}{bban}", 98 - acc)
}

/// Inserts formatting noise (spaces, dashes) between characters, chosen by `mask`.
fn with_noise(s: &str, mask: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        out.push(c);
        match mask.get(i).copied().unwrap_or(0) % 7 {
            0 => out.push(' '),
            1 => out.push('-'),
            _ => {}
        }
    }
    out.trim_end_matches(['-', ' ']).to_owned()
}

/// Flips letter case by `mask`.
fn with_case(s: &str, mask: &[u8]) -> String {
    s.chars()
        .enumerate()
        .map(
            |(i, c)| {
                if mask.get(i).copied().unwrap_or(0) % 2 == 0 { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() }
            },
        )
        .collect()
}

/// The hint a stored identifier's kind implies.
fn hint_for(kind: Kind) -> KindHint {
    match kind {
        Kind::Iban => KindHint::Iban,
        Kind::Bic => KindHint::Bic,
        Kind::BankAccount => KindHint::BankAccount,
        Kind::Card => KindHint::Card,
        Kind::Phone => KindHint::Phone,
        Kind::Email => KindHint::Email,
        Kind::Domain | Kind::Url => KindHint::Website,
        Kind::Transaction => KindHint::CryptoTransaction,
        Kind::Telegram => KindHint::Telegram,
        Kind::Instagram => KindHint::Instagram,
        Kind::TikTok => KindHint::TikTok,
        Kind::Facebook => KindHint::Facebook,
        Kind::X => KindHint::X,
        _ => KindHint::CryptoWallet,
    }
}

/// Normalising the key's value and the display form again gives the same key.
fn assert_fixed_point(id: &Identifier, hint: &Hint) {
    let by_kind = Hint { kind: Some(hint_for(id.kind)), country: hint.country };
    let again = N.normalize(id.value(), &by_kind).unwrap_or_else(|e| panic!("{}: {e}", id.key));
    assert_eq!(again.key, id.key, "value of {}", id.key);
    if id.kind != Kind::Card {
        let again = N.normalize(&id.display, hint).unwrap_or_else(|e| panic!("{} ({}): {e}", id.display, id.key));
        assert_eq!(again.key, id.key, "display {}", id.display);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn iban_noise_and_case_never_change_the_key(bban in "[0-9]{18}", mask in prop::collection::vec(any::<u8>(), 40)) {
        let iban = german_iban(&bban);
        let id = N.normalize(&iban, &Hint::default()).unwrap();
        prop_assert_eq!(&id.key, &format!("iban:{iban}"));
        let noisy = with_case(&with_noise(&iban, &mask), &mask);
        prop_assert_eq!(&N.normalize(&noisy, &Hint::kind(KindHint::Iban)).unwrap().key, &id.key);
        assert_fixed_point(&id, &Hint::default());
    }

    #[test]
    fn evm_case_and_uri_never_change_the_key(bytes in prop::collection::vec(any::<u8>(), 20), upper in any::<bool>()) {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let lower = format!("0x{hex}");
        let id = N.normalize(&lower, &Hint::default()).unwrap();
        prop_assert_eq!(&id.key, &format!("evm:{lower}"));
        let other = if upper { format!("0x{}", hex.to_ascii_uppercase()) } else { id.display.clone() };
        prop_assert_eq!(&N.normalize(&other, &Hint::default()).unwrap().key, &id.key);
        prop_assert_eq!(&N.normalize(&format!("ethereum:{other}@56"), &Hint::kind(KindHint::CryptoWallet)).unwrap().key, &id.key);
        assert_fixed_point(&id, &Hint::default());
    }

    #[test]
    fn domain_case_dots_and_defanging_never_change_the_key(
        label in "[a-z][a-z0-9]{2,12}",
        sub in "[a-z]{1,8}",
        suffix in prop::sample::select(vec!["com", "co.uk", "de", "io", "com.au", "blogspot.com", "online"]),
        mask in prop::collection::vec(any::<u8>(), 40),
    ) {
        let host = format!("{label}.{suffix}");
        let id = N.normalize(&host, &Hint::default()).unwrap();
        prop_assert_eq!(&id.key, &format!("domain:{host}"));
        for variant in [
            format!("https://{sub}.{host}/path?q=1"),
            format!("{}.", with_case(&host, &mask)),
            format!("hxxps://{}", host.replace('.', "[.]")),
            format!("HTTP://{sub}.{}:8080", host.to_ascii_uppercase()),
        ] {
            prop_assert_eq!(&N.normalize(&variant, &Hint::kind(KindHint::Website)).unwrap().key, &id.key, "{}", variant);
        }
        assert_fixed_point(&id, &Hint::default());
    }

    #[test]
    fn email_case_never_changes_the_key(local in "[a-z][a-z0-9._+]{0,20}[a-z0-9]", mask in prop::collection::vec(any::<u8>(), 64)) {
        prop_assume!(!local.contains(".."));
        let address = format!("{local}@example.co.uk");
        let id = N.normalize(&address, &Hint::default()).unwrap();
        let shouted = with_case(&address, &mask);
        prop_assert_eq!(&N.normalize(&shouted, &Hint::default()).unwrap().key, &id.key);
        prop_assert_eq!(&N.normalize(&format!("mailto:{shouted}"), &Hint::kind(KindHint::Email)).unwrap().key, &id.key);
        assert_fixed_point(&id, &Hint::default());
    }

    #[test]
    fn phone_formatting_never_changes_the_key(subscriber in "[0-9]{6}", mask in prop::collection::vec(any::<u8>(), 20)) {
        // UK mobiles 07400 xxxxxx are valid for any subscriber digits.
        let national = format!("07400{subscriber}");
        let gb = Hint { kind: None, country: Country::parse("GB") };
        let id = N.normalize(&national, &gb).unwrap();
        prop_assert_eq!(&id.key, &format!("tel:+447400{subscriber}"));
        let international = format!("+447400{subscriber}");
        for variant in [with_noise(&national, &mask), with_noise(&international, &mask), format!("0044 {}", &national[1..]), format!("tel:{international}")] {
            prop_assert_eq!(&N.normalize(&variant, &gb).unwrap().key, &id.key, "{}", variant);
        }
        assert_fixed_point(&id, &Hint::default());
    }

    #[test]
    fn card_noise_never_changes_the_key(body in "[0-9]{14}", mask in prop::collection::vec(any::<u8>(), 20)) {
        // Complete a Visa number with its Luhn digit.
        let partial = format!("4{body}");
        let check = (0..10).find(|d| luhn(&format!("{partial}{d}"))).unwrap_or(0);
        let pan = format!("{partial}{check}");
        let id = N.normalize(&pan, &Hint::kind(KindHint::Card)).unwrap();
        prop_assert!(!id.key.contains(&pan) && !id.display.contains(&pan));
        let noisy = with_noise(&pan, &mask).replace('-', " ");
        prop_assert_eq!(&N.normalize(&noisy, &Hint::kind(KindHint::Card)).unwrap().key, &id.key);
    }

    #[test]
    fn handles_ignore_case_and_at_sign(handle in "[a-z][a-z0-9_]{4,14}", mask in prop::collection::vec(any::<u8>(), 20)) {
        for kind in [KindHint::Telegram, KindHint::Instagram, KindHint::X] {
            let id = N.normalize(&handle, &Hint::kind(kind)).unwrap();
            let shouted = format!("@{}", with_case(&handle, &mask));
            prop_assert_eq!(&N.normalize(&shouted, &Hint::kind(kind)).unwrap().key, &id.key);
            assert_fixed_point(&id, &Hint::kind(kind));
        }
    }

    #[test]
    fn full_width_digits_read_like_ascii(subscriber in "[0-9]{6}") {
        let ascii = format!("+447400{subscriber}");
        let wide: String = ascii.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)).collect();
        prop_assert_eq!(
            N.normalize(&wide, &Hint::default()).unwrap().key,
            N.normalize(&ascii, &Hint::default()).unwrap().key
        );
    }
}

fn luhn(s: &str) -> bool {
    let sum: u32 = s
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let v = u32::from(b - b'0');
            if i % 2 == 1 { if v * 2 > 9 { v * 2 - 9 } else { v * 2 } } else { v }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[test]
fn every_fixed_point_in_the_vectors() {
    let samples = [
        ("GB29 NWBK 6016 1331 9268 19", Hint::default()),
        ("DEUTDEFFXXX", Hint::default()),
        ("20-00-00 55779911", Hint::default()),
        ("021000021 123456789", Hint { kind: Some(KindHint::BankAccount), country: Country::parse("US") }),
        ("+44 56 1234 5678", Hint::default()),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", Hint::default()),
        ("418840E6C55B9ADA326D211D818C34A994AECED808", Hint::kind(KindHint::CryptoWallet)),
        ("UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI", Hint::default()),
        ("https://www.facebook.com/John.Smith.Invest", Hint::default()),
        ("https://t.me/+AbCdEfGhIjKl", Hint::default()),
        ("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", Hint::default()),
    ];
    for (raw, hint) in samples {
        let id = N.normalize(raw, &hint).unwrap_or_else(|e| panic!("{raw}: {e}"));
        let hint = Hint { kind: hint.kind, country: hint.country.or(id.facts.country) };
        assert_fixed_point(&id, &hint);
    }
}
