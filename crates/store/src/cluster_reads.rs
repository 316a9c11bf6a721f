//! Reads of clusters, queues and identifiers, through the [`Reader`] like every hot read: they
//! never wait for the writer.

use std::collections::{BTreeMap, HashMap};

use scamtrail_core::{Category, LinkStep, UnixMicros, shortest_link};
use sea_orm::Value;

use crate::StoreError;
use crate::clustering::ClusterConfig;
use crate::entity::{cluster, cluster_event, identifier};
use crate::fetch::{FromRow, Reader};
use crate::queue::{self, PageToken, Queue, QueueFilter};
use crate::sql::{IN_CHUNK, placeholders};
use crate::views::{ClusterDetail, ClusterEventView, ClusterReportView, ClusterView, IdentifierView};

/// Cluster views of rows, with their hot identifier keys filled in.
pub(crate) async fn views(
    db: &Reader,
    config: &ClusterConfig,
    rows: &[cluster::Model],
    now: UnixMicros,
) -> Result<Vec<ClusterView>, StoreError> {
    let mut views: Vec<ClusterView> = rows.iter().map(|r| ClusterView::from_row(r, now)).collect::<Result<_, _>>()?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut hot: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT cluster_id, key FROM identifiers WHERE cluster_id IN ({}) AND report_count >= ? \
             ORDER BY report_count DESC, key",
            placeholders(chunk.len())
        );
        let mut values: Vec<Value> = chunk.iter().map(|&i| Value::from(i)).collect();
        values.push(config.hot_threshold.into());
        for (cluster, key) in db.fetch::<(i64, String)>(&sql, values).await? {
            hot.entry(cluster).or_default().push(key);
        }
    }
    for v in &mut views {
        v.hot_keys = hot.remove(&v.id).unwrap_or_default();
    }
    Ok(views)
}

/// One cluster, as it is now.
pub(crate) async fn cluster_view(
    db: &Reader,
    config: &ClusterConfig,
    id: i64,
) -> Result<Option<ClusterView>, StoreError> {
    let rows: Vec<cluster::Model> = db.fetch("SELECT * FROM clusters WHERE id = ?", vec![id.into()]).await?;
    views(db, config, &rows, UnixMicros::now()).await.map(|mut v| v.pop())
}

/// Identifiers in a cluster's detail at most (the most reported).
pub const DETAIL_IDENTIFIERS_MAX: u64 = 1_000;
/// Events in a cluster's detail at most (the latest).
pub const DETAIL_EVENTS_MAX: u64 = 500;

/// A cluster with its reports (newest first, at most `max_reports`), identifiers and history.
pub(crate) async fn cluster_detail(
    db: &Reader,
    config: &ClusterConfig,
    id: i64,
    max_reports: u64,
) -> Result<Option<ClusterDetail>, StoreError> {
    let Some(cluster) = cluster_view(db, config, id).await? else { return Ok(None) };
    // A merged cluster has no reports of its own: its detail is its history.
    let report_rows: Vec<(i64, String, i64, String, bool)> = db
        .fetch(
            "SELECT id, reference, received_at, category, contact_ongoing FROM reports WHERE cluster_id = ? \
             ORDER BY id DESC LIMIT ?",
            vec![id.into(), (max_reports as i64).into()],
        )
        .await?;
    let mut reports = Vec::with_capacity(report_rows.len());
    for (id, reference, received_at, category, contact_ongoing) in report_rows {
        reports.push(ClusterReportView {
            id,
            reference,
            received_at: UnixMicros(received_at),
            category: category
                .parse::<Category>()
                .map_err(|_| StoreError::Corrupt(format!("reports.category = {category:?}")))?,
            contact_ongoing,
            loss: Vec::new(),
            identifier_keys: Vec::new(),
        });
    }
    let ids: Vec<i64> = reports.iter().map(|r| r.id).collect();
    let mut loss: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
    let mut keys: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let values: Vec<Value> = chunk.iter().map(|&i| Value::from(i)).collect();
        let sql = format!(
            "SELECT report_id, currency, amount_minor FROM payments WHERE report_id IN ({})",
            placeholders(chunk.len())
        );
        for (report, currency, amount) in db.fetch::<(i64, String, i64)>(&sql, values.clone()).await? {
            let entry = loss.entry(report).or_default().entry(currency).or_default();
            *entry = entry.saturating_add(amount);
        }
        let sql = format!(
            "SELECT l.report_id, i.key FROM report_links l JOIN identifiers i ON i.id = l.identifier_id \
             WHERE l.report_id IN ({}) ORDER BY i.key",
            placeholders(chunk.len())
        );
        for (report, key) in db.fetch::<(i64, String)>(&sql, values).await? {
            keys.entry(report).or_default().push(key);
        }
    }
    for r in &mut reports {
        r.loss = loss.remove(&r.id).map(|m| m.into_iter().collect()).unwrap_or_default();
        r.identifier_keys = keys.remove(&r.id).unwrap_or_default();
    }
    let identifiers = db
        .fetch::<identifier::Model>(
            "SELECT * FROM identifiers WHERE cluster_id = ? ORDER BY report_count DESC, key LIMIT ?",
            vec![id.into(), (DETAIL_IDENTIFIERS_MAX as i64).into()],
        )
        .await?
        .iter()
        .map(|r| IdentifierView::from_row(r, config.hot_threshold))
        .collect::<Result<_, _>>()?;
    let mut events = db
        .fetch::<cluster_event::Model>(
            "SELECT * FROM cluster_events WHERE cluster_id = ? ORDER BY id DESC LIMIT ?",
            vec![id.into(), (DETAIL_EVENTS_MAX as i64).into()],
        )
        .await?
        .iter()
        .map(ClusterEventView::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    events.reverse();
    Ok(Some(ClusterDetail { cluster, reports, identifiers, events }))
}

