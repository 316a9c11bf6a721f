//! Arbitrary requests thrown at the wire layer, the code every request meets before the store:
//! `SubmitReport`, `AddReportDetails`, `LookupIdentifiers` and `UpdateCluster`. Whatever comes in,
//! nothing panics, the memory a request allocates stays within a bound set by its size, and every
//! rejection is a clean `INVALID_ARGUMENT` of bounded size naming fields with stable reasons.

use std::alloc::System;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use prost::Message;
use prost_types::Timestamp;
use scamtrail_core::{UnixMicros, limits};
use scamtrail_normalize::{Normalizer, NormalizerConfig};
use scamtrail_proto::v1 as pb;
use scamtrail_server::violations::LISTED_MAX;
use scamtrail_server::wire::Intake;
use scamtrail_server::{cluster_wire, error, lookup, violations::Violations};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tonic::Code;
use tonic_types::StatusExt;

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The allocator's counters are the process's: each test holds this for its whole run, so that
/// no other test allocates while one measures.
static ALONE: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    ALONE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `test` on cases of `strategy`, alone; panics with the smallest failing case.
fn check<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let _alone = alone();
    let config = ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() };
    if let Err(e) = TestRunner::new(config).run(&strategy, test) {
        panic!("{e}");
    }
}

/// The bytes `f` allocated in all (every allocation and growth, freed or not), and its result.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let region = Region::new(ALLOCATOR);
    let out = f();
    let change = region.change();
    (change.bytes_allocated.saturating_add(change.bytes_reallocated.max(0).unsigned_abs()), out)
}

/// What one request may allocate in all: a fixed allowance for normalising its identifiers, plus
/// a small multiple of its size.
fn allowance(request_bytes: usize) -> usize {
    4 * 1024 * 1024 + 8 * request_bytes
}

/// Bytes of a rejection's message and details (base64, as they travel) at most, whatever the
/// request: well under the 16 KiB of headers HTTP/2 clients accept by default.
const REJECTION_MAX_BYTES: usize = 10 * 1024;

/// One normaliser for every case, used once on every kind and on free text before any
/// measurement, so that tables built on first use are not counted against a request.
fn normalizer() -> &'static Normalizer {
    static NORMALIZER: LazyLock<Normalizer> = LazyLock::new(|| {
        let normalizer = Normalizer::new(NormalizerConfig { card_mac_key: vec![7; 32] });
        let sample = "Paid DE89 3704 0044 0532 0130 00 (BIC COBADEFFXXX), card 4111 1111 1111 1111, called \
                      +44 20 7946 0958 and 020 7946 0958, wrote to a@b.example, t.me/scam_support, \
                      0x52908400098527886E0F7030069857D2E4169EE7, bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq, \
                      hxxps://trade-fx[.]co.uk/login, 12345678 20-00-00";
        for value in sample.split([',', ' ']) {
            let _ = normalizer.normalize(value, &scamtrail_normalize::Hint::default());
        }
        let _ = normalizer.extract(sample, None);
        normalizer
    });
    &NORMALIZER
}

/// Checks that a rejection is a clean, bounded `INVALID_ARGUMENT` naming fields.
fn assert_clean_rejection(status: &tonic::Status) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bytes = status.message().len() + status.details().len().div_ceil(3) * 4;
    assert!(bytes <= REJECTION_MAX_BYTES, "a rejection of {bytes} bytes");
    let bad = status.get_details_bad_request().expect("a rejection carries google.rpc.BadRequest");
    assert!(!bad.field_violations.is_empty() && bad.field_violations.len() <= LISTED_MAX);
    for v in &bad.field_violations {
        assert!(!v.field.is_empty(), "{v:?}");
        assert!(
            !v.reason.is_empty() && v.reason.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "{v:?}"
        );
        assert!(!v.description.is_empty(), "{v:?}");
    }
}

fn rejected(violations: Violations) -> tonic::Status {
    error::invalid_argument(violations)
}

// Strategies: values victims type, values attackers send, and sizes on both sides of each limit.

fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        prop::sample::select(vec![
            "DE89 3704 0044 0532 0130 00",
            "4111 1111 1111 1111",
            "5500 0000 0000 0004 exp 01/30",
            "+44 20 7946 0958",
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "hxxps://trade-fx[.]co.uk/login",
            "@scam_support",
            "ST-7K3M-9QXD",
            "  ",
        ])
        .prop_map(str::to_owned),
        prop::collection::vec(any::<char>(), 0..40).prop_map(|c| c.into_iter().collect()),
        (prop::sample::select(vec!['a', 'é', '€', '9', ' ', '\u{1F600}']), 0..max)
            .prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

