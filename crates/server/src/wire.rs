//! The mapping between the wire (generated proto types) and the domain (`scamtrail-core`), in
//! both directions. Going in, it validates: every bad field is collected, none is silently dropped.

use prost_types::Timestamp;
use scamtrail_core::AMOUNT_TEXT_MAX_CHARS;
use scamtrail_core::{
    AgeBand, Category, ContactChannel, Country, IdentifierRole, KindHint, NewPayment, NewReport, NormalizedIdentifier,
    ReportedIdentifier, StoredReport, UnixMicros, Unverified, Victim, amount_text, format_amount, is_known_currency,
    limits, parse_amount,
};
use scamtrail_normalize::{Hint, Identifier, Ignored, IgnoredPart, Normalizer, ReadValue, Reading, mask_card_numbers};
use scamtrail_proto::v1 as pb;
use scamtrail_store::NewDetails;

use crate::violations::Violations;

/// A number a proto enum does not define (clients compiled against a newer API, or bad input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UndefinedValue(pub i32);

/// Declares the correspondence between a proto enum and a domain enum, both ways.
/// The proto's UNSPECIFIED maps to `None`; a number the proto does not define is an error.
macro_rules! enum_map {
    ($to_core:ident, $to_wire:ident, $wire:ty, $core:ty { $($w:ident => $c:ident),+ $(,)? }) => {
        /// Wire number to domain value: `Ok(None)` for UNSPECIFIED, `Err` for an unknown number.
        pub fn $to_core(value: i32) -> Result<Option<$core>, $crate::wire::UndefinedValue> {
            match <$wire>::try_from(value) {
                Ok(<$wire>::Unspecified) => Ok(None),
                $(Ok(<$wire>::$w) => Ok(Some(<$core>::$c)),)+
                Err(_) => Err($crate::wire::UndefinedValue(value)),
            }
        }

        /// Domain value to wire number.
        pub fn $to_wire(value: Option<$core>) -> i32 {
            match value {
                None => <$wire>::Unspecified as i32,
                $(Some(<$core>::$c) => <$wire>::$w as i32,)+
            }
        }
    };
}

pub(crate) use enum_map;

enum_map!(category_in, category_out, pb::ScamCategory, Category {
    Investment => Investment, CryptoInvestment => CryptoInvestment, TechSupport => TechSupport, Refund => Refund,
    Romance => Romance, Shopping => Shopping, AdvanceFee => AdvanceFee, Impersonation => Impersonation,
    Recovery => Recovery, Task => Task, Sextortion => Sextortion, Other => Other,
});
enum_map!(channel_in, channel_out, pb::ContactChannel, ContactChannel {
    PhoneCall => PhoneCall, Sms => Sms, Whatsapp => WhatsApp, Telegram => Telegram,
    SocialMediaAd => SocialMediaAd, Website => Website, Email => Email, Popup => Popup,
});
enum_map!(method_in, method_out, pb::PaymentMethod, scamtrail_core::PaymentMethod {
    BankTransfer => BankTransfer, InstantTransfer => InstantTransfer, Card => Card, Crypto => Crypto,
    GiftCard => GiftCard, MoneyTransferService => MoneyTransferService, Cash => Cash,
});
enum_map!(role_in, role_out, pb::IdentifierRole, IdentifierRole {
    BeneficiaryAccount => BeneficiaryAccount, CallerNumber => CallerNumber, Website => Website, Wallet => Wallet,
    Email => Email, MessagingHandle => MessagingHandle, Other => Other,
});
enum_map!(kind_in, kind_out, pb::IdentifierKind, KindHint {
    Iban => Iban, Bic => Bic, BankAccount => BankAccount, Card => Card, Phone => Phone, Email => Email,
    Website => Website, CryptoWallet => CryptoWallet, CryptoTransaction => CryptoTransaction,
    Telegram => Telegram, Whatsapp => WhatsApp, Instagram => Instagram, Tiktok => TikTok,
    Facebook => Facebook, X => X,
});
enum_map!(age_in, age_out, pb::AgeBand, AgeBand {
    Under18 => Under18, AgeBand18To29 => From18To29, AgeBand30To49 => From30To49,
    AgeBand50To69 => From50To69, AgeBand70Plus => From70,
});

