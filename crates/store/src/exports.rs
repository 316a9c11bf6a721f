//! The read model of a cluster for export, and the indicator feed: what STIX, MISP, GraphML, CSV
//! and the referral package are written from, read a page at a time (keyset on ids, or on
//! `(last_seen, id)` for the feed), so that an export of any size holds one page in memory.
//!
//! The pages of reports carry no victim personal data or narrative; of `report_victims` only the
//! consent to share with the police is read, to leave out the reports of victims who did not give
//! it ([`ReportsShown`]). Only [`consenting_victims`] opens personal data, for the referral
//! package, and only for victims who consented to share their report with the police.

use scamtrail_core::{Category, IdentifierState, UnixMicros};

use scamtrail_core::PersonalField;

use crate::config::KeySource;
use crate::db::entity::identifier;
use crate::db::{IN_CHUNK, Reader, Value, placeholders};
use crate::error::StoreError;

/// A report as exports show it: when and how the scam happened, its payments and the scammers'
/// identifiers it carries; never the victim or the narrative.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    /// The report's id.
    pub id: i64,
    /// Its human reference.
    pub reference: String,
    /// When scamtrail received it.
    pub received_at: UnixMicros,
    /// The scam's category.
    pub category: String,
    /// First contact with the scammers.
    pub first_contact_at: Option<UnixMicros>,
    /// Last contact with the scammers.
    pub last_contact_at: Option<UnixMicros>,
    /// How they made contact, comma-separated.
    pub contact_channels: String,
    /// Whether contact was ongoing when reported.
    pub contact_ongoing: bool,
    /// Its payments, in the order reported.
    pub payments: Vec<ExportPayment>,
    /// The normalised identifiers the victim typed (no narrative finds, no cards), in the order
    /// reported.
    pub identifiers: Vec<ExportLink>,
    /// Whether its victim consented to share it with the police.
    pub consent_to_share_with_police: bool,
}

/// A victim who consented to share their report with the police, as a referral shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportVictim {
    /// The report.
    pub report_id: i64,
    /// The victim's name.
    pub name: String,
    /// Their e-mail address.
    pub email: String,
    /// Their phone number.
    pub phone: String,
    /// What happened, in their words, with the details added later.
    pub narrative: String,
}

/// One payment of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPayment {
    /// Its position in the report.
    pub position: i32,
    /// The amount in minor units.
    pub amount_minor: i128,
    /// ISO 4217 currency (or a crypto-asset's code).
    pub currency: String,
    /// How it was paid.
    pub method: Option<String>,
    /// When it was paid.
    pub paid_at: Option<UnixMicros>,
    /// A crypto transaction's hash, if given.
    pub transaction_hash: String,
    /// Whether the victim asked the bank to recall it.
    pub recall_requested: bool,
}

/// An identifier as one report carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLink {
    /// The canonical key.
    pub key: String,
    /// Its kind (the key's prefix).
    pub kind: String,
    /// The part it played.
    pub role: Option<String>,
    /// The payment it received, when it is a beneficiary.
    pub payment_position: Option<i32>,
}

/// An identifier with what is known of it across every report (no victim data).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportIdentifier {
    /// Its row id (the keyset of cluster pages).
    pub id: i64,
    /// The canonical key.
    pub key: String,
    /// Its kind (the key's prefix).
    pub kind: String,
    /// As people write it.
    pub display: String,
    /// Whether it links, or why not.
    pub state: IdentifierState,
    /// Reports carrying it.
    pub report_count: i64,
    /// The first report carrying it.
    pub first_seen: Option<UnixMicros>,
    /// The latest report carrying it.
    pub last_seen: Option<UnixMicros>,
    /// The cluster it links, when it links.
    pub cluster_id: Option<i64>,
    /// The categories of its reports.
    pub categories: Vec<Category>,
    /// Where it stands with the bridge rule: empty (no bridge), `held` (it joined groups that
    /// stand on their own evidence and no longer links), `marked` (such a bridge that still links)
    /// or `linked` (a supervisor decided it links).
    pub bridge: String,
}

/// Where the feed resumes: after this identifier, in `(last_seen, id)` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedCursor {
    /// The `last_seen` of the last identifier sent.
    pub last_seen: i64,
    /// Its id.
    pub id: i64,
}

/// What the feed selects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeedFilter {
    /// Only these kinds (key prefixes); every kind when empty.
    pub kinds: Vec<String>,
    /// Only identifiers carried by at least this many reports.
    pub min_reports: i64,
}