fn enum_number() -> impl Strategy<Value = i32> {
    prop_oneof![0..20i32, any::<i32>()]
}

fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
    let now = UnixMicros::now().to_seconds_nanos().0;
    prop::option::of(prop_oneof![
        (0..now + 10_000, 0..1_000_000_000i32).prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }),
        (any::<i64>(), any::<i32>()).prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }),
    ])
}

fn identifier() -> impl Strategy<Value = pb::ScammerIdentifier> {
    (text(limits::IDENTIFIER_VALUE_MAX_CHARS + 50), enum_number(), enum_number())
        .prop_map(|(value, role, kind_hint)| pb::ScammerIdentifier { value, role, kind_hint })
}

fn payment() -> impl Strategy<Value = pb::Payment> {
    (
        any::<i64>(),
        text(6),
        enum_number(),
        timestamp(),
        prop::collection::vec(identifier(), 0..limits::BENEFICIARIES_MAX + 3),
        text(limits::TRANSACTION_HASH_MAX_CHARS + 10),
        any::<bool>(),
        prop_oneof![text(80), "[0-9]{0,40}(\\.[0-9]{0,25})?"],
    )
        .prop_map(
            |(amount_minor, currency, method, paid_at, beneficiaries, transaction_hash, recall_requested, amount)| {
                pb::Payment {
                    amount_minor,
                    currency,
                    method,
                    paid_at,
                    beneficiaries,
                    transaction_hash,
                    recall_requested,
                    amount,
                }
            },
        )
}

fn victim() -> impl Strategy<Value = pb::Victim> {
    (text(210), text(260), text(70), text(4), enum_number(), any::<bool>(), text(2_010), any::<bool>()).prop_map(
        |(name, email, phone, country, age_band, declared_vulnerable, vulnerability_note, consent)| pb::Victim {
            name,
            email,
            phone,
            country,
            age_band,
            declared_vulnerable,
            vulnerability_note,
            consent_to_share_with_police: consent,
        },
    )
}

fn report() -> impl Strategy<Value = pb::Report> {
    (
        enum_number(),
        timestamp(),
        timestamp(),
        prop::collection::vec(enum_number(), 0..limits::CONTACT_CHANNELS_MAX + 5),
        text(limits::NARRATIVE_MAX_CHARS + 100),
        prop::collection::vec(payment(), 0..8),
        prop::collection::vec(identifier(), 0..12),
        prop::option::of(victim()),
        any::<bool>(),
    )
        .prop_map(|(category, first, last, channels, narrative, payments, identifiers, victim, ongoing)| {
            pb::Report {
                category,
                first_contact_at: first,
                last_contact_at: last,
                contact_channels: channels,
                narrative,
                payments,
                identifiers,
                victim,
                contact_ongoing: ongoing,
            }
        })
}

#[test]
fn submit_report_never_panics_and_rejects_cleanly() {
    check((prop::option::of(report()), text(140)), |(report, id)| {
        let intake = Intake { normalizer: normalizer(), now: UnixMicros::now() };
        let request = pb::SubmitReportRequest { report, client_request_id: id };
        let size = request.encoded_len();
        let (bytes, outcome) = allocated_by(|| intake.report(&request).map_err(rejected));
        prop_assert!(bytes <= allowance(size), "{bytes} bytes for a request of {size}");
        match outcome {
            Err(status) => assert_clean_rejection(&status),
            Ok(r) => {
                prop_assert!(r.payments.len() <= limits::PAYMENTS_MAX);
                prop_assert!(r.identifiers.len() <= limits::IDENTIFIERS_MAX);
                prop_assert!(r.contact_channels.len() <= limits::CONTACT_CHANNELS_MAX);
                prop_assert!(r.narrative.chars().count() <= limits::NARRATIVE_MAX_CHARS);
                prop_assert!(r.first_contact_at.is_none_or(|t| t >= limits::EARLIEST_INSTANT));
            }
        }
        Ok(())
    });
}

