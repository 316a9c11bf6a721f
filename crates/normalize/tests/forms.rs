//! Fields as victims type them: labels, notes and several values around the clean cases of
//! every kind, generated from those cases. A label or a note never changes a key, and a field
//! holding two values yields both keys, in order. Also: no link with a path is ever read as an
//! e-mail address, and a link on a shared host keys by the site it names however it is written.

use proptest::prelude::*;
use scamtrail_normalize::{Country, Hint, IgnoredPart, Kind, KindHint, Normalizer, NormalizerConfig, Reading};
use std::sync::LazyLock;

static N: LazyLock<Normalizer> =
    LazyLock::new(|| Normalizer::new(NormalizerConfig { card_mac_key: b"forms-key".to_vec() }));

/// A clean value, the hint it is read with, and the labels a victim writes before such a value.
struct Clean {
    value: &'static str,
    hint: KindHint,
    /// Whether it also reads without a hint (a bare `@handle` names no network).
    detected: bool,
    labels: &'static [&'static str],
}

const CLEAN: &[Clean] = &[
    Clean {
        value: "+44 20 7946 0958",
        hint: KindHint::Phone,
        detected: true,
        labels: &["Tel:", "Tél :", "Phone", "Mobile:", "Numéro de téléphone :", "N° :", "Téléphone -"],
    },
    Clean {
        value: "+33 6 12 34 56 78",
        hint: KindHint::WhatsApp,
        detected: true,
        labels: &["WhatsApp", "WhatsApp:", "whatsapp number", "WA :"],
    },
    Clean {
        value: "GB29 NWBK 6016 1331 9268 19",
        hint: KindHint::Iban,
        detected: true,
        labels: &["IBAN:", "IBAN", "Iban :", "IBAN du compte :", "RIB/IBAN :"],
    },
    Clean {
        value: "DEUTDEFF",
        hint: KindHint::Bic,
        detected: true,
        labels: &["BIC:", "SWIFT:", "BIC/SWIFT :", "Code BIC"],
    },
    Clean {
        value: "support@trade-fx.co.uk",
        hint: KindHint::Email,
        detected: true,
        labels: &["E-mail :", "Email:", "Mail :", "Courriel :", "Adresse e-mail :", "email address"],
    },
    Clean {
        value: "0x52908400098527886e0f7030069857d2e4169ee7",
        hint: KindHint::CryptoWallet,
        detected: true,
        labels: &["ETH address", "ETH:", "USDT (ERC20):", "Wallet:", "Adresse ETH :", "USDT ERC-20"],
    },
    Clean {
        value: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        hint: KindHint::CryptoWallet,
        detected: true,
        labels: &["USDT (TRC20):", "TRC20:", "Tron address", "USDT TRC-20 :"],
    },
    Clean {
        value: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        hint: KindHint::CryptoWallet,
        detected: true,
        labels: &["BTC:", "Bitcoin address:", "Adresse BTC :"],
    },
    Clean {
        value: "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
        hint: KindHint::CryptoTransaction,
        detected: true,
        labels: &["TXID:", "Tx hash:", "Transaction :"],
    },
    Clean {
        value: "@crypto_support",
        hint: KindHint::Telegram,
        detected: false,
        labels: &["Telegram:", "Telegram", "TG :"],
    },
    Clean { value: "@fx.guru", hint: KindHint::Instagram, detected: false, labels: &["Instagram:", "Insta :", "IG"] },
    Clean {
        value: "https://trade-fx.co.uk/login",
        hint: KindHint::Website,
        detected: true,
        labels: &["Site:", "Website:", "Lien :", "URL:", "Site web :"],
    },
    Clean { value: "https://bit.ly/3xyzAbc", hint: KindHint::Website, detected: true, labels: &["Link:", "Lien :"] },
];

/// Notes victims write after a value; none names a kind.
const NOTES: &[&str] = &["(NatWest)", "(perso)", "[main account]", "(he said so)", "- office", "(Revolut, London)"];

/// Separators between two values in one field.
const SEPARATORS: &[&str] = &[" / ", "; ", ", ", " ou ", " or ", " | ", " et ", "/ "];

fn key_of(clean: &Clean) -> String {
    N.normalize(clean.value, &Hint::kind(clean.hint)).unwrap_or_else(|e| panic!("{}: {e}", clean.value)).key
}

