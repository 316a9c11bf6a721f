//! The wire form of investigators' searches, manual links and note threads: requests in
//! (validated, every bad field named), pages out.

use prost_types::Timestamp;
use scamtrail_core::{Country, UnixMicros, is_known_currency, limits, parse_amount};
use scamtrail_proto::v1 as pb;
use scamtrail_store::{ClusterNote, ClusterSearch, PageToken, ReportHit, ReportSearch, SearchCursor, SearchOrder};

use crate::cluster_wire::{self as cw, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};
use crate::violations::Violations;
use crate::wire::{category_in, channel_in, method_in, read_enum, timestamp};

/// The longest identifier key or key prefix a search takes.
pub const KEY_MAX_CHARS: usize = 512;
/// Values one list filter takes at most.
const LIST_MAX: usize = 32;
/// Countries one filter takes at most.
const COUNTRIES_MAX: usize = 300;

/// A page of a search: its size and where it starts.
pub struct Page<C> {
    /// Rows per page.
    pub size: u64,
    /// After this row; `None` for the first page.
    pub after: Option<C>,
}

/// Reads a page size (0 means the default).
fn page_size(v: &mut Violations, value: i32) -> u64 {
    match value {
        0 => PAGE_SIZE_DEFAULT,
        n if (1..=PAGE_SIZE_MAX).contains(&n) => n as u64,
        _ => {
            v.add("page_size", "OUT_OF_RANGE", format!("between 1 and {PAGE_SIZE_MAX}"));
            PAGE_SIZE_DEFAULT
        }
    }
}

/// Reads a page token with `decode`, naming it when this server did not hand it out.
fn page_token<C>(v: &mut Violations, text: &str, decode: impl FnOnce(&str) -> Option<C>) -> Option<C> {
    match text.trim() {
        "" => None,
        t => {
            let token = decode(t);
            if token.is_none() {
                v.add("page_token", "INVALID_PAGE_TOKEN", "not a token this server handed out for this search");
            }
            token
        }
    }
}

/// Reads an optional instant.
fn instant(v: &mut Violations, field: &str, ts: Option<&Timestamp>) -> Option<UnixMicros> {
    let ts = ts?;
    let t = UnixMicros::from_seconds_nanos(ts.seconds, ts.nanos);
    if t.is_none() {
        v.add(field, "INVALID_TIMESTAMP", "not a valid instant");
    }
    t
}

/// Reads a time range, naming its end when it is not after its start.
fn range(
    v: &mut Violations,
    (from_field, from): (&str, Option<&Timestamp>),
    (until_field, until): (&str, Option<&Timestamp>),
) -> (Option<UnixMicros>, Option<UnixMicros>) {
    let from = instant(v, from_field, from);
    let until = instant(v, until_field, until);
    if let (Some(f), Some(u)) = (from, until)
        && u <= f
    {
        v.add(until_field, "BEFORE_START", format!("must be after {from_field}"));
    }
    (from, until)
}

/// Reads a list of enum values, naming each unknown or UNSPECIFIED one.
fn enums<T>(
    v: &mut Violations,
    field: &str,
    values: &[i32],
    read: fn(i32) -> Result<Option<T>, crate::wire::UndefinedValue>,
) -> Vec<T> {
    v.max_items(field, values.len(), LIST_MAX);
    let mut out = Vec::new();
    for (i, &value) in values.iter().enumerate().take(LIST_MAX) {
        let name = format!("{field}[{i}]");
        match read_enum(v, &name, value, read) {
            Some(t) => out.push(t),
            None if value == 0 => v.add(name, "UNKNOWN_VALUE", "UNSPECIFIED is not a value to search for"),
            None => {}
        }
    }
    out
}

