//! Throughput of `normalize` per kind on one core, and of `extract` on a narrative.
//!
//! Goals: IBAN, BIC, crypto, e-mail and domain at least 1,000,000 values/s; phones at least
//! 200,000 values/s. Criterion reports "elem/s": values per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scamtrail_normalize::{Country, Hint, KindHint, Normalizer, NormalizerConfig};

fn normalizer() -> Normalizer {
    Normalizer::new(NormalizerConfig { card_mac_key: b"bench-key".to_vec() })
}

fn group(c: &mut Criterion, name: &str, hint: Hint, values: &[&str]) {
    let n = normalizer();
    for v in values {
        assert!(n.normalize(v, &hint).is_ok(), "{name}: {v}");
    }
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(values.len() as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            for v in values {
                let _ = black_box(n.normalize(black_box(v), &hint));
            }
        })
    });
    g.finish();
}

fn kinds(c: &mut Criterion) {
    let gb = Country::parse("GB");
    group(
        c,
        "iban",
        Hint::kind(KindHint::Iban),
        &["DE89 3704 0044 0532 0130 00", "GB29NWBK60161331926819", "FR1420041010050500013M02606", "NL91ABNA0417164300"],
    );
    group(c, "bic", Hint::kind(KindHint::Bic), &["DEUTDEFF", "NWBKGB2L", "BNPAFRPPXXX", "UBSWCHZH80A"]);
    group(c, "card", Hint::kind(KindHint::Card), &["4111 1111 1111 1111", "5555555555554444"]);
    group(
        c,
        "phone_international",
        Hint::kind(KindHint::Phone),
        &["+44 20 7946 0958", "+1 212-736-5000", "+49 30 123456", "+33 1 42 68 53 00"],
    );
    group(c, "phone_national", Hint { kind: Some(KindHint::Phone), country: gb }, &["020 7946 0958", "07400 123456"]);
    group(c, "email", Hint::kind(KindHint::Email), &["support@trade-fx.co.uk", "John.Doe@Example.com"]);
    group(
        c,
        "domain",
        Hint::kind(KindHint::Website),
        &["https://login.trade-fx.co.uk/account?x=1", "example.com", "hxxps://evil[.]example[.]org/", "a.blogspot.com"],
    );
    group(
        c,
        "evm",
        Hint::kind(KindHint::CryptoWallet),
        &["0x52908400098527886e0f7030069857d2e4169ee7", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"],
    );
    group(
        c,
        "btc",
        Hint::kind(KindHint::CryptoWallet),
        &[
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ],
    );
    group(c, "tron", Hint::kind(KindHint::CryptoWallet), &["TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"]);
    group(c, "solana", Hint::kind(KindHint::CryptoWallet), &["EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"]);
    group(c, "ton", Hint::kind(KindHint::CryptoWallet), &["EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"]);
    group(
        c,
        "tx",
        Hint::kind(KindHint::CryptoTransaction),
        &["0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"],
    );
    group(c, "telegram", Hint::kind(KindHint::Telegram), &["@crypto_support", "https://t.me/crypto_support"]);
    group(
        c,
        "detect_mixed",
        Hint::default(),
        &[
            "DE89 3704 0044 0532 0130 00",
            "+44 20 7946 0958",
            "support@trade-fx.co.uk",
            "https://login.trade-fx.co.uk/",
            "0x52908400098527886e0f7030069857d2e4169ee7",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        ],
    );
}

fn extraction(c: &mut Criterion) {
    let n = normalizer();
    let text = "They called me from +44 20 7946 0958 and then 07400 123456. I paid 5,000 EUR to \
                IBAN DE89 3704 0044 0532 0130 00 (BIC DEUTDEFF) and later USDT to \
                TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t. The site was hxxps://login.trade-fx[.]co[.]uk/account \
                and they wrote from support@trade-fx.co.uk. Their Telegram is @crypto_support. \
                I trusted them because the man on the phone knew my name and my bank.";
    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("narrative", |b| b.iter(|| black_box(n.extract(black_box(text), Country::parse("GB")))));
    g.finish();
}

criterion_group!(benches, kinds, extraction);
criterion_main!(benches);