/// Kinds no export carries: a card is the victim's own more often than the scammers', and its key
/// holds a MAC under the server's card key, which means nothing outside.
const NEVER_EXPORTED: &str = "'card'";

type ReportRow = (i64, String, i64, String, Option<i64>, Option<i64>, String, bool);
type PaymentRow = (i64, i32, String, String, Option<String>, Option<i64>, String, bool);
type LinkRow = (i64, String, String, Option<String>, Option<i32>);

/// Which reports of a cluster an export shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportsShown {
    /// Every report.
    All,
    /// Only those whose victim consented to share the report with the police.
    ConsentingOnly,
}

/// The reports of `cluster` after report id `after`, by id, at most `limit`, each with its
/// payments and identifiers; with `consenting_only`, only those whose victim consented to share
/// them with the police.
pub(crate) async fn report_page(
    db: &Reader,
    cluster: i64,
    after: i64,
    limit: u64,
    shown: ReportsShown,
) -> Result<Vec<ExportReport>, StoreError> {
    // Read here, not filtered later: a page is the next `limit` reports the caller may see.
    let consent = match shown {
        ReportsShown::All => "",
        ReportsShown::ConsentingOnly => {
            " AND EXISTS (SELECT 1 FROM report_victims v WHERE v.report_id = reports.id AND v.consent_to_share_police)"
        }
    };
    let rows: Vec<ReportRow> = db
        .fetch(
            &format!(
                "SELECT id, reference, received_at, category, first_contact_at, last_contact_at, contact_channels, \
                 contact_ongoing FROM reports WHERE cluster_id = ? AND id > ?{consent} ORDER BY id LIMIT {limit}"
            ),
            vec![cluster.into(), after.into()],
        )
        .await?;
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<Value> = rows.iter().map(|r| Value::from(r.0)).collect();
    let payments: Vec<PaymentRow> = db
        .fetch(
            &format!(
                "SELECT report_id, position, amount_exact, currency, method, paid_at, transaction_hash, recall_requested \
                 FROM payments WHERE report_id IN ({}) ORDER BY report_id, position",
                placeholders(ids.len())
            ),
            ids.clone(),
        )
        .await?;
    let links: Vec<LinkRow> = db
        .fetch(
            &format!(
                "SELECT report_id, key, kind, role, payment_position FROM report_identifiers \
                 WHERE report_id IN ({}) AND key IS NOT NULL AND kind IS NOT NULL AND NOT suggested \
                 AND kind NOT IN ({NEVER_EXPORTED}) ORDER BY report_id, position",
                placeholders(ids.len())
            ),
            ids,
        )
        .await?;
    let mut reports: Vec<ExportReport> = rows
        .into_iter()
        .map(|(id, reference, received, category, first, last, channels, ongoing)| ExportReport {
            id,
            reference,
            received_at: UnixMicros(received),
            category,
            first_contact_at: first.map(UnixMicros),
            last_contact_at: last.map(UnixMicros),
            contact_channels: channels,
            contact_ongoing: ongoing,
            payments: vec![],
            identifiers: vec![],
            consent_to_share_with_police: false,
        })
        .collect();
    let ids: Vec<i64> = reports.iter().map(|r| r.id).collect();
    let consenting = crate::consent::consenting(db, &ids).await?;
    for r in &mut reports {
        r.consent_to_share_with_police = consenting.contains(&r.id);
    }
    // Both lists are ordered by report id like the page, so one walk files each row.
    let index = |reports: &[ExportReport], id: i64| reports.binary_search_by_key(&id, |r| r.id).ok();
    let mut filed = vec![];
    for (report, position, amount, currency, method, paid_at, hash, recall) in payments {
        if let Some(at) = index(&reports, report) {
            filed.push((
                at,
                ExportPayment {
                    position,
                    amount_minor: crate::amounts::exact(&amount)?,
                    currency,
                    method,
                    paid_at: paid_at.map(UnixMicros),
                    transaction_hash: hash,
                    recall_requested: recall,
                },
            ));
        }
    }
    for (at, payment) in filed {
        reports[at].payments.push(payment);
    }
    let mut filed = vec![];
    for (report, key, kind, role, payment_position) in links {
        if let Some(at) = index(&reports, report) {
            filed.push((at, ExportLink { key, kind, role, payment_position }));
        }
    }
    for (at, link) in filed {
        // The same identifier typed twice in one report is one edge.
        if !reports[at].identifiers.iter().any(|l| l.key == link.key) {
            reports[at].identifiers.push(link);
        }
    }
    Ok(reports)
}

