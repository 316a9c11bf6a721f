//! The public API as the server uses it: hints, hint-less detection, ambiguity and rejections.

use scamtrail_normalize::{Country, Hint, Kind, KindHint, Normalizer, NormalizerConfig, PhoneType, RejectionCode};

fn normalizer() -> Normalizer {
    Normalizer::new(NormalizerConfig { card_mac_key: b"integration-test-key".to_vec() })
}

fn detect(raw: &str) -> Result<String, RejectionCode> {
    normalizer().normalize(raw, &Hint::default()).map(|id| id.key).map_err(|r| r.code)
}

fn hinted(raw: &str, kind: KindHint) -> Result<String, RejectionCode> {
    normalizer().normalize(raw, &Hint::kind(kind)).map(|id| id.key).map_err(|r| r.code)
}

#[test]
fn detection_without_a_hint_finds_each_kind() {
    let cases = [
        ("DE89 3704 0044 0532 0130 00", "iban:DE89370400440532013000"),
        ("DEUTDEFF500", "bic:DEUTDEFF500"),
        ("20-00-00 55779911", "acct:gb:20000055779911"),
        ("+44 20 7946 0958", "tel:+442079460958"),
        ("tel:+44-20-7946-0958", "tel:+442079460958"),
        ("Support@Trade-FX.co.uk", "email:support@trade-fx.co.uk"),
        ("hxxps://login.trade-fx[.]co[.]uk/x", "domain:trade-fx.co.uk"),
        ("https://t.me/crypto_support", "telegram:crypto_support"),
        ("https://wa.me/447400123456", "tel:+447400123456"),
        ("https://www.instagram.com/fx.guru/", "instagram:fx.guru"),
        ("https://x.com/elonmusk_give", "x:elonmusk_give"),
        ("0x52908400098527886E0F7030069857D2E4169EE7", "evm:0x52908400098527886e0f7030069857d2e4169ee7"),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "btc:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "btc:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "trx:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
        ("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "xrp:rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"),
        ("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "sol:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
        (
            "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N",
            "ton:0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8",
        ),
        (
            "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
            "tx:evm:0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
        ),
    ];
    for (raw, key) in cases {
        assert_eq!(detect(raw), Ok(key.to_owned()), "{raw}");
    }
    let card = detect("4111 1111 1111 1111").unwrap();
    assert!(card.starts_with("card:411111:1111:"), "{card}");
}

#[test]
fn detection_reports_the_specific_reason_of_the_kind_that_fits() {
    assert_eq!(detect("DE89 3704 0044 0532 0130 01"), Err(RejectionCode::IbanChecksum));
    assert_eq!(detect("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"), Err(RejectionCode::EvmChecksum));
    assert_eq!(detect("http://192.168.1.10/login"), Err(RejectionCode::NotADomain));
    assert_eq!(detect("020 7946 0958"), Err(RejectionCode::Unrecognised));
    assert_eq!(detect("hello there"), Err(RejectionCode::Unrecognised));
    assert_eq!(detect("   "), Err(RejectionCode::Empty));
    assert_eq!(detect(&"9".repeat(600)), Err(RejectionCode::TooLong));
}

#[test]
fn a_bare_handle_is_ambiguous_and_lists_its_networks() {
    let rejection = normalizer().normalize("@crypto_king", &Hint::default()).unwrap_err();
    assert_eq!(rejection.code, RejectionCode::Ambiguous);
    assert_eq!(rejection.candidates, vec![Kind::Telegram, Kind::Instagram, Kind::TikTok, Kind::X]);
    assert!(rejection.message.contains("@crypto_king"));
    // With the network named, it is a key.
    assert_eq!(hinted("@crypto_king", KindHint::Telegram), Ok("telegram:crypto_king".to_owned()));
    assert_eq!(hinted("@Crypto_King", KindHint::TikTok), Ok("tiktok:crypto_king".to_owned()));
}

#[test]
fn only_ambiguous_rejections_carry_candidates() {
    for raw in ["DE89 3704 0044 0532 0130 01", "nonsense", "+44 1"] {
        let rejection = normalizer().normalize(raw, &Hint::default()).unwrap_err();
        assert!(rejection.candidates.is_empty(), "{raw}");
        assert!(!rejection.message.is_empty());
    }
}

#[test]
fn a_hint_tries_only_its_family_and_gives_its_reason() {
    assert_eq!(hinted("DEUTDEFF", KindHint::Iban), Err(RejectionCode::IbanFormat));
    assert_eq!(hinted("+44 20 7946 0958", KindHint::Email), Err(RejectionCode::EmailFormat));
    assert_eq!(hinted("1-800-FLOWERS", KindHint::Phone), Err(RejectionCode::PhoneLetters));
    assert_eq!(hinted("020 7946 0958", KindHint::Phone), Err(RejectionCode::PhoneNeedsCountry));
    assert_eq!(hinted("4111111111111112", KindHint::Card), Err(RejectionCode::CardChecksum));
    assert_eq!(hinted("localhost", KindHint::Website), Err(RejectionCode::NotADomain));
    assert_eq!(hinted("hello", KindHint::CryptoWallet), Err(RejectionCode::WalletUnrecognised));
    assert_eq!(hinted("deutdeff", KindHint::Bic), Ok("bic:DEUTDEFF".to_owned()));
    // "Bank account" takes an IBAN as well as a national number.
    assert_eq!(
        hinted("GB29 NWBK 6016 1331 9268 19", KindHint::BankAccount),
        Ok("iban:GB29NWBK60161331926819".to_owned())
    );
    assert_eq!(hinted("062-000 12345678", KindHint::BankAccount), Err(RejectionCode::AccountNeedsCountry));
    // A Telegram or WhatsApp account given by its number keys as the number.
    assert_eq!(hinted("+44 7400 123456", KindHint::Telegram), Ok("tel:+447400123456".to_owned()));
    assert_eq!(hinted("+44 7400 123456", KindHint::WhatsApp), Ok("tel:+447400123456".to_owned()));
}

#[test]
fn country_hint_reads_national_forms() {
    let n = normalizer();
    let gb = Hint { kind: None, country: Country::parse("gb") };
    let id = n.normalize("020 7946 0958", &gb).unwrap();
    assert_eq!(id.key, "tel:+442079460958");
    assert_eq!(id.facts.phone_type, Some(PhoneType::FixedLine));
    let au = Hint { kind: Some(KindHint::BankAccount), country: Country::parse("AU") };
    assert_eq!(n.normalize("062-000 12345678", &au).unwrap().key, "acct:au:062000:12345678");
}

#[test]
fn facts_are_reported() {
    let n = normalizer();
    let iban = n.normalize("DE89370400440532013000", &Hint::default()).unwrap();
    assert_eq!(iban.facts.country.map(|c| c.as_str()), Some("DE"));
    assert_eq!(iban.facts.bank_code.as_deref(), Some("37040044"));
    assert!(iban.facts.checksum_verified);
    let voip = n.normalize("+44 56 1234 5678", &Hint::default()).unwrap();
    assert_eq!(voip.facts.phone_type, Some(PhoneType::Voip));
    assert_eq!(voip.facts.phone_type.map(|t| t.as_str()), Some("VOIP"));
    let trx = n.normalize("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", &Hint::default()).unwrap();
    assert_eq!(trx.facts.chain, Some("tron"));
    assert_eq!(trx.kind.as_str(), "trx");
}

#[test]
fn card_keys_depend_on_the_server_secret_and_hide_the_number() {
    let a = normalizer().normalize("4111111111111111", &Hint::kind(KindHint::Card)).unwrap();
    let b = Normalizer::new(NormalizerConfig { card_mac_key: b"other".to_vec() })
        .normalize("4111111111111111", &Hint::kind(KindHint::Card))
        .unwrap();
    assert_ne!(a.key, b.key);
    assert_eq!(a.display, "411111******1111");
    assert!(!format!("{a:?}").contains("4111111111111111"));
    assert!(!format!("{:?}", NormalizerConfig { card_mac_key: b"secret".to_vec() }).contains("secret"));
}

#[test]
fn every_key_starts_with_its_kind() {
    let n = normalizer();
    for raw in [
        "DE89370400440532013000",
        "+442079460958",
        "a@example.com",
        "example.com",
        "0x52908400098527886e0f7030069857d2e4169ee7",
        "https://t.me/crypto_support",
    ] {
        let id = n.normalize(raw, &Hint::default()).unwrap();
        assert!(id.key.starts_with(&format!("{}:", id.kind.as_str())), "{}", id.key);
        assert_eq!(id.value(), &id.key[id.kind.as_str().len() + 1..]);
    }
}