fn keys(reading: &Reading) -> Vec<Result<String, String>> {
    reading.values().map(|v| v.outcome.as_ref().map(|id| id.key.clone()).map_err(|e| e.to_string())).collect()
}

fn parts(reading: &Reading, part: IgnoredPart) -> Vec<String> {
    reading.first.ignored.iter().filter(|i| i.part == part).map(|i| i.text.clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn labels_and_notes_never_change_the_key(
        case in 0..CLEAN.len(),
        label in any::<prop::sample::Index>(),
        note in any::<prop::sample::Index>(),
        form in 0..3usize,
        hinted in any::<bool>(),
    ) {
        let clean = &CLEAN[case];
        let key = key_of(clean);
        let label = label.get(clean.labels);
        let note = note.get(NOTES);
        let raw = match form {
            0 => format!("{label} {}", clean.value),
            1 => format!("{} {note}", clean.value),
            _ => format!("{label} {} {note}", clean.value),
        };
        // A label names the kind, so the hint may go; a note alone needs what the clean value needed.
        let hint = if hinted || (form == 1 && !clean.detected) { Hint::kind(clean.hint) } else { Hint::default() };
        let reading = N.read(&raw, &hint);
        prop_assert_eq!(keys(&reading), vec![Ok(key.clone())], "{}", raw);
        prop_assert_eq!(N.normalize(&raw, &hint).map(|id| id.key), Ok(key), "{}", raw);
        if form != 1 {
            prop_assert_eq!(parts(&reading, IgnoredPart::Label), vec![label.trim().to_owned()], "{}", raw);
        }
        if form != 0 {
            prop_assert_eq!(parts(&reading, IgnoredPart::Note), vec![note.to_owned()], "{}", raw);
        }
    }

    #[test]
    fn two_values_in_one_field_yield_both_keys(
        first in 0..CLEAN.len(),
        second in 0..CLEAN.len(),
        separator in any::<prop::sample::Index>(),
        labelled in any::<bool>(),
        label in any::<prop::sample::Index>(),
    ) {
        let (a, b) = (&CLEAN[first], &CLEAN[second]);
        prop_assume!(a.detected && b.detected && key_of(a) != key_of(b));
        let second_value = if labelled { format!("{} {}", label.get(b.labels), b.value) } else { b.value.to_owned() };
        let raw = format!("{}{}{second_value}", a.value, separator.get(SEPARATORS));
        let reading = N.read(&raw, &Hint::default());
        prop_assert_eq!(keys(&reading), vec![Ok(key_of(a)), Ok(key_of(b))], "{}", raw);
        // The field's identifier is the first value.
        prop_assert_eq!(N.normalize(&raw, &Hint::default()).map(|id| id.key), Ok(key_of(a)), "{}", raw);
    }

    #[test]
    fn no_link_with_a_path_is_read_as_an_email_address(
        scheme in prop::sample::select(vec!["https://", "http://", "hxxps://", "//", "", "www."]),
        host in "[a-z]{1,12}\\.(com|co\\.uk|io|fr)",
        path in "(/[a-zA-Z0-9@._~+-]{0,12}){1,4}",
        at_handle in "[a-z][a-z0-9._]{1,12}",
        query in "(\\?[a-z]=[a-z0-9@.]{0,10})?",
    ) {
        for raw in [format!("{scheme}{host}{path}{query}"), format!("{scheme}{host}{path}/@{at_handle}{query}")] {
            for hint in [Hint::default(), Hint::kind(KindHint::Email), Hint::kind(KindHint::Website)] {
                if let Ok(id) = N.normalize(&raw, &hint) {
                    prop_assert_ne!(id.kind, Kind::Email, "{} read as {}", raw, id.key);
                }
                for value in N.read(&raw, &hint).values() {
                    prop_assert!(value.outcome.as_ref().map_or(true, |id| id.kind != Kind::Email), "{}", raw);
                }
            }
        }
    }

    #[test]
    fn a_short_link_keys_the_same_however_it_is_written(
        code in "[A-Za-z0-9]{5,9}",
        other in "[A-Za-z0-9]{5,9}",
        scheme in prop::sample::select(vec!["https://", "http://", "", "hxxps://"]),
        www in any::<bool>(),
        upper_host in any::<bool>(),
        slash in any::<bool>(),
        query in any::<bool>(),
    ) {
        let host = if upper_host { "BIT.LY" } else { "bit.ly" };
        let written = format!(
            "{scheme}{}{host}/{code}{}{}",
            if www { "www." } else { "" },
            if slash { "/" } else { "" },
            if query { "?utm_source=telegram" } else { "" },
        );
        let key = N.normalize(&written, &Hint::default()).map(|id| id.key);
        prop_assert_eq!(key.clone(), Ok(format!("url:bit.ly/{code}")), "{}", written);
        prop_assert_eq!(N.normalize(&written, &Hint::kind(KindHint::Website)).map(|id| id.key), key.clone());
        // bit.ly codes are case-sensitive: another code, or the same in another case, is another link.
        prop_assume!(other != code);
        let another = N.normalize(&format!("https://bit.ly/{other}"), &Hint::default()).map(|id| id.key);
        prop_assert_ne!(another, key);
    }
}

/// A value as typed, the form's kind, the victim's country and the keys it gives.
type Example = (&'static str, Option<KindHint>, Option<Country>, &'static [&'static str]);

#[test]
fn the_issue_examples() {
    let fr = Country::parse("FR");
    let gb = Country::parse("GB");
    let cases: [Example; 17] = [
        ("WhatsApp +33 6 12 34 56 78", Some(KindHint::WhatsApp), None, &["tel:+33612345678"]),
        ("WhatsApp +33 6 12 34 56 78", None, None, &["tel:+33612345678"]),
        ("+33 6 12 34 56 78 (WhatsApp)", None, None, &["tel:+33612345678"]),
        ("Tél : 06 12 34 56 78", None, fr, &["tel:+33612345678"]),
        ("Telegram: @crypto_gains_vip", None, None, &["telegram:crypto_gains_vip"]),
        ("IBAN: GB29 NWBK 6016 1331 9268 19 (NatWest)", None, None, &["iban:GB29NWBK60161331926819"]),
        ("USDT (TRC20): TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", None, None, &["trx:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"]),
        (
            "ETH address 0x52908400098527886E0F7030069857D2E4169EE7",
            None,
            None,
            &["evm:0x52908400098527886e0f7030069857d2e4169ee7"],
        ),
        ("E-mail : john.doe@gmail.com", None, None, &["email:john.doe@gmail.com"]),
        ("(+33) 6 12 34 56 78", None, None, &["tel:+33612345678"]),
        ("+44 20 7946 0958 ext. 12", None, None, &["tel:+442079460958"]),
        ("020 7946 0958 / 07911 123456", None, gb, &["tel:+442079460958", "tel:+447911123456"]),
        (
            "IBAN FR76 3000 6000 0112 3456 7890 189 BIC AGRIFRPP",
            None,
            None,
            &["iban:FR7630006000011234567890189", "bic:AGRIFRPP"],
        ),
        ("john.doe [at] gmail [dot] com", None, None, &["email:john.doe@gmail.com"]),
        ("https://www.tiktok.com/@fxguru", None, None, &["tiktok:fxguru"]),
        ("https://sites.google.com/view/cryptogains-pro", None, None, &["url:sites.google.com/view/cryptogains-pro"]),
        ("https://bit.ly/3xyzAbc", None, None, &["url:bit.ly/3xyzAbc"]),
    ];
    for (raw, kind, country, expected) in cases {
        let reading = N.read(raw, &Hint { kind, country });
        let expected: Vec<Result<String, String>> = expected.iter().map(|k| Ok((*k).to_owned())).collect();
        assert_eq!(keys(&reading), expected, "{raw} ({kind:?})");
    }
    let whatsapp = N.normalize("WhatsApp +33 6 12 34 56 78", &Hint::default()).unwrap();
    assert_eq!(whatsapp.facts.messaging_app, Some("whatsapp"));
    let extension = N.read("+44 20 7946 0958 ext. 12", &Hint::default());
    assert_eq!(extension.first.outcome.unwrap().facts.extension.as_deref(), Some("12"));
    assert_eq!(parts(&N.read("+44 20 7946 0958 ext. 12", &Hint::default()), IgnoredPart::Extension), ["ext. 12"]);
}