/// Reads country codes.
fn countries(v: &mut Violations, field: &str, values: &[String]) -> Vec<String> {
    v.max_items(field, values.len(), COUNTRIES_MAX);
    let mut out = Vec::new();
    for (i, c) in values.iter().enumerate().take(COUNTRIES_MAX) {
        match Country::parse(c.trim()) {
            Some(country) => out.push(country.as_str().to_owned()),
            None => {
                v.add(format!("{field}[{i}]"), "COUNTRY_UNKNOWN", "not an ISO 3166-1 alpha-2 country code, e.g. GB")
            }
        }
    }
    out
}

/// Reads an optional decimal amount in `currency` into minor units.
fn amount(v: &mut Violations, field: &str, text: &str, currency: &str) -> Option<i128> {
    let text = text.trim();
    if text.is_empty() || currency.is_empty() {
        return None;
    }
    match parse_amount(text, currency, limits::payment_amount_max(currency)) {
        Ok(minor) => Some(minor),
        Err(e) => {
            v.add(field, e.code(), e.to_string());
            None
        }
    }
}

/// Reads an optional key (or prefix) as the API returns keys.
fn key(v: &mut Violations, field: &str, text: &str) -> Option<String> {
    let text = text.trim();
    v.max_chars(field, text, KEY_MAX_CHARS);
    (!text.is_empty()).then(|| text.to_owned())
}

fn order_in(value: i32) -> Result<Option<SearchOrder>, crate::wire::UndefinedValue> {
    match pb::SearchOrder::try_from(value) {
        Ok(pb::SearchOrder::Unspecified | pb::SearchOrder::NewestFirst) => Ok(Some(SearchOrder::NewestFirst)),
        Ok(pb::SearchOrder::OldestFirst) => Ok(Some(SearchOrder::OldestFirst)),
        Ok(pb::SearchOrder::LargestAmountFirst) => Ok(Some(SearchOrder::LargestAmountFirst)),
        Err(_) => Err(crate::wire::UndefinedValue(value)),
    }
}

/// Validates `SearchReports` into the search and page it asks for, or names every bad field.
pub fn report_search(req: &pb::SearchReportsRequest) -> Result<(ReportSearch, Page<SearchCursor>), Violations> {
    let mut v = Violations::default();
    let (received_from, received_until) =
        range(&mut v, ("received_from", req.received_from.as_ref()), ("received_until", req.received_until.as_ref()));
    let (paid_from, paid_until) =
        range(&mut v, ("paid_from", req.paid_from.as_ref()), ("paid_until", req.paid_until.as_ref()));
    v.max_chars("currency", &req.currency, limits::CODE_MAX_CHARS);
    let currency = req.currency.trim().to_ascii_uppercase();
    if !currency.is_empty() && !is_known_currency(&currency) {
        v.add("currency", "CURRENCY_UNKNOWN", "not an ISO 4217 currency code or a known crypto ticker");
    }
    let order = read_enum(&mut v, "order", req.order, order_in).unwrap_or_default();
    let amounts_given = !req.min_amount.trim().is_empty() || !req.max_amount.trim().is_empty();
    if currency.is_empty() && (amounts_given || order == SearchOrder::LargestAmountFirst) {
        v.add("currency", "REQUIRED", "amounts are searched and sorted in one currency: name it");
    }
    let min_minor = amount(&mut v, "min_amount", &req.min_amount, &currency);
    let max_minor = amount(&mut v, "max_amount", &req.max_amount, &currency);
    if let (Some(min), Some(max)) = (min_minor, max_minor)
        && max < min
    {
        v.add("max_amount", "BELOW_MINIMUM", "must not be less than min_amount");
    }
    let search = ReportSearch {
        received_from,
        received_until,
        paid_from,
        paid_until,
        categories: enums(&mut v, "categories", &req.categories, category_in),
        countries: countries(&mut v, "victim_countries", &req.victim_countries),
        methods: enums(&mut v, "payment_methods", &req.payment_methods, method_in),
        currency: (!currency.is_empty()).then_some(currency),
        min_minor,
        max_minor,
        cluster_statuses: enums(&mut v, "cluster_statuses", &req.cluster_statuses, cw::status_in),
        key_prefix: key(&mut v, "identifier_key_prefix", &req.identifier_key_prefix),
        channels: enums(&mut v, "contact_channels", &req.contact_channels, channel_in),
        contact_ongoing: req.contact_ongoing,
        order,
    };
    let size = page_size(&mut v, req.page_size);
    let after = page_token(&mut v, &req.page_token, |t| SearchCursor::decode(t, order));
    v.finish((search, Page { size, after }))
}