#[test]
fn add_report_details_never_panics_and_rejects_cleanly() {
    let details = (
        prop::collection::vec(payment(), 0..6),
        prop::collection::vec(identifier(), 0..8),
        text(limits::NARRATIVE_MAX_CHARS + 100),
        text(140),
    );
    check(details, |(payments, identifiers, narrative, id)| {
        let intake = Intake { normalizer: normalizer(), now: UnixMicros::now() };
        let request = pb::AddReportDetailsRequest {
            reference: "ST-7K3M-9QXD".into(),
            secret: "x".into(),
            client_request_id: id,
            narrative,
            payments,
            identifiers,
        };
        let size = request.encoded_len();
        let (bytes, outcome) = allocated_by(|| intake.details(&request, None, "added now").map_err(rejected));
        prop_assert!(bytes <= allowance(size), "{bytes} bytes for a request of {size}");
        if let Err(status) = outcome {
            assert_clean_rejection(&status);
        }
        Ok(())
    });
}

#[test]
fn lookups_never_panic_and_reject_cleanly() {
    check((prop::collection::vec(identifier(), 0..40), text(5)), |(values, country)| {
        let size = values.iter().map(Message::encoded_len).sum::<usize>();
        let (bytes, outcome) = allocated_by(|| {
            let mut v = Violations::default();
            let country = lookup::country(&mut v, "country", &country);
            let hints = lookup::hints(&mut v, &values, country, lookup::LOOKUP_BATCH_MAX);
            v.finish(()).map_err(rejected)?;
            let outcomes: Vec<bool> = values
                .iter()
                .zip(&hints)
                .map(|(value, hint)| normalizer().normalize(&value.value, hint).is_ok())
                .collect();
            Ok::<_, tonic::Status>(outcomes.len())
        });
        prop_assert!(bytes <= allowance(size), "{bytes} bytes for a request of {size}");
        match outcome {
            Err(status) => assert_clean_rejection(&status),
            Ok(answered) => prop_assert_eq!(answered, values.len()),
        }
        Ok(())
    });
}

#[test]
fn cluster_updates_never_panic_and_reject_cleanly() {
    let update = (
        (any::<i64>(), any::<i64>(), enum_number(), enum_number()),
        (text(210), text(210), text(cluster_wire::NOTE_MAX_CHARS + 100), any::<bool>()),
        (prop::collection::vec(text(80), 0..40), prop::collection::vec(text(80), 0..40)),
    );
    check(
        update,
        |(
            (cluster_id, version, status, disposition),
            (assignee, referred_to, note, supervisor),
            (add_tags, remove_tags),
        )| {
            let request = pb::UpdateClusterRequest {
                cluster_id,
                version,
                status,
                disposition,
                assignee,
                referred_to,
                note,
                add_tags,
                remove_tags,
            };
            let size = request.encoded_len();
            let (bytes, outcome) = allocated_by(|| {
                cluster_wire::cluster_update(&request, supervisor, &Default::default()).map_err(rejected)
            });
            prop_assert!(bytes <= allowance(size), "{bytes} bytes for a request of {size}");
            match outcome {
                Err(status) => assert_clean_rejection(&status),
                Ok(update) => prop_assert!(update.cluster_id > 0 && update.version > 0),
            }
            Ok(())
        },
    );
}

/// The largest request the server takes, filled with bad values: the answer stays small.
fn flood_of_channels() -> pb::SubmitReportRequest {
    // Each value 999 takes two bytes packed, so a 1 MiB message holds about half a million.
    let mut report = pb::Report { narrative: "x".into(), ..Default::default() };
    report.contact_channels = vec![999; (limits::MESSAGE_MAX_BYTES - 64) / 2];
    pb::SubmitReportRequest { report: Some(report), client_request_id: String::new() }
}