/// Reads an enum field, recording `UNKNOWN_VALUE` for a number the API does not define.
pub(crate) fn read_enum<T>(
    v: &mut Violations,
    field: &str,
    value: i32,
    map: fn(i32) -> Result<Option<T>, UndefinedValue>,
) -> Option<T> {
    map(value).unwrap_or_else(|UndefinedValue(value)| {
        v.add(field, "UNKNOWN_VALUE", format!("{value} is not a defined value"));
        None
    })
}

/// Reads a timestamp that must be a valid instant, not before [`limits::EARLIEST_INSTANT`] and not
/// in the future.
fn read_past_instant(v: &mut Violations, field: &str, ts: Option<&Timestamp>, now: UnixMicros) -> Option<UnixMicros> {
    let ts = ts?;
    match UnixMicros::from_seconds_nanos(ts.seconds, ts.nanos) {
        None => {
            v.add(field, "INVALID_TIMESTAMP", "not a valid instant");
            None
        }
        Some(t) if t < limits::EARLIEST_INSTANT => {
            v.add(field, "TOO_EARLY", "must not be before 1970-01-01T00:00:00Z");
            None
        }
        Some(t) if t > now.plus_seconds(limits::CLOCK_SKEW_SECONDS) => {
            v.add(field, "IN_FUTURE", "must not be in the future");
            None
        }
        Some(t) => Some(t),
    }
}

/// Everything `SubmitReport` needs to turn a request into a report.
pub struct Intake<'a> {
    /// Normalises identifiers.
    pub normalizer: &'a Normalizer,
    /// The present, for "not in the future".
    pub now: UnixMicros,
}