/// The victims of `reports` who consented to share their report with the police, their personal
/// data and narrative opened; the others are absent.
pub(crate) async fn consenting_victims(
    db: &Reader,
    keys: &KeySource,
    reports: &[i64],
) -> Result<Vec<ExportVictim>, StoreError> {
    let mut out = vec![];
    for chunk in reports.chunks(IN_CHUNK) {
        let values: Vec<Value> = chunk.iter().map(|&i| Value::from(i)).collect();
        let sql = format!(
            "SELECT r.id, r.reference, v.name, v.email, v.phone, r.narrative FROM reports r \
             JOIN report_victims v ON v.report_id = r.id WHERE v.consent_to_share_police AND r.id IN ({}) ORDER BY r.id",
            placeholders(chunk.len())
        );
        let rows: Vec<(i64, String, String, String, String, String)> = db.fetch(&sql, values).await?;
        for (report_id, reference, name, email, phone, narrative) in rows {
            let open = |field: PersonalField, stored: &str| {
                keys.open(field, &reference, stored)
                    .map_err(|e| StoreError::DataKeys(format!("{} of report {report_id}: {e}", field.column())))
            };
            out.push(ExportVictim {
                report_id,
                name: open(PersonalField::VictimName, &name)?,
                email: open(PersonalField::VictimEmail, &email)?,
                phone: open(PersonalField::VictimPhone, &phone)?,
                narrative: open(PersonalField::Narrative, &narrative)?,
            });
        }
    }
    Ok(out)
}

/// The identifiers the reports of `cluster` carry (whatever their state: excluded and safelisted
/// ones are shown as such), after identifier id `after`, by id, at most `limit`.
pub(crate) async fn identifier_page(
    db: &Reader,
    cluster: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<ExportIdentifier>, StoreError> {
    let rows: Vec<identifier::Model> = db
        .fetch(
            &format!(
                "SELECT * FROM identifiers WHERE id IN (SELECT l.identifier_id FROM report_links l \
                 JOIN reports r ON r.id = l.report_id WHERE r.cluster_id = ? AND l.identifier_id > ?) \
                 AND kind NOT IN ({NEVER_EXPORTED}) ORDER BY id LIMIT {limit}"
            ),
            vec![cluster.into(), after.into()],
        )
        .await?;
    rows.iter().map(export_identifier).collect()
}

/// The feed: identifiers last reported after `cursor`, in `(last_seen, id)` order, at most
/// `limit`.
pub(crate) async fn feed_page(
    db: &Reader,
    cursor: FeedCursor,
    filter: &FeedFilter,
    limit: u64,
) -> Result<Vec<ExportIdentifier>, StoreError> {
    let (sql, values) = feed_statement(cursor, filter, limit);
    let rows: Vec<identifier::Model> = db.fetch(&sql, values).await?;
    rows.iter().map(export_identifier).collect()
}

/// The feed's statement. The cursor is a row-value comparison, which both databases turn into a
/// range of the `(last_seen, id)` index: PostgreSQL cannot start an index scan from
/// `last_seen > ? OR (last_seen = ? AND id > ?)`, and read the index from its start on every
/// page (600,000 rows skipped for a page 600,000 identifiers in).
pub(crate) fn feed_statement(cursor: FeedCursor, filter: &FeedFilter, limit: u64) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = vec![cursor.last_seen.into(), cursor.id.into(), filter.min_reports.max(1).into()];
    let mut sql = format!(
        "SELECT * FROM identifiers WHERE last_seen IS NOT NULL AND (last_seen, id) > (?, ?) \
         AND report_count >= ? AND kind NOT IN ({NEVER_EXPORTED})"
    );
    if !filter.kinds.is_empty() {
        sql.push_str(&format!(" AND kind IN ({})", placeholders(filter.kinds.len())));
        values.extend(filter.kinds.iter().map(|k| Value::from(k.as_str())));
    }
    sql.push_str(&format!(" ORDER BY last_seen, id LIMIT {limit}"));
    (sql, values)
}

fn export_identifier(row: &identifier::Model) -> Result<ExportIdentifier, StoreError> {
    Ok(ExportIdentifier {
        id: row.id,
        key: row.key.clone(),
        kind: row.kind.clone(),
        display: row.display.clone(),
        state: row.state.parse().map_err(|_| StoreError::Corrupt(format!("identifiers.state = {:?}", row.state)))?,
        report_count: row.report_count,
        first_seen: row.first_seen.map(UnixMicros),
        last_seen: row.last_seen.map(UnixMicros),
        cluster_id: row.cluster_id,
        categories: Category::from_mask(row.category_mask),
        bridge: row.bridge.clone(),
    })
}
