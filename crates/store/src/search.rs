//! Investigators' searches over reports and clusters, a page at a time (keyset: no OFFSET, so a
//! deep page costs what the first does).
//!
//! Only what is stored in clear is searched: times, category, the victim's country, payments
//! (method, currency, exact amount), contact, the cluster's state and the identifiers' canonical
//! keys. Narratives, added details and victims' names and contacts are sealed at rest
//! (`scamtrail_core::privacy`) and are not searched: matching words in them would need an index
//! of the words beside the sealed text, which gives back what sealing hides.
//!
//! Each filter that can narrow a search to few rows has an index of migration `m0017`; amounts
//! are compared by `payments.amount_key` (the exact minor units zero-padded to 39 digits), so
//! 10 ETH in wei (beyond 64 bits) compares and sorts exactly.

use scamtrail_core::{Category, ClusterStatus, ContactChannel, PaymentMethod, UnixMicros};

use crate::cluster_views::{ClusterReportView, ClusterView, ReportRow, report_views, views};
use crate::config::ClusterConfig;
use crate::db::entity::cluster;
use crate::db::records::amount_key;
use crate::db::{Reader, Value, placeholders};
use crate::error::StoreError;
use crate::queues::{self, PageToken, Queue, QueueFilter};

/// The order of a report search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SearchOrder {
    /// Newest received first.
    #[default]
    NewestFirst,
    /// Oldest received first.
    OldestFirst,
    /// Largest matching payment first (in the search's currency, which it then needs); equal
    /// amounts newest report first.
    LargestAmountFirst,
}

/// Filters on reports: each one given must hold; within a list, any value. Empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportSearch {
    /// Received at or after.
    pub received_from: Option<UnixMicros>,
    /// Received before.
    pub received_until: Option<UnixMicros>,
    /// With a payment made at or after.
    pub paid_from: Option<UnixMicros>,
    /// With a payment made before.
    pub paid_until: Option<UnixMicros>,
    /// Of one of these categories.
    pub categories: Vec<Category>,
    /// From a victim in one of these countries (alpha-2, upper case).
    pub countries: Vec<String>,
    /// With a payment by one of these methods.
    pub methods: Vec<PaymentMethod>,
    /// With a payment in this currency.
    pub currency: Option<String>,
    /// With a payment of at least this many minor units (of `currency`).
    pub min_minor: Option<i128>,
    /// With a payment of at most this many minor units.
    pub max_minor: Option<i128>,
    /// Whose cluster has one of these statuses.
    pub cluster_statuses: Vec<ClusterStatus>,
    /// Carrying an identifier whose canonical key starts with this.
    pub key_prefix: Option<String>,
    /// Contacted through one of these channels.
    pub channels: Vec<ContactChannel>,
    /// Whose contact with the scammers is (or is not) ongoing.
    pub contact_ongoing: Option<bool>,
    /// The order.
    pub order: SearchOrder,
}

/// Where the next page of a search starts: after this sort value and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCursor {
    /// The last listed report's sort value: its received time, or its amount key (39 digits).
    pub sort: String,
    /// The last listed report's id.
    pub id: i64,
}

impl SearchCursor {
    /// The token as the API hands it out.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.sort, self.id)
    }

    /// Reads a token handed out by `encode` for a search in `order`.
    pub fn decode(text: &str, order: SearchOrder) -> Option<Self> {
        let (sort, id) = text.split_once('.')?;
        let id = id.parse().ok()?;
        let valid = match order {
            SearchOrder::LargestAmountFirst => sort.len() == 39 && sort.bytes().all(|b| b.is_ascii_digit()),
            _ => sort.parse::<i64>().is_ok(),
        };
        valid.then(|| Self { sort: sort.to_owned(), id })
    }
}

/// A report found: as listed in a cluster, with its cluster and its victim's country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportHit {
    /// The report (no victim data).
    pub report: ClusterReportView,
    /// Its cluster.
    pub cluster_id: Option<i64>,
    /// Its victim's country.
    pub victim_country: Option<String>,
}