impl Intake<'_> {
    /// Validates a request and builds the report, normalising every identifier; or names every bad
    /// field. A request over any size limit is refused on its sizes alone, before anything in it
    /// is parsed, normalised or searched.
    pub fn report(&self, req: &pb::SubmitReportRequest) -> Result<NewReport, Violations> {
        self.report_with_outcomes(req).map(|(report, _)| report)
    }

    /// [`Intake::report`], with what normalisation made of each identifier field for the answer:
    /// payment beneficiaries in order, then the report's identifiers, as in the request.
    pub fn report_with_outcomes(
        &self,
        req: &pb::SubmitReportRequest,
    ) -> Result<(NewReport, Vec<pb::IdentifierOutcome>), Violations> {
        report_sizes(req).finish(())?;
        let mut v = Violations::default();
        let client_request_id = self.client_request_id(&mut v, &req.client_request_id);
        let Some(r) = req.report.as_ref() else {
            v.required("report");
            return Err(v);
        };
        let category = read_enum(&mut v, "report.category", r.category, category_in);
        if category.is_none() && r.category == 0 {
            v.required("report.category");
        }
        let first = read_past_instant(&mut v, "report.first_contact_at", r.first_contact_at.as_ref(), self.now);
        let last = read_past_instant(&mut v, "report.last_contact_at", r.last_contact_at.as_ref(), self.now);
        if let (Some(f), Some(l)) = (first, last)
            && l < f
        {
            v.add("report.last_contact_at", "BEFORE_FIRST_CONTACT", "last contact must not be before first contact");
        }
        let mut contact_channels = Vec::new();
        for (i, &c) in r.contact_channels.iter().take(limits::CONTACT_CHANNELS_MAX).enumerate() {
            let field = format!("report.contact_channels[{i}]");
            match read_enum(&mut v, &field, c, channel_in) {
                Some(c) if !contact_channels.contains(&c) => contact_channels.push(c),
                Some(_) => {}
                None if c == 0 => v.add(field, "UNKNOWN_VALUE", "UNSPECIFIED is not a contact channel"),
                None => {}
            }
        }
        if r.narrative.trim().is_empty() {
            v.required("report.narrative");
        }

        let victim = r.victim.as_ref().map(|p| self.victim(&mut v, p));
        let hint_country = victim.as_ref().and_then(|v| v.country);

        let (payments, identifiers, outcomes) =
            self.trail(&mut v, "report.", &r.payments, &r.identifiers, hint_country);
        // Suggestions are read from the words as typed: a card number in them keeps its key.
        let suggested = self.suggestions(&r.narrative, hint_country);
        let report = v.finish(()).map(|()| NewReport {
            category: category.unwrap_or(Category::Other),
            first_contact_at: first,
            last_contact_at: last,
            contact_channels,
            narrative: mask_card_numbers(&r.narrative).into_owned(),
            payments,
            identifiers,
            suggested,
            victim,
            contact_ongoing: r.contact_ongoing,
            client_request_id,
            follow_up_hash: None,
        })?;
        Ok((report, outcomes))
    }

    /// Identifiers found in free text, as suggestions.
    fn suggestions(&self, text: &str, country: Option<Country>) -> Vec<ReportedIdentifier> {
        self.normalizer
            .extract(text, country)
            .into_iter()
            .map(|found| {
                let raw = text
                    .get(found.start..found.end)
                    .map(str::to_owned)
                    .unwrap_or_else(|| found.identifier.display.clone());
                ReportedIdentifier::new(&raw, None, None, &Ok(found.identifier))
            })
            .collect()
    }

    /// Validates the details of `AddReportDetails` (not its reference and secret), reading
    /// national values in the victim's `country`; `dated` heads the added words.
    pub fn details(
        &self,
        req: &pb::AddReportDetailsRequest,
        country: Option<Country>,
        dated: &str,
    ) -> Result<(NewDetails, Vec<pb::IdentifierOutcome>), Violations> {
        details_sizes(req).finish(())?;
        let mut v = Violations::default();
        let client_request_id = self.client_request_id(&mut v, &req.client_request_id);
        let (payments, identifiers, outcomes) = self.trail(&mut v, "", &req.payments, &req.identifiers, country);
        let words = req.narrative.trim();
        if payments.is_empty() && identifiers.is_empty() && words.is_empty() {
            v.add("narrative", "NOTHING_TO_ADD", "give payments, identifiers or more words");
        }
        let details = v.finish(()).map(|()| NewDetails {
            payments,
            identifiers,
            suggested: self.suggestions(words, country),
            narrative: if words.is_empty() {
                String::new()
            } else {
                format!("\n\n[{dated}]\n{}", mask_card_numbers(words))
            },
            client_request_id,
        })?;
        Ok((details, outcomes))
    }

    /// Payments and identifiers (fields named after `prefix`), already within their limits, and
    /// each identifier field's outcome for the answer (beneficiaries first, in request order).
    fn trail(
        &self,
        v: &mut Violations,
        prefix: &str,
        payments: &[pb::Payment],
        identifiers: &[pb::ScammerIdentifier],
        country: Option<Country>,
    ) -> (Vec<NewPayment>, Vec<ReportedIdentifier>, Vec<pb::IdentifierOutcome>) {
        let mut outcomes = Vec::new();
        let payments = payments
            .iter()
            .take(limits::PAYMENTS_MAX)
            .enumerate()
            .map(|(i, p)| self.payment(v, &format!("{prefix}payments[{i}]"), p, country, &mut outcomes))
            .collect();
        let fields = identifiers
            .iter()
            .take(limits::IDENTIFIERS_MAX)
            .enumerate()
            .map(|(i, id)| self.identifier(v, &format!("{prefix}identifiers[{i}]"), id, country))
            .collect();
        let identifiers = ReadField::store(fields, limits::IDENTIFIERS_MAX, &mut outcomes);
        (payments, identifiers, outcomes)
    }

    /// A client request id, trimmed; `None` when empty. Stored scoped to its caller
    /// ([`scoped_request_id`]).
    fn client_request_id(&self, v: &mut Violations, typed: &str) -> Option<String> {
        let id = typed.trim();
        if !id.chars().all(|c| c.is_ascii_graphic()) {
            v.add("client_request_id", "INVALID_CHARACTERS", "only printable ASCII characters without spaces");
        }
        (!id.is_empty()).then(|| id.to_owned())
    }

    fn victim(&self, v: &mut Violations, p: &pb::Victim) -> Victim {
        let country = if p.country.trim().is_empty() {
            None
        } else {
            let parsed = Country::parse(&p.country);
            if parsed.is_none() {
                v.add("report.victim.country", "COUNTRY_UNKNOWN", "not an ISO 3166-1 alpha-2 country code, e.g. GB");
            }
            parsed
        };
        // The victim's own contact details are kept as typed: a long phone number passing the
        // Luhn check must still reach the victim, and the e-mail address identifies them.
        Victim {
            name: mask_card_numbers(p.name.trim()).into_owned(),
            email: p.email.trim().to_owned(),
            phone: p.phone.trim().to_owned(),
            country,
            age_band: read_enum(v, "report.victim.age_band", p.age_band, age_in),
            declared_vulnerable: p.declared_vulnerable,
            vulnerability_note: mask_card_numbers(&p.vulnerability_note).into_owned(),
            consent_to_share_with_police: p.consent_to_share_with_police,
        }
    }

    fn payment(
        &self,
        v: &mut Violations,
        field: &str,
        p: &pb::Payment,
        country: Option<Country>,
        outcomes: &mut Vec<pb::IdentifierOutcome>,
    ) -> NewPayment {
        let currency = p.currency.trim().to_ascii_uppercase();
        let amount_minor = payment_amount(v, field, p, &currency);
        if currency.is_empty() {
            v.required(format!("{field}.currency"));
        } else if !is_known_currency(&currency) {
            v.add(
                format!("{field}.currency"),
                "CURRENCY_UNKNOWN",
                "not an ISO 4217 currency code or a known crypto ticker",
            );
        }
        let fields = p
            .beneficiaries
            .iter()
            .take(limits::BENEFICIARIES_MAX)
            .enumerate()
            .map(|(i, b)| self.identifier(v, &format!("{field}.beneficiaries[{i}]"), b, country))
            .collect();
        let beneficiaries = ReadField::store(fields, limits::BENEFICIARIES_MAX, outcomes);
        NewPayment {
            amount_minor,
            currency,
            method: read_enum(v, &format!("{field}.method"), p.method, method_in),
            paid_at: read_past_instant(v, &format!("{field}.paid_at"), p.paid_at.as_ref(), self.now),
            beneficiaries,
            transaction_hash: p.transaction_hash.trim().to_owned(),
            recall_requested: p.recall_requested,
        }
    }

    /// Checks the shape of one identifier field and reads it: its own identifier and any others
    /// it holds. A value that does not normalise is not a violation: it is kept as unverified
    /// with its reason.
    fn identifier(
        &self,
        v: &mut Violations,
        field: &str,
        id: &pb::ScammerIdentifier,
        country: Option<Country>,
    ) -> ReadField {
        if id.value.trim().is_empty() {
            v.required(format!("{field}.value"));
        }
        let role = read_enum(v, &format!("{field}.role"), id.role, role_in);
        let kind_hint = read_enum(v, &format!("{field}.kind_hint"), id.kind_hint, kind_in);
        let reading = self.normalizer.read(&id.value, &Hint { kind: kind_hint, country });
        let own = ReportedIdentifier::new(&id.value, role, kind_hint, &reading.first.outcome);
        let others = reading
            .others
            .iter()
            .map(|other| {
                // The same role: a second number in the caller's field is a caller's number too.
                let reported = ReportedIdentifier::new(&other.text, role, kind_hint, &other.outcome);
                let outcome = read_value_out(&reported.raw, other, false, Vec::new());
                (reported, outcome)
            })
            .collect();
        let outcome = read_value_out(&own.raw, &reading.first, false, Vec::new());
        ReadField { own, outcome, others }
    }
}

