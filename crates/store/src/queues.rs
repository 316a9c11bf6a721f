//! The triage queues: which clusters wait in each queue, in priority order (as SQL, and as a
//! predicate for watchers), their pages and counts, and the page tokens of keyset pagination (no OFFSET, so a page costs the same deep in the queue).
//!
//! A cluster waits in a queue while it is unclaimed: status new or triaging (a lapsed claim puts a
//! triaging cluster back) and no live claim. Assigned, referred, recall-requested, monitoring,
//! closed and merged clusters are in no queue.

use scamtrail_core::{Category, ClusterStatus, Tag, UnixMicros};

use crate::cluster_views::{ClusterView, views};
use crate::config::ClusterConfig;
use crate::db::entity::cluster;
use crate::db::{Reader, Value};
use crate::error::StoreError;

/// A triage queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    /// Recoverable money inside the recall window.
    GoldenHour,
    /// A victim still in contact with the scammers.
    AtRisk,
    /// Every unclaimed cluster.
    New,
    /// Clusters holding a hot identifier.
    HotIdentifiers,
}

impl Queue {
    /// Every queue, in the order they are listed.
    pub const ALL: [Queue; 4] = [Queue::GoldenHour, Queue::AtRisk, Queue::New, Queue::HotIdentifiers];

    /// Whether a cluster read at `now` waits in this queue: the same rule as [`condition`], for
    /// clusters already in memory (queue watchers). Hot identifiers are those in `hot_keys`.
    pub fn holds(self, c: &ClusterView, now: UnixMicros) -> bool {
        let waiting = matches!(c.status, ClusterStatus::New | ClusterStatus::Triaging) && c.claim.is_none();
        waiting
            && match self {
                Queue::GoldenHour => c.recall_closes_at.is_some_and(|t| t > now),
                Queue::AtRisk => c.ongoing_reports > 0,
                Queue::New => true,
                Queue::HotIdentifiers => !c.hot_keys.is_empty(),
            }
    }
}

/// Filters on a queue: empty lists mean no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only clusters with a report of one of these categories.
    pub categories: Vec<Category>,
    /// Only clusters with a victim in one of these countries (ISO alpha-2, upper case).
    pub countries: Vec<String>,
    /// Only clusters carrying one of these tags.
    pub tags: Vec<Tag>,
}

/// Where the next page of a queue starts: after this priority and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageToken {
    /// The last listed cluster's priority (thousandths).
    pub priority_milli: i64,
    /// The last listed cluster's id.
    pub cluster_id: i64,
}

impl PageToken {
    /// The token as the API hands it out.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.priority_milli, self.cluster_id)
    }

    /// Reads a token handed out by `encode`.
    pub fn decode(text: &str) -> Option<Self> {
        let (p, id) = text.split_once('.')?;
        Some(Self { priority_milli: p.parse().ok()?, cluster_id: id.parse().ok()? })
    }
}

/// The WHERE clause (over `clusters c`) and its values for a queue at `now`.
pub(crate) fn condition(
    queue: Queue,
    filter: &QueueFilter,
    now: UnixMicros,
    hot_threshold: i64,
) -> (String, Vec<Value>) {
    let mut sql =
        String::from("c.status IN ('new', 'triaging') AND (c.claim_expires_at IS NULL OR c.claim_expires_at <= ?)");
    let mut values: Vec<Value> = vec![now.0.into()];
    match queue {
        Queue::GoldenHour => {
            sql.push_str(" AND c.recall_closes_at > ?");
            values.push(now.0.into());
        }
        Queue::AtRisk => sql.push_str(" AND c.ongoing_reports > 0"),
        Queue::New => {}
        Queue::HotIdentifiers => {
            sql.push_str(" AND EXISTS (SELECT 1 FROM identifiers i WHERE i.cluster_id = c.id AND i.report_count >= ?)");
            values.push(hot_threshold.into());
        }
    }
    filter_condition(filter, &mut sql, &mut values);
    (sql, values)
}

/// Appends a filter's conditions (over `clusters c`) to `sql`, and their values: the queues'
/// filters, which cluster searches share.
pub(crate) fn filter_condition(filter: &QueueFilter, sql: &mut String, values: &mut Vec<Value>) {
    let mut any_of = |column: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        let ors = vec![format!("c.{column} LIKE ?"); items.len()].join(" OR ");
        sql.push_str(&format!(" AND ({ors})"));
        values.extend(items.into_iter().map(|i| Value::from(format!("%,{i},%"))));
    };
    any_of("categories", filter.categories.iter().map(|c| c.as_str().to_owned()).collect());
    any_of("countries", filter.countries.clone());
    any_of("tags", filter.tags.iter().map(|t| t.as_str().to_owned()).collect());
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
    let (condition, mut values) = condition(which, filter, now, config.hot_threshold);
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
        let (condition, values) = condition(which, filter, now, config.hot_threshold);
        let rows: Vec<(i64,)> =
            db.fetch_unbounded(format!("SELECT COUNT(*) FROM clusters c WHERE {condition}"), values).await?;
        let n = rows.first().map_or(0, |r| r.0);
        out.push((which, n));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_garbage_is_refused() {
        let t = PageToken { priority_milli: -5_250, cluster_id: 42 };
        assert_eq!(PageToken::decode(&t.encode()), Some(t));
        for bad in ["", "12", "a.b", "1.2.3", "1.", ".2"] {
            assert_eq!(PageToken::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn filters_add_one_placeholder_per_value() {
        let filter = QueueFilter {
            categories: vec![Category::Investment, Category::Romance],
            countries: vec!["GB".into()],
            ..Default::default()
        };
        let (sql, values) = condition(Queue::GoldenHour, &filter, UnixMicros(7), 25);
        assert_eq!(sql.matches('?').count(), values.len());
        assert!(sql.contains("c.categories LIKE ? OR c.categories LIKE ?"), "{sql}");
    }
}