impl ReportSearch {
    /// The filters in words, for the audit trail (not the results).
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut put = |name: &str, value: String| parts.push(format!("{name}={value}"));
        let time = |t: Option<UnixMicros>| t.map(|t| t.0.to_string());
        for (name, t) in [
            ("received_from", self.received_from),
            ("received_until", self.received_until),
            ("paid_from", self.paid_from),
            ("paid_until", self.paid_until),
        ] {
            if let Some(t) = time(t) {
                put(name, t);
            }
        }
        let list = |items: Vec<&str>| items.join("|");
        if !self.categories.is_empty() {
            put("categories", list(self.categories.iter().map(|c| c.as_str()).collect()));
        }
        if !self.countries.is_empty() {
            put("countries", list(self.countries.iter().map(String::as_str).collect()));
        }
        if !self.methods.is_empty() {
            put("methods", list(self.methods.iter().map(|m| m.as_str()).collect()));
        }
        if let Some(c) = &self.currency {
            put("currency", c.clone());
        }
        if let Some(m) = self.min_minor {
            put("min_minor", m.to_string());
        }
        if let Some(m) = self.max_minor {
            put("max_minor", m.to_string());
        }
        if !self.cluster_statuses.is_empty() {
            put("cluster_statuses", list(self.cluster_statuses.iter().map(|s| s.as_str()).collect()));
        }
        if let Some(p) = &self.key_prefix {
            put("key_prefix", p.clone());
        }
        if !self.channels.is_empty() {
            put("channels", list(self.channels.iter().map(|c| c.as_str()).collect()));
        }
        if let Some(o) = self.contact_ongoing {
            put("contact_ongoing", o.to_string());
        }
        put("order", format!("{:?}", self.order));
        parts.join(" ")
    }

    /// The conditions on one payment (over payments `alias`), and their values; `None` when no
    /// filter is on payments.
    fn payment_condition(&self, alias: &str) -> Option<(String, Vec<Value>)> {
        let mut sql: Vec<String> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(t) = self.paid_from {
            sql.push(format!("{alias}.paid_at >= ?"));
            values.push(t.0.into());
        }
        if let Some(t) = self.paid_until {
            sql.push(format!("{alias}.paid_at < ?"));
            values.push(t.0.into());
        }
        if !self.methods.is_empty() {
            sql.push(format!("{alias}.method IN ({})", placeholders(self.methods.len())));
            values.extend(self.methods.iter().map(|m| Value::from(m.as_str())));
        }
        if let Some(c) = &self.currency {
            sql.push(format!("{alias}.currency = ?"));
            values.push(c.as_str().into());
        }
        if let Some(m) = self.min_minor {
            sql.push(format!("{alias}.amount_key >= ?"));
            values.push(amount_key(m).into());
        }
        if let Some(m) = self.max_minor {
            sql.push(format!("{alias}.amount_key <= ?"));
            values.push(amount_key(m).into());
        }
        (!sql.is_empty()).then(|| (sql.join(" AND "), values))
    }

    /// The conditions on the report (`reports r`, `report_victims v`, `clusters c`).
    fn report_condition(&self, sql: &mut String, values: &mut Vec<Value>) {
        if let Some(t) = self.received_from {
            sql.push_str(" AND r.received_at >= ?");
            values.push(t.0.into());
        }
        if let Some(t) = self.received_until {
            sql.push_str(" AND r.received_at < ?");
            values.push(t.0.into());
        }
        if !self.categories.is_empty() {
            sql.push_str(&format!(" AND r.category IN ({})", placeholders(self.categories.len())));
            values.extend(self.categories.iter().map(|c| Value::from(c.as_str())));
        }
        if !self.countries.is_empty() {
            sql.push_str(&format!(" AND v.country IN ({})", placeholders(self.countries.len())));
            values.extend(self.countries.iter().map(|c| Value::from(c.as_str())));
        }
        if let Some(ongoing) = self.contact_ongoing {
            sql.push_str(" AND r.contact_ongoing = ?");
            values.push(ongoing.into());
        }
        if !self.channels.is_empty() {
            // Stored as `a,b`: framed in commas, a channel matches whole.
            let ors = vec!["(',' || r.contact_channels || ',') LIKE ?"; self.channels.len()].join(" OR ");
            sql.push_str(&format!(" AND ({ors})"));
            values.extend(self.channels.iter().map(|c| Value::from(format!("%,{},%", c.as_str()))));
        }
        if !self.cluster_statuses.is_empty() {
            sql.push_str(&format!(" AND c.status IN ({})", placeholders(self.cluster_statuses.len())));
            values.extend(self.cluster_statuses.iter().map(|s| Value::from(s.as_str())));
        }
        if let Some(prefix) = &self.key_prefix {
            // A range the key index serves, and the prefix itself checked: under a collation
            // other than byte order the range alone could take in other keys.
            sql.push_str(
                " AND r.id IN (SELECT l.report_id FROM identifiers i JOIN report_links l ON l.identifier_id = i.id \
                 WHERE i.key >= ? AND i.key < ? AND substr(i.key, 1, ?) = ?)",
            );
            values.push(prefix.as_str().into());
            values.push(format!("{prefix}\u{10FFFF}").into());
            values.push(i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX).into());
            values.push(prefix.as_str().into());
        }
    }
}