/// One identifier field as read: its own identifier and the others it held, each with its
/// outcome for the answer.
struct ReadField {
    own: ReportedIdentifier,
    outcome: pb::IdentifierOutcome,
    others: Vec<(ReportedIdentifier, pb::IdentifierOutcome)>,
}

impl ReadField {
    /// The identifiers to store, each field's own followed by its others, while the list stays
    /// within `max` (every field's own always fits); records each field's outcome with the
    /// others that were kept.
    fn store(fields: Vec<ReadField>, max: usize, outcomes: &mut Vec<pb::IdentifierOutcome>) -> Vec<ReportedIdentifier> {
        let mut room = max.saturating_sub(fields.len());
        let mut stored = Vec::with_capacity(fields.len());
        for field in fields {
            let ReadField { own, mut outcome, others } = field;
            stored.push(own);
            for (reported, other) in others.into_iter().take(room) {
                room -= 1;
                stored.push(reported);
                outcome.others.push(other);
            }
            outcomes.push(outcome);
        }
        stored
    }
}

/// The size limits of `SubmitReport`: counts of every repeated field and lengths of every text,
/// checked before anything else is read (entries past a count limit are not looked at).
fn report_sizes(req: &pb::SubmitReportRequest) -> Violations {
    let mut v = Violations::default();
    v.max_chars("client_request_id", req.client_request_id.trim(), limits::CLIENT_REQUEST_ID_MAX_CHARS);
    let Some(r) = &req.report else { return v };
    v.max_items("report.contact_channels", r.contact_channels.len(), limits::CONTACT_CHANNELS_MAX);
    v.max_chars("report.narrative", &r.narrative, limits::NARRATIVE_MAX_CHARS);
    if let Some(p) = &r.victim {
        v.max_chars("report.victim.name", &p.name, limits::VICTIM_NAME_MAX_CHARS);
        v.max_chars("report.victim.email", &p.email, limits::VICTIM_EMAIL_MAX_CHARS);
        v.max_chars("report.victim.phone", &p.phone, limits::VICTIM_PHONE_MAX_CHARS);
        v.max_chars("report.victim.country", &p.country, limits::CODE_MAX_CHARS);
        v.max_chars("report.victim.vulnerability_note", &p.vulnerability_note, limits::VULNERABILITY_NOTE_MAX_CHARS);
    }
    trail_sizes(&mut v, "report.", &r.payments, &r.identifiers);
    v
}