#[test]
fn a_million_bad_values_get_a_small_answer() {
    let _alone = alone();
    let intake = Intake { normalizer: normalizer(), now: UnixMicros::now() };
    let request = flood_of_channels();
    assert!(request.encoded_len() <= limits::MESSAGE_MAX_BYTES, "{}", request.encoded_len());
    let (bytes, outcome) = allocated_by(|| intake.report(&request).map_err(rejected));
    let status = outcome.unwrap_err();
    assert_clean_rejection(&status);
    let bad = status.get_details_bad_request().unwrap();
    assert_eq!(bad.field_violations.len(), 1, "{:?}", bad.field_violations);
    assert_eq!(bad.field_violations[0].field, "report.contact_channels");
    assert_eq!(bad.field_violations[0].reason, "TOO_MANY");
    assert!(bytes < 64 * 1024, "{bytes} bytes to refuse a flood");

    // Under the count limit but every entry bad, many payments each with a bad field: the
    // violations listed stop at the bound and the message says how many more there were.
    let mut report = pb::Report { narrative: "x".into(), ..Default::default() };
    report.payments = (0..limits::PAYMENTS_MAX)
        .map(|_| pb::Payment {
            amount_minor: -1,
            currency: "??".into(),
            method: 99,
            beneficiaries: vec![pb::ScammerIdentifier { value: String::new(), role: 99, kind_hint: 99 }; 10],
            ..Default::default()
        })
        .collect();
    let violations =
        intake.report(&pb::SubmitReportRequest { report: Some(report), client_request_id: String::new() }).unwrap_err();
    let found = violations.listed().len() + violations.unlisted();
    assert_eq!(violations.listed().len(), LISTED_MAX);
    let status = rejected(violations);
    assert_clean_rejection(&status);
    let listed = status.get_details_bad_request().unwrap().field_violations.len();
    assert!(listed > 20 && listed <= LISTED_MAX, "{listed}");
    let more = format!("(and {} more bad fields not listed)", found - listed);
    assert!(status.message().ends_with(&more), "{}", status.message());
}

#[test]
fn sizes_are_checked_before_anything_is_read() {
    let _alone = alone();
    // A narrative over its limit, full of identifiers, with a bad currency beside it: the answer
    // names the size alone, because nothing else of an oversized request is read.
    let intake = Intake { normalizer: normalizer(), now: UnixMicros::now() };
    let narrative = "Paid DE89 3704 0044 0532 0130 00 and called +44 20 7946 0958. ".repeat(400);
    assert!(narrative.chars().count() > limits::NARRATIVE_MAX_CHARS);
    let report = pb::Report {
        category: 1,
        narrative,
        payments: vec![pb::Payment { amount_minor: 5, currency: "EURO".into(), ..Default::default() }],
        ..Default::default()
    };
    let status = intake
        .report(&pb::SubmitReportRequest { report: Some(report), client_request_id: String::new() })
        .map_err(rejected)
        .unwrap_err();
    let fields: Vec<_> =
        status.get_details_bad_request().unwrap().field_violations.into_iter().map(|v| (v.field, v.reason)).collect();
    assert_eq!(fields, vec![("report.narrative".to_owned(), "TOO_LONG".to_owned())]);

    // The same for one identifier value too long among a hundred, and for lookups.
    let mut values =
        vec![pb::ScammerIdentifier { value: "DE89 3704 0044 0532 0130 00".into(), ..Default::default() }; 99];
    values.push(pb::ScammerIdentifier {
        value: "9".repeat(limits::IDENTIFIER_VALUE_MAX_CHARS + 1),
        ..Default::default()
    });
    let mut v = Violations::default();
    lookup::hints(&mut v, &values, None, lookup::LOOKUP_BATCH_MAX);
    let reasons: Vec<_> = v.listed().iter().map(|x| (x.field.as_str(), x.reason)).collect();
    assert_eq!(reasons, vec![("values[99].value", "TOO_LONG")]);
}

#[test]
fn instants_before_1970_are_refused() {
    let _alone = alone();
    let intake = Intake { normalizer: normalizer(), now: UnixMicros::now() };
    // Year -283229, as a hostile client sent it; then one second before the epoch.
    for seconds in [-8_999_999_999_999, -1] {
        let report = pb::Report {
            category: 1,
            narrative: "A caller said he was from my bank.".into(),
            first_contact_at: Some(Timestamp { seconds, nanos: 0 }),
            payments: vec![pb::Payment {
                amount_minor: 500,
                currency: "EUR".into(),
                paid_at: Some(Timestamp { seconds, nanos: 0 }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let status = intake
            .report(&pb::SubmitReportRequest { report: Some(report), client_request_id: String::new() })
            .map_err(rejected)
            .unwrap_err();
        let fields: Vec<_> = status
            .get_details_bad_request()
            .unwrap()
            .field_violations
            .into_iter()
            .map(|v| (v.field, v.reason))
            .collect();
        assert!(fields.contains(&("report.first_contact_at".to_owned(), "TOO_EARLY".to_owned())), "{fields:?}");
        assert!(fields.contains(&("report.payments[0].paid_at".to_owned(), "TOO_EARLY".to_owned())), "{fields:?}");
    }
}