/// The columns a search lists, over `reports r` and `report_victims v`.
const HIT_COLUMNS: &str = "r.id, r.reference, r.received_at, r.category, r.contact_ongoing, r.cluster_id, v.country";

/// A listed report's row: the report's columns, its cluster, its victim's country, its sort value.
type HitRow = (i64, String, i64, String, bool, Option<i64>, Option<String>, String);

/// One page of reports matching `search`, and the cursor of the next page.
pub(crate) async fn search_reports(
    db: &Reader,
    search: &ReportSearch,
    page_size: u64,
    after: Option<&SearchCursor>,
) -> Result<(Vec<ReportHit>, Option<SearchCursor>), StoreError> {
    let mut values: Vec<Value> = Vec::new();
    let join_cluster = if search.cluster_statuses.is_empty() { "" } else { " JOIN clusters c ON c.id = r.cluster_id" };
    let mut sql = match search.order {
        SearchOrder::LargestAmountFirst => {
            // From the payments index in amount order; each report at its largest matching payment.
            let (pay, pay_values) = search.payment_condition("p").unwrap_or_else(|| ("1 = 1".into(), vec![]));
            let (other, other_values) = search.payment_condition("q").unwrap_or_else(|| ("1 = 1".into(), vec![]));
            values.extend(pay_values);
            values.extend(other_values);
            format!(
                "SELECT {HIT_COLUMNS}, p.amount_key FROM payments p JOIN reports r ON r.id = p.report_id \
                 LEFT JOIN report_victims v ON v.report_id = r.id{join_cluster} WHERE {pay} AND NOT EXISTS \
                 (SELECT 1 FROM payments q WHERE q.report_id = p.report_id AND {other} AND (q.amount_key > p.amount_key \
                 OR (q.amount_key = p.amount_key AND q.id < p.id)))"
            )
        }
        _ => {
            let mut sql = format!(
                "SELECT {HIT_COLUMNS}, CAST(r.received_at AS TEXT) FROM reports r \
                 LEFT JOIN report_victims v ON v.report_id = r.id{join_cluster} WHERE 1 = 1"
            );
            if let Some((pay, pay_values)) = search.payment_condition("p") {
                sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM payments p WHERE p.report_id = r.id AND {pay})"));
                values.extend(pay_values);
            }
            sql
        }
    };
    search.report_condition(&mut sql, &mut values);
    match (search.order, after) {
        (SearchOrder::NewestFirst, Some(a)) => {
            let at: i64 = a.sort.parse().unwrap_or(i64::MAX);
            sql.push_str(" AND (r.received_at < ? OR (r.received_at = ? AND r.id < ?))");
            values.extend([at.into(), at.into(), a.id.into()]);
        }
        (SearchOrder::OldestFirst, Some(a)) => {
            let at: i64 = a.sort.parse().unwrap_or(i64::MIN);
            sql.push_str(" AND (r.received_at > ? OR (r.received_at = ? AND r.id > ?))");
            values.extend([at.into(), at.into(), a.id.into()]);
        }
        (SearchOrder::LargestAmountFirst, Some(a)) => {
            sql.push_str(" AND (p.amount_key < ? OR (p.amount_key = ? AND p.report_id < ?))");
            values.extend([a.sort.as_str().into(), a.sort.as_str().into(), a.id.into()]);
        }
        (_, None) => {}
    }
    sql.push_str(match search.order {
        SearchOrder::NewestFirst => " ORDER BY r.received_at DESC, r.id DESC",
        SearchOrder::OldestFirst => " ORDER BY r.received_at ASC, r.id ASC",
        // Both descending, so the (currency, amount_key, report_id) index is read backwards as it is.
        SearchOrder::LargestAmountFirst => " ORDER BY p.amount_key DESC, p.report_id DESC",
    });
    sql.push_str(" LIMIT ?");
    values.push(((page_size + 1) as i64).into());
    // A filter no index serves may read many rows: on a SQLite file, off the caller's thread.
    let mut rows: Vec<HitRow> = db.fetch_unbounded(sql, values).await?;
    let next = if rows.len() as u64 > page_size {
        rows.truncate(page_size as usize);
        rows.last().map(|r| SearchCursor { sort: r.7.clone(), id: r.0 })
    } else {
        None
    };
    let listed: Vec<ReportRow> = rows.iter().map(|r| (r.0, r.1.clone(), r.2, r.3.clone(), r.4)).collect();
    let reports = report_views(db, listed).await?;
    let hits = reports
        .into_iter()
        .zip(rows)
        .map(|(report, row)| ReportHit { report, cluster_id: row.5, victim_country: row.6 })
        .collect();
    Ok((hits, next))
}