/// The size limits of `AddReportDetails`, like [`report_sizes`].
pub fn details_sizes(req: &pb::AddReportDetailsRequest) -> Violations {
    let mut v = Violations::default();
    v.max_chars("client_request_id", req.client_request_id.trim(), limits::CLIENT_REQUEST_ID_MAX_CHARS);
    v.max_chars("narrative", req.narrative.trim(), limits::NARRATIVE_MAX_CHARS);
    trail_sizes(&mut v, "", &req.payments, &req.identifiers);
    v
}

/// The counts and lengths of payments and identifiers (fields named after `prefix`).
fn trail_sizes(v: &mut Violations, prefix: &str, payments: &[pb::Payment], identifiers: &[pb::ScammerIdentifier]) {
    v.max_items(format!("{prefix}payments"), payments.len(), limits::PAYMENTS_MAX);
    for (i, p) in payments.iter().take(limits::PAYMENTS_MAX).enumerate() {
        let field = format!("{prefix}payments[{i}]");
        v.max_chars(format!("{field}.currency"), &p.currency, limits::CODE_MAX_CHARS);
        v.max_chars(format!("{field}.transaction_hash"), &p.transaction_hash, limits::TRANSACTION_HASH_MAX_CHARS);
        v.max_chars(format!("{field}.amount"), &p.amount, AMOUNT_TEXT_MAX_CHARS);
        v.max_items(format!("{field}.beneficiaries"), p.beneficiaries.len(), limits::BENEFICIARIES_MAX);
        for (j, b) in p.beneficiaries.iter().take(limits::BENEFICIARIES_MAX).enumerate() {
            v.max_chars(format!("{field}.beneficiaries[{j}].value"), &b.value, limits::IDENTIFIER_VALUE_MAX_CHARS);
        }
    }
    v.max_items(format!("{prefix}identifiers"), identifiers.len(), limits::IDENTIFIERS_MAX);
    for (i, id) in identifiers.iter().take(limits::IDENTIFIERS_MAX).enumerate() {
        v.max_chars(format!("{prefix}identifiers[{i}].value"), &id.value, limits::IDENTIFIER_VALUE_MAX_CHARS);
    }
}