/// One page of a queue, most urgent first, and the token of the next page.
pub(crate) async fn queue_page(
    db: &Reader,
    config: &ClusterConfig,
    which: Queue,
    filter: &QueueFilter,
    page_size: u64,
    after: Option<PageToken>,
) -> Result<(Vec<ClusterView>, Option<PageToken>), StoreError> {
    let now = UnixMicros::now();
    let (condition, mut values) = queue::condition(which, filter, now, config.hot_threshold);
    let mut sql = format!("SELECT c.* FROM clusters c WHERE {condition}");
    if let Some(t) = after {
        sql.push_str(" AND (c.priority_milli < ? OR (c.priority_milli = ? AND c.id > ?))");
        values.extend([t.priority_milli.into(), t.priority_milli.into(), t.cluster_id.into()]);
    }
    sql.push_str(" ORDER BY c.priority_milli DESC, c.id ASC LIMIT ?");
    values.push(((page_size + 1) as i64).into());
    let mut rows: Vec<cluster::Model> = db.fetch(&sql, values).await?;
    let next = if rows.len() as u64 > page_size {
        rows.truncate(page_size as usize);
        rows.last().map(|r| PageToken { priority_milli: r.priority_milli, cluster_id: r.id })
    } else {
        None
    };
    Ok((views(db, config, &rows, now).await?, next))
}

/// How many clusters wait in each queue.
pub(crate) async fn queue_counts(
    db: &Reader,
    config: &ClusterConfig,
    filter: &QueueFilter,
) -> Result<Vec<(Queue, i64)>, StoreError> {
    let now = UnixMicros::now();
    let mut out = Vec::with_capacity(Queue::ALL.len());
    for which in Queue::ALL {
        let (condition, values) = queue::condition(which, filter, now, config.hot_threshold);
        let rows: Vec<(i64,)> =
            db.fetch_unbounded(format!("SELECT COUNT(*) FROM clusters c WHERE {condition}"), values).await?;
        let n = rows.first().map_or(0, |r| r.0);
        out.push((which, n));
    }
    Ok(out)
}

/// How two reports are linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkExplanation {
    /// The first report's cluster.
    pub cluster_a: i64,
    /// The second report's cluster.
    pub cluster_b: i64,
    /// A shortest path of shared identifiers, when they are linked.
    pub path: Option<Vec<LinkStep>>,
}

pub(crate) async fn cluster_of_report(db: &Reader, report: i64) -> Result<Option<i64>, StoreError> {
    let rows: Vec<(Option<i64>,)> =
        db.fetch("SELECT cluster_id FROM reports WHERE id = ?", vec![report.into()]).await?;
    Ok(rows.first().and_then(|r| r.0))
}

/// Explains the link between two reports; `None` when either report is unknown.
pub(crate) async fn explain_link(db: &Reader, a: i64, b: i64) -> Result<Option<LinkExplanation>, StoreError> {
    let (Some(cluster_a), Some(cluster_b)) = (cluster_of_report(db, a).await?, cluster_of_report(db, b).await?) else {
        return Ok(None);
    };
    if cluster_a != cluster_b {
        return Ok(Some(LinkExplanation { cluster_a, cluster_b, path: None }));
    }
    let links: Vec<(i64, String)> = db
        .fetch_unbounded(
            "SELECT l.report_id, i.key FROM report_links l JOIN reports r ON r.id = l.report_id \
             JOIN identifiers i ON i.id = l.identifier_id WHERE r.cluster_id = ? AND i.state = 'normal'"
                .to_owned(),
            vec![cluster_a.into()],
        )
        .await?;
    Ok(Some(LinkExplanation { cluster_a, cluster_b, path: shortest_link(&links, a, b) }))
}