/// Filters on clusters: each one given must hold. Merged clusters are found only when asked
/// for by status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSearch {
    /// With one of these statuses.
    pub statuses: Vec<ClusterStatus>,
    /// Assigned to this investigator.
    pub assignee: Option<String>,
    /// Waiting in this queue.
    pub queue: Option<Queue>,
    /// Categories, countries and tags, as queues filter them.
    pub filter: QueueFilter,
    /// With a total loss (reference currency, minor units) of at least this.
    pub min_total_loss_minor: Option<i64>,
    /// With a total loss of at most this.
    pub max_total_loss_minor: Option<i64>,
    /// With at least this many reports.
    pub min_reports: Option<i64>,
    /// With at most this many reports.
    pub max_reports: Option<i64>,
    /// Referred to this agency.
    pub referred_to: Option<String>,
    /// Linked by this canonical key.
    pub identifier_key: Option<String>,
}

impl ClusterSearch {
    /// The filters in words, for the audit trail (not the results).
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.statuses.is_empty() {
            let s: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
            parts.push(format!("statuses={}", s.join("|")));
        }
        let texts = [
            ("assignee", self.assignee.clone()),
            ("queue", self.queue.map(|q| format!("{q:?}"))),
            ("min_total_loss_minor", self.min_total_loss_minor.map(|m| m.to_string())),
            ("max_total_loss_minor", self.max_total_loss_minor.map(|m| m.to_string())),
            ("min_reports", self.min_reports.map(|m| m.to_string())),
            ("max_reports", self.max_reports.map(|m| m.to_string())),
            ("referred_to", self.referred_to.clone()),
            ("identifier_key", self.identifier_key.clone()),
        ];
        for (name, value) in texts {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        }
        let f = &self.filter;
        if !f.categories.is_empty() {
            let c: Vec<&str> = f.categories.iter().map(|c| c.as_str()).collect();
            parts.push(format!("categories={}", c.join("|")));
        }
        if !f.countries.is_empty() {
            parts.push(format!("countries={}", f.countries.join("|")));
        }
        if !f.tags.is_empty() {
            let t: Vec<&str> = f.tags.iter().map(|t| t.as_str()).collect();
            parts.push(format!("tags={}", t.join("|")));
        }
        parts.join(" ")
    }
}