/// A timestamp for the wire.
pub fn timestamp(t: UnixMicros) -> Timestamp {
    let (seconds, nanos) = t.to_seconds_nanos();
    Timestamp { seconds, nanos }
}

/// Length of the caller scope in front of a stored client request id (16 hex digits and `/`).
const SCOPE_LEN: usize = 17;

/// A client request id as stored: prefixed with a digest of the caller, so that two frontends
/// choosing the same id (a counter, a form id) never answer with each other's reports.
pub fn scoped_request_id(actor: &str, id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(actor.as_bytes());
    format!("{}/{id}", &hex::encode(digest)[..SCOPE_LEN - 1])
}

/// A stored client request id as its client sent it.
pub fn unscoped_request_id(stored: &str) -> &str {
    let scoped = stored.len() > SCOPE_LEN
        && stored.as_bytes()[SCOPE_LEN - 1] == b'/'
        && stored.as_bytes()[..SCOPE_LEN - 1].iter().all(u8::is_ascii_hexdigit);
    if scoped { &stored[SCOPE_LEN..] } else { stored }
}

/// An instant as RFC 3339 UTC to the second (`2026-11-25T12:00:00Z`), for people to read.
pub fn date_time_text(t: UnixMicros) -> String {
    let (seconds, _) = t.to_seconds_nanos();
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string())
}

/// One identifier's outcome for the wire.
pub fn outcome_out(id: &ReportedIdentifier) -> pb::IdentifierOutcome {
    let result = match &id.outcome {
        Ok(n) => pb::identifier_outcome::Result::Normalized(normalized_out(n)),
        Err(u) => pb::identifier_outcome::Result::Unverified(unverified_out(u, Vec::new())),
    };
    pb::IdentifierOutcome { raw: id.raw.clone(), result: Some(result), ..Default::default() }
}

fn normalized_out(n: &NormalizedIdentifier) -> pb::NormalizedIdentifier {
    pb::NormalizedIdentifier {
        kind: n.kind.clone(),
        key: n.key.clone(),
        display: n.display.clone(),
        country: n.country.clone().unwrap_or_default(),
        bank_code: n.bank_code.clone().unwrap_or_default(),
        phone_type: n.phone_type.clone().unwrap_or_default(),
        chain: n.chain.clone().unwrap_or_default(),
        checksum_verified: n.checksum_verified,
        // Facts of how the value was written, not stored apart: a stored outcome has none.
        extension: String::new(),
        messaging_app: String::new(),
        iban_registry: iban_registry_of(&n.key),
    }
}

/// The `iban_registry` fact of a key: derived from the IBAN itself, so stored identifiers carry it too.
fn iban_registry_of(key: &str) -> String {
    key.strip_prefix("iban:").and_then(scamtrail_normalize::iban_registry).map(|r| r.to_string()).unwrap_or_default()
}