/// Validates `SearchClusters` (totals in `reference`, the reference currency) into the search
/// and page it asks for, or names every bad field.
pub fn cluster_search(
    req: &pb::SearchClustersRequest,
    reference: &str,
) -> Result<(ClusterSearch, Page<PageToken>), Violations> {
    let mut v = Violations::default();
    let statuses = enums(&mut v, "statuses", &req.statuses, cw::status_in);
    let queue = if req.queue == 0 { None } else { cw::queue(&mut v, "queue", req.queue) };
    let filter = cw::filter(&mut v, "filter", req.filter.as_ref());
    let total = |v: &mut Violations, field: &str, text: &str| {
        amount(v, field, text, reference).map(|m| i64::try_from(m).unwrap_or(i64::MAX))
    };
    let min_total_loss_minor = total(&mut v, "min_total_loss", &req.min_total_loss);
    let max_total_loss_minor = total(&mut v, "max_total_loss", &req.max_total_loss);
    for (field, n) in [("min_reports", req.min_reports), ("max_reports", req.max_reports)] {
        if n < 0 {
            v.add(field, "OUT_OF_RANGE", "a count is not negative");
        }
    }
    let text = |v: &mut Violations, field: &str, value: &str| {
        let t = cw::text(v, field, value, cw::SHORT_TEXT_MAX_CHARS);
        (!t.is_empty()).then_some(t)
    };
    let search = ClusterSearch {
        statuses,
        assignee: text(&mut v, "assignee", &req.assignee),
        queue,
        filter,
        min_total_loss_minor,
        max_total_loss_minor,
        min_reports: (req.min_reports > 0).then_some(req.min_reports),
        max_reports: (req.max_reports > 0).then_some(req.max_reports),
        referred_to: text(&mut v, "referred_to", &req.referred_to),
        identifier_key: key(&mut v, "identifier_key", &req.identifier_key),
    };
    let size = page_size(&mut v, req.page_size);
    let after = page_token(&mut v, &req.page_token, PageToken::decode);
    v.finish((search, Page { size, after }))
}

/// A report found, for the wire.
pub fn hit_out(hit: &ReportHit) -> pb::ReportSummary {
    pb::ReportSummary {
        report: Some(cw::report_out(&hit.report)),
        cluster_id: hit.cluster_id.unwrap_or_default(),
        victim_country: hit.victim_country.clone().unwrap_or_default(),
    }
}

/// Reads a manual link's reason: required, at most `REASON_MAX_CHARS`, card numbers masked.
pub fn reason(v: &mut Violations, value: &str) -> String {
    let reason = cw::free_text(v, "reason", value, cw::REASON_MAX_CHARS);
    if reason.is_empty() {
        v.add("reason", "REQUIRED", "say what outside evidence links them, or why it no longer does");
    }
    reason
}

/// Reads the page of a notes thread: its size and the note it starts after.
pub fn notes_page(v: &mut Violations, size: i32, token: &str) -> Page<i64> {
    let size = page_size(v, size);
    let after = page_token(v, token, |t| t.parse::<i64>().ok().filter(|&n| n > 0));
    Page { size, after }
}

/// A note for the wire.
pub fn note_out(n: &ClusterNote) -> pb::ClusterNote {
    pb::ClusterNote {
        note_id: n.id,
        cluster_id: n.cluster_id,
        at: Some(timestamp(n.at)),
        author: n.author.clone(),
        text: n.text.clone(),
    }
}