/// One page of clusters matching `search`, most urgent first, and the token of the next page.
pub(crate) async fn search_clusters(
    db: &Reader,
    config: &ClusterConfig,
    search: &ClusterSearch,
    page_size: u64,
    after: Option<PageToken>,
) -> Result<(Vec<ClusterView>, Option<PageToken>), StoreError> {
    let now = UnixMicros::now();
    let (mut sql, mut values) = match search.queue {
        Some(q) => queues::condition(q, &search.filter, now, config.hot_threshold),
        None => {
            let (mut sql, mut values) = (String::from("1 = 1"), Vec::new());
            queues::filter_condition(&search.filter, &mut sql, &mut values);
            (sql, values)
        }
    };
    if search.statuses.is_empty() {
        sql.push_str(" AND c.merged_into IS NULL");
    } else {
        sql.push_str(&format!(" AND c.status IN ({})", placeholders(search.statuses.len())));
        values.extend(search.statuses.iter().map(|s| Value::from(s.as_str())));
    }
    let mut equal = |column: &str, value: &Option<String>| {
        if let Some(v) = value {
            sql.push_str(&format!(" AND c.{column} = ?"));
            values.push(v.as_str().into());
        }
    };
    equal("assignee", &search.assignee);
    equal("referred_to", &search.referred_to);
    let bounds = [
        ("c.total_loss_minor >= ?", search.min_total_loss_minor),
        ("c.total_loss_minor <= ?", search.max_total_loss_minor),
        ("c.report_count >= ?", search.min_reports),
        ("c.report_count <= ?", search.max_reports),
    ];
    for (condition, bound) in bounds {
        if let Some(b) = bound {
            sql.push_str(&format!(" AND {condition}"));
            values.push(b.into());
        }
    }
    if let Some(key) = &search.identifier_key {
        sql.push_str(" AND c.id IN (SELECT i.cluster_id FROM identifiers i WHERE i.key = ?)");
        values.push(key.as_str().into());
    }
    if let Some(t) = after {
        sql.push_str(" AND (c.priority_milli < ? OR (c.priority_milli = ? AND c.id > ?))");
        values.extend([t.priority_milli.into(), t.priority_milli.into(), t.cluster_id.into()]);
    }
    let sql = format!("SELECT c.* FROM clusters c WHERE {sql} ORDER BY c.priority_milli DESC, c.id ASC LIMIT ?");
    values.push(((page_size + 1) as i64).into());
    let mut rows: Vec<cluster::Model> = db.fetch_unbounded(sql, values).await?;
    let next = if rows.len() as u64 > page_size {
        rows.truncate(page_size as usize);
        rows.last().map(|r| PageToken { priority_milli: r.priority_milli, cluster_id: r.id })
    } else {
        None
    };
    Ok((views(db, config, &rows, now).await?, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let time = SearchCursor { sort: "-17".into(), id: 4 };
        assert_eq!(SearchCursor::decode(&time.encode(), SearchOrder::NewestFirst), Some(time));
        let amount = SearchCursor { sort: amount_key(10_000_000_000_000_000_000), id: 9 };
        assert_eq!(SearchCursor::decode(&amount.encode(), SearchOrder::LargestAmountFirst), Some(amount.clone()));
        // A cursor of one order is no cursor of the other.
        assert_eq!(SearchCursor::decode(&amount.encode(), SearchOrder::NewestFirst), None);
        for bad in ["", "1", "a.1", "1.b", "1.2.3"] {
            assert_eq!(SearchCursor::decode(bad, SearchOrder::OldestFirst), None, "{bad}");
        }
    }

    #[test]
    fn amount_keys_order_as_the_amounts_do() {
        let amounts: [i128; 5] = [1, 9, 10, 9_223_372_036_854_775_807, 10_000_000_000_000_000_000];
        let keys: Vec<String> = amounts.iter().map(|&a| amount_key(a)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert!(keys.iter().all(|k| k.len() == 39));
    }
}