/// A normalised identifier for the wire, with the facts only normalisation knows.
fn identifier_facts_out(id: &Identifier) -> pb::NormalizedIdentifier {
    pb::NormalizedIdentifier {
        extension: id.facts.extension.clone().unwrap_or_default(),
        messaging_app: id.facts.messaging_app.unwrap_or_default().to_owned(),
        ..normalized_out(&NormalizedIdentifier::from(id))
    }
}

/// The wire kind of an ignored part.
fn ignored_out(ignored: &Ignored) -> pb::IgnoredPart {
    let kind = match ignored.part {
        IgnoredPart::Label => pb::IgnoredPartKind::Label,
        IgnoredPart::Note => pb::IgnoredPartKind::Note,
        IgnoredPart::Extension => pb::IgnoredPartKind::Extension,
    };
    // A note may hold a card number as well as anything else a victim typed.
    pb::IgnoredPart { kind: kind as i32, text: mask_card_numbers(&ignored.text).into_owned() }
}

/// One value read from a field for the wire: `raw` as it is shown (card numbers masked),
/// the candidates of an ambiguous value when `candidates`, and the field's other values.
fn read_value_out(
    raw: &str,
    value: &ReadValue,
    candidates: bool,
    others: Vec<pb::IdentifierOutcome>,
) -> pb::IdentifierOutcome {
    let result = match &value.outcome {
        Ok(id) => pb::identifier_outcome::Result::Normalized(identifier_facts_out(id)),
        Err(r) => pb::identifier_outcome::Result::Unverified(unverified_out(
            &Unverified::from(r),
            if candidates { r.candidates.iter().map(|k| k.as_str().to_owned()).collect() } else { Vec::new() },
        )),
    };
    pb::IdentifierOutcome {
        raw: raw.to_owned(),
        result: Some(result),
        ignored: value.ignored.iter().map(ignored_out).collect(),
        others,
    }
}

/// A field's reading for `NormalizeIdentifiers`: the field's identifier with the candidates of
/// an ambiguous value, what was ignored around it, and the other values the field held.
pub fn reading_out(raw: &str, reading: &Reading) -> pb::IdentifierOutcome {
    let others = reading.others.iter().map(|other| read_value_out(&other.text, other, true, Vec::new())).collect();
    read_value_out(raw, &reading.first, true, others)
}

fn unverified_out(u: &Unverified, candidates: Vec<String>) -> pb::IdentifierRejection {
    pb::IdentifierRejection { reason: u.reason.clone(), message: u.message.clone(), candidates }
}

/// A normalisation result for `NormalizeIdentifiers`, with the candidates of an ambiguous value.
pub fn preview_out(
    raw: &str,
    result: &Result<scamtrail_normalize::Identifier, scamtrail_normalize::Rejection>,
) -> pb::IdentifierOutcome {
    let result = match result {
        Ok(id) => pb::identifier_outcome::Result::Normalized(normalized_out(&NormalizedIdentifier::from(id))),
        Err(r) => pb::identifier_outcome::Result::Unverified(unverified_out(
            &Unverified::from(r),
            r.candidates.iter().map(|k| k.as_str().to_owned()).collect(),
        )),
    };
    pb::IdentifierOutcome { raw: raw.to_owned(), result: Some(result), ..Default::default() }
}

fn identifier_out(id: &ReportedIdentifier) -> pb::ScammerIdentifier {
    pb::ScammerIdentifier { value: id.raw.clone(), role: role_out(id.role), kind_hint: kind_out(id.kind_hint) }
}