/// What is known of one key, for police and bank lookups: no victim data.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyLookup {
    /// The identifier.
    pub identifier: IdentifierView,
    /// Its cluster's total loss in the reference currency, or its own reports' when it does not link.
    pub total_loss_minor: i64,
    /// The reference currency.
    pub reference_currency: String,
    /// Categories of the reports that carry it.
    pub categories: Vec<Category>,
}

/// Looks keys up; unknown keys are absent from the answer. One query per 500 keys (the
/// identifiers with their categories and their cluster's loss), and one more for the own loss
/// of those that do not link.
pub(crate) async fn lookup(
    db: &Reader,
    config: &ClusterConfig,
    keys: &[String],
) -> Result<HashMap<String, KeyLookup>, StoreError> {
    let mut out = HashMap::new();
    let mut unique: Vec<&String> = keys.iter().collect();
    unique.sort_unstable();
    unique.dedup();
    for chunk in unique.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT i.*, c.total_loss_minor AS cluster_loss FROM identifiers i \
             LEFT JOIN clusters c ON c.id = i.cluster_id WHERE i.key IN ({})",
            placeholders(chunk.len())
        );
        let rows: Vec<WithLoss> = db.fetch(&sql, chunk.iter().map(|k| Value::from(k.as_str())).collect()).await?;
        if rows.is_empty() {
            continue;
        }
        // An identifier that does not link has no cluster: its own reports' loss, summed per
        // currency. The sum is taken in double precision, which never overflows (an integer SUM
        // of two huge amounts fails the whole batch) and is exact up to 2^53 minor units.
        let loose: Vec<Value> =
            rows.iter().filter(|r| r.row.cluster_id.is_none()).map(|r| Value::from(r.row.id)).collect();
        let mut own_loss: HashMap<i64, i64> = HashMap::new();
        if !loose.is_empty() {
            let sql = format!(
                "SELECT l.identifier_id, p.currency, SUM(CAST(p.amount_minor AS DOUBLE PRECISION)) FROM payments p \
                 JOIN report_links l ON l.report_id = p.report_id WHERE l.identifier_id IN ({}) \
                 GROUP BY l.identifier_id, p.currency",
                placeholders(loose.len())
            );
            for (id, currency, sum) in db.fetch_unbounded::<(i64, String, f64)>(sql, loose).await? {
                // `as` saturates at the bounds of i64.
                let amount = config.rates.to_reference_minor(sum as i64, &currency).unwrap_or(0);
                let total = own_loss.entry(id).or_default();
                *total = total.saturating_add(amount);
            }
        }
        for WithLoss { row, cluster_loss } in rows {
            let total_loss_minor = match row.cluster_id {
                Some(_) => cluster_loss.unwrap_or(0),
                None => own_loss.get(&row.id).copied().unwrap_or(0),
            };
            out.insert(
                row.key.clone(),
                KeyLookup {
                    identifier: IdentifierView::from_row(&row, config.hot_threshold)?,
                    total_loss_minor,
                    reference_currency: config.rates.reference().to_owned(),
                    categories: Category::from_mask(row.category_mask),
                },
            );
        }
    }
    Ok(out)
}

/// An identifier row with its cluster's total loss.
struct WithLoss {
    row: identifier::Model,
    cluster_loss: Option<i64>,
}

impl FromRow for WithLoss {
    fn from_orm(row: &sea_orm::QueryResult) -> Result<Self, sea_orm::DbErr> {
        Ok(Self { row: identifier::Model::from_orm(row)?, cluster_loss: row.try_get("", "cluster_loss")? })
    }
    fn sqlite_columns(statement: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
        let mut columns = identifier::Model::sqlite_columns(statement)?;
        columns.push(statement.column_index("cluster_loss")?);
        Ok(columns)
    }
    fn from_sqlite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self> {
        let (own, loss) = columns.split_at(columns.len().saturating_sub(1));
        let loss = loss.first().copied().ok_or(rusqlite::Error::InvalidColumnIndex(usize::MAX))?;
        Ok(Self { row: identifier::Model::from_sqlite(row, own)?, cluster_loss: row.get(loss)? })
    }
}

#[cfg(test)]
mod tests {
    use scamtrail_core::Category;

    /// The migration that filled identifiers' category masks used the bits categories have now.
    #[test]
    fn the_migration_filled_masks_with_todays_bits() {
        for (bit, name) in scamtrail_migration::CATEGORY_BITS_AT_M0004.iter().enumerate() {
            let category: Category = name.parse().unwrap();
            assert_eq!(category.bit(), 1 << bit, "{name}");
        }
    }
}
