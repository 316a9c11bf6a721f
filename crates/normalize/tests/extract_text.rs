//! Extraction from free text, as victims write it.

use scamtrail_normalize::{Country, Normalizer, NormalizerConfig};

fn keys(text: &str, country: Option<Country>) -> Vec<String> {
    Normalizer::new(NormalizerConfig { card_mac_key: b"k".to_vec() })
        .extract(text, country)
        .into_iter()
        .map(|e| e.identifier.key)
        .collect()
}

#[test]
fn a_typical_narrative() {
    let text = "They called me from +44 20 7946 0958 and then 07400 123456. I paid 5,000 EUR to \
                IBAN DE89 3704 0044 0532 0130 00 (BIC DEUTDEFF) and later USDT to \
                TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t. The site was hxxps://login.trade-fx[.]co[.]uk/account \
                and they wrote from support@trade-fx.co.uk. Their Telegram is @crypto_support.";
    let found = keys(text, Country::parse("GB"));
    for expected in [
        "tel:+442079460958",
        "tel:+447400123456",
        "iban:DE89370400440532013000",
        "bic:DEUTDEFF",
        "trx:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "domain:trade-fx.co.uk",
        "email:support@trade-fx.co.uk",
        "telegram:crypto_support",
    ] {
        assert!(found.contains(&expected.to_owned()), "missing {expected} in {found:?}");
    }
    assert_eq!(found.len(), 8, "{found:?}");
}

#[test]
fn spans_point_into_the_original_text() {
    let text = "wallet: 0x52908400098527886E0F7030069857D2E4169EE7, mail a@example.com";
    let n = Normalizer::new(NormalizerConfig::default());
    let found = n.extract(text, None);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(&text[found[0].start..found[0].end], "0x52908400098527886E0F7030069857D2E4169EE7");
    assert_eq!(&text[found[1].start..found[1].end], "a@example.com");
}

#[test]
fn spans_survive_folding_of_full_width_and_zero_width_characters() {
    let text = "call ＋４４\u{200B}20 7946 0958 now";
    let n = Normalizer::new(NormalizerConfig::default());
    let found = n.extract(text, None);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].identifier.key, "tel:+442079460958");
    assert_eq!(&text[found[0].start..found[0].end], "＋４４\u{200B}20 7946 0958");
}

#[test]
fn duplicates_collapse_to_the_first_occurrence() {
    let text = "a@example.com then A@EXAMPLE.COM again, and https://example.com/x and example.com";
    let found = keys(text, None);
    assert_eq!(found, vec!["email:a@example.com", "domain:example.com"]);
}

#[test]
fn wallets_and_hashes() {
    let text = "sent to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq, tx \
                5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060; also \
                EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N and rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh";
    let found = keys(text, None);
    assert_eq!(
        found,
        vec![
            "btc:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "tx:btc:5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
            "ton:0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8",
            "xrp:rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
        ]
    );
}

#[test]
fn what_is_not_taken() {
    // Prices, dates, a bare handle with no network, a shouted word, a file name and an IP.
    let text = "I lost 12.50 on 2024-05-01. Ask @someone. PLEASE HELP ME CUSTOMER. See notes.txt, 10.0.0.1";
    assert_eq!(keys(text, None), Vec::<String>::new());
}

#[test]
fn national_numbers_need_the_country() {
    let text = "he rang from 020 7946 0958 yesterday";
    assert!(keys(text, None).is_empty());
    assert_eq!(keys(text, Country::parse("GB")), vec!["tel:+442079460958"]);
}

#[test]
fn cards_in_text_are_keyed_without_the_number() {
    let text = "my card 4111 1111 1111 1111 was charged";
    let n = Normalizer::new(NormalizerConfig::default());
    let found = n.extract(text, None);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].identifier.display, "411111******1111");
}