/// A payment's exact amount in minor units: the decimal `amount` when given (with `amount_minor`
/// 0 or the same), else `amount_minor` as clients before `amount` send it; 0 after a violation.
fn payment_amount(v: &mut Violations, field: &str, p: &pb::Payment, currency: &str) -> i128 {
    if p.amount.is_empty() {
        let max = limits::payment_amount_max_minor(currency);
        if p.amount_minor <= 0 {
            v.add(format!("{field}.amount_minor"), "NOT_POSITIVE", "the amount must be greater than zero");
        } else if p.amount_minor > max {
            v.add(
                format!("{field}.amount_minor"),
                "TOO_LARGE",
                format!("at most {max} minor units ({})", format_amount(max, currency)),
            );
        }
        return i128::from(p.amount_minor);
    }
    match parse_amount(&p.amount, currency, limits::payment_amount_max(currency)) {
        Ok(minor) if p.amount_minor != 0 && i128::from(p.amount_minor) != minor => {
            v.add(
                format!("{field}.amount_minor"),
                "AMOUNT_MISMATCH",
                format!("must be 0 or {minor} minor units, the amount written in amount"),
            );
            0
        }
        Ok(minor) => minor,
        Err(e) => {
            v.add(format!("{field}.amount"), e.code(), e.to_string());
            0
        }
    }
}

/// A payment's amount for the wire: the exact decimal, and the minor units when they fit 64 bits.
fn amount_minor_out(minor: i128) -> i64 {
    i64::try_from(minor).unwrap_or(0)
}

/// A stored report for the wire.
pub fn stored_report_out(s: &StoredReport, cluster_id: Option<i64>) -> pb::StoredReport {
    let r = &s.report;
    let report = pb::Report {
        category: category_out(Some(r.category)),
        first_contact_at: r.first_contact_at.map(timestamp),
        last_contact_at: r.last_contact_at.map(timestamp),
        contact_channels: r.contact_channels.iter().map(|&c| channel_out(Some(c))).collect(),
        narrative: r.narrative.clone(),
        payments: r
            .payments
            .iter()
            .map(|p| pb::Payment {
                amount_minor: amount_minor_out(p.amount_minor),
                amount: amount_text(p.amount_minor, &p.currency),
                currency: p.currency.clone(),
                method: method_out(p.method),
                paid_at: p.paid_at.map(timestamp),
                beneficiaries: p.beneficiaries.iter().map(identifier_out).collect(),
                transaction_hash: p.transaction_hash.clone(),
                recall_requested: p.recall_requested,
            })
            .collect(),
        identifiers: r.identifiers.iter().map(identifier_out).collect(),
        victim: r.victim.as_ref().map(|v| pb::Victim {
            name: v.name.clone(),
            email: v.email.clone(),
            phone: v.phone.clone(),
            country: v.country.map(|c| c.as_str().to_owned()).unwrap_or_default(),
            age_band: age_out(v.age_band),
            declared_vulnerable: v.declared_vulnerable,
            vulnerability_note: v.vulnerability_note.clone(),
            consent_to_share_with_police: v.consent_to_share_with_police,
        }),
        contact_ongoing: r.contact_ongoing,
    };
    let stored = |id: &ReportedIdentifier, payment_index: Option<i32>, suggested: bool| pb::StoredIdentifier {
        outcome: Some(outcome_out(id)),
        role: role_out(id.role),
        kind_hint: kind_out(id.kind_hint),
        payment_index,
        suggested,
    };
    let mut identifiers = Vec::new();
    for (i, p) in r.payments.iter().enumerate() {
        identifiers.extend(p.beneficiaries.iter().map(|b| stored(b, Some(i as i32), false)));
    }
    identifiers.extend(r.identifiers.iter().map(|id| stored(id, None, false)));
    identifiers.extend(r.suggested.iter().map(|id| stored(id, None, true)));
    pb::StoredReport {
        report_id: s.id,
        reference: s.reference.to_string(),
        received_at: Some(timestamp(s.received_at)),
        client_request_id: r.client_request_id.as_deref().map(unscoped_request_id).unwrap_or_default().to_owned(),
        report: Some(report),
        identifiers,
        cluster_id: cluster_id.unwrap_or_default(),
    }
}
